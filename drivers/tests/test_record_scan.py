"""One test per rule of record_scan, asserting the reason and what was (not) written."""

from datetime import timedelta

import pytest
from django.utils import timezone

from drivers import services
from drivers.models import Direction, Movement, RefusedScan, ScanReason, Source, Visit
from drivers.services import ScanError, record_scan

pytestmark = pytest.mark.django_db


def scan(driver_or_code, station, operator, **kw):
    code = getattr(driver_or_code, "badge_code", driver_or_code)
    return record_scan(code=code, station=station, operator=operator, **kw)


def inside(driver):
    return Visit.objects.filter(driver=driver, left_at__isnull=True).exists()


def test_a_new_driver_gets_a_badge_of_128_bits_in_upper_case_letters_and_digits(make_driver):
    a, b = make_driver(), make_driver()
    assert len(a.badge_code) == 26 and a.badge_code.isalnum() and a.badge_code == a.badge_code.upper()
    assert a.badge_code != b.badge_code


def test_it_records_an_entry_at_an_entry_gate(driver, stations, caseta):
    result = scan(driver, stations["entry"], caseta)
    assert result.accepted and result.reason == ScanReason.OK and result.direction == Direction.IN
    m = Movement.objects.get()
    assert (m.driver, m.station, m.direction, m.operator, m.source) == (
        driver, stations["entry"], "in", caseta, Source.SCAN)
    visit = Visit.objects.get(driver=driver)
    assert visit.left_at is None and visit.entry_station == stations["entry"] and m.visit == visit
    assert "José Ramírez" in result.message


def test_it_trims_and_matches_case_insensitively(driver, stations, caseta):
    result = scan(f"  {driver.badge_code.lower()}\r\n", stations["entry"], caseta)
    assert result.accepted and result.driver == driver


def test_it_records_an_exit_at_an_exit_gate_and_closes_the_visit(driver, stations, caseta):
    scan(driver, stations["entry"], caseta)
    result = scan(driver, stations["exit"], caseta)
    assert result.accepted and result.direction == Direction.OUT
    visit = Visit.objects.get(driver=driver)
    assert visit.left_at is not None and visit.exit_station == stations["exit"]
    assert not inside(driver)


def test_a_two_way_gate_enters_when_outside_and_exits_when_inside(driver, stations, caseta, settings):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    gate = stations["gate"]
    assert scan(driver, gate, caseta).direction == Direction.IN
    assert inside(driver)
    assert scan(driver, gate, caseta).direction == Direction.OUT
    assert not inside(driver)


def test_a_checkpoint_records_a_pass_while_inside(driver, stations, caseta):
    scan(driver, stations["entry"], caseta)
    result = scan(driver, stations["checkpoint"], caseta)
    assert result.accepted and result.direction == Direction.PASS
    assert Visit.objects.get(driver=driver).last_station == stations["checkpoint"]


def test_a_checkpoint_refuses_a_driver_who_is_not_inside(driver, stations, caseta):
    result = scan(driver, stations["checkpoint"], caseta)
    assert not result.accepted and result.reason == ScanReason.NOT_INSIDE
    assert not Movement.objects.exists() and RefusedScan.objects.get().reason == "not_inside"


@pytest.mark.parametrize("raw", ["", "   ", "hola", "ABC", "A" * 25, "A" * 27, "ÁBCDEFGHIJKLMNOPQRSTUVWXYZ",
                                 "'; DROP TABLE drivers_driver; --", "https://example.com/x", "\x00" * 26])
def test_it_refuses_garbage_as_invalid(raw, stations, caseta):
    result = scan(raw, stations["entry"], caseta)
    assert not result.accepted and result.reason == ScanReason.INVALID
    assert not Movement.objects.exists()
    assert RefusedScan.objects.get().reason == ScanReason.INVALID


def test_it_refuses_input_that_is_not_text_as_invalid(stations, caseta):
    for raw in (None, 12345, ["A" * 26], {"code": 1}):
        assert scan(raw, stations["entry"], caseta).reason == ScanReason.INVALID
    assert not Movement.objects.exists()


def test_it_refuses_an_unknown_badge(stations, caseta):
    result = scan("A" * 26, stations["entry"], caseta)
    assert result.reason == ScanReason.UNKNOWN and result.driver is None
    assert RefusedScan.objects.get().raw_input == "A" * 26


def test_it_refuses_a_revoked_badge_saying_so(driver, stations, caseta, supervisor):
    old = driver.badge_code
    new = services.reissue_badge(driver=driver, by=supervisor)
    assert new != old
    result = scan(old, stations["entry"], caseta)
    assert result.reason == ScanReason.REVOKED and result.driver == driver
    assert not Movement.objects.exists()
    assert scan(new, stations["entry"], caseta).accepted


def test_it_refuses_a_banned_driver_with_the_reason(driver, stations, caseta, supervisor):
    services.ban(driver=driver, reason="Exceso de velocidad en patio", by=supervisor)
    result = scan(driver, stations["entry"], caseta)
    assert not result.accepted and result.reason == ScanReason.BANNED
    assert "Exceso de velocidad en patio" in result.message
    refused = RefusedScan.objects.get()
    assert refused.driver == driver and refused.detail == "Exceso de velocidad en patio"
    assert not Movement.objects.exists()


def test_an_unbanned_driver_is_admitted_again_and_the_ban_stays_in_history(driver, stations, caseta, supervisor):
    services.ban(driver=driver, reason="Pelea", by=supervisor)
    lifted = services.unban(driver=driver, by=supervisor)
    assert lifted.lifted_by == supervisor and lifted.lifted_at
    assert scan(driver, stations["entry"], caseta).accepted
    assert driver.bans.count() == 1


def test_a_ban_with_an_end_date_expires_by_itself(driver, stations, caseta, supervisor):
    ban = services.ban(driver=driver, reason="Suspensión de 1 día", by=supervisor,
                       until=timezone.now() + timedelta(days=1))
    assert scan(driver, stations["entry"], caseta).reason == ScanReason.BANNED
    type(ban).objects.filter(pk=ban.pk).update(
        banned_at=timezone.now() - timedelta(days=2), until=timezone.now() - timedelta(seconds=1))
    assert scan(driver, stations["entry"], caseta).accepted


def test_a_ban_needs_a_reason(driver, supervisor):
    with pytest.raises(ScanError):
        services.ban(driver=driver, reason="  ", by=supervisor)
    assert not driver.bans.exists()


def test_anti_passback_refuses_a_second_entry(driver, stations, caseta):
    scan(driver, stations["entry"], caseta)
    other_entry = type(stations["entry"]).objects.create(name="Entrada 2", code="E2", kind="entry")
    result = scan(driver, other_entry, caseta)
    assert result.reason == ScanReason.ALREADY_INSIDE and not result.accepted
    assert Movement.objects.count() == 1 and Visit.objects.count() == 1


def test_anti_passback_refuses_an_exit_of_a_driver_outside(driver, stations, caseta):
    result = scan(driver, stations["exit"], caseta)
    assert result.reason == ScanReason.NOT_INSIDE
    assert not Movement.objects.exists()


def test_a_supervisor_can_force_an_entry_and_it_is_recorded_with_who_and_why(driver, stations, caseta, supervisor):
    scan(driver, stations["entry"], caseta)
    other = type(stations["entry"]).objects.create(name="Entrada 2", code="E2", kind="entry")
    result = scan(driver, other, supervisor, force=True, note="Salió por la puerta de emergencia")
    assert result.accepted and result.level == "warning"
    m = result.movement
    assert m.forced and m.force_reason == "Salió por la puerta de emergencia" and m.operator == supervisor
    assert Visit.objects.filter(driver=driver, left_at__isnull=True).count() == 1
    assert Visit.objects.filter(driver=driver).count() == 2


def test_a_force_without_the_permission_is_refused_as_forbidden(driver, stations, caseta):
    result = scan(driver, stations["exit"], caseta, force=True, note="quiero")
    assert result.reason == ScanReason.FORBIDDEN and not result.accepted
    assert not Movement.objects.exists()


def test_a_force_needs_a_reason(driver, stations, supervisor):
    with pytest.raises(ScanError) as error:
        scan(driver, stations["exit"], supervisor, force=True)
    assert error.value.code == "reason_required"
    assert not Movement.objects.exists()


def test_a_double_read_returns_the_first_result_and_records_nothing(driver, stations, caseta):
    first = scan(driver, stations["entry"], caseta)
    again = scan(driver, stations["entry"], caseta)
    assert again.accepted and again.reason == ScanReason.DUPLICATE
    assert again.movement == first.movement and again.direction == Direction.IN
    assert Movement.objects.count() == 1 and not RefusedScan.objects.exists()


def test_a_gate_scan_after_the_window_is_a_new_movement(driver, stations, caseta):
    first = scan(driver, stations["gate"], caseta)
    Movement.objects.filter(pk=first.movement.pk).update(at=timezone.now() - timedelta(seconds=11))
    second = scan(driver, stations["gate"], caseta)
    assert second.reason == ScanReason.OK and second.direction == Direction.OUT


def test_the_double_read_window_is_a_setting(driver, stations, caseta, settings):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    scan(driver, stations["gate"], caseta)
    assert scan(driver, stations["gate"], caseta).direction == Direction.OUT


def test_a_refused_scan_repeated_is_refused_and_logged_again(stations, caseta):
    scan("Z" * 26, stations["entry"], caseta)
    scan("Z" * 26, stations["entry"], caseta)
    assert RefusedScan.objects.count() == 2


def test_the_same_nonce_twice_returns_the_first_result(driver, stations, caseta, settings):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    first = scan(driver, stations["gate"], caseta, nonce="booth1-0001")
    again = scan(driver, stations["gate"], caseta, nonce="booth1-0001")
    assert again.replayed and again.movement == first.movement and again.direction == Direction.IN
    assert Movement.objects.count() == 1 and inside(driver)


def test_the_same_nonce_of_a_refused_scan_returns_the_refusal_once(stations, caseta):
    scan("Q" * 26, stations["entry"], caseta, nonce="n-1")
    again = scan("Q" * 26, stations["entry"], caseta, nonce="n-1")
    assert again.reason == ScanReason.UNKNOWN and again.replayed
    assert RefusedScan.objects.count() == 1


def test_a_nonce_used_for_another_badge_is_a_conflict_and_records_nothing(make_driver, stations, caseta):
    first, other = make_driver(), make_driver()
    scan(first, stations["entry"], caseta, nonce="booth1-0002")
    with pytest.raises(ScanError) as error:
        scan(other, stations["entry"], caseta, nonce="booth1-0002")
    assert error.value.code == "nonce_conflict" and first.full_name not in str(error.value)
    assert Movement.objects.count() == 1 and not RefusedScan.objects.exists() and not inside(other)


def test_a_nonce_used_at_another_station_is_a_conflict(driver, stations, caseta):
    scan(driver, stations["entry"], caseta, nonce="n-station")
    with pytest.raises(ScanError) as error:
        scan(driver, stations["checkpoint"], caseta, nonce="n-station")
    assert error.value.code == "nonce_conflict" and Movement.objects.count() == 1


def test_a_nonce_used_by_another_operator_is_a_conflict(driver, stations, caseta, supervisor):
    scan(driver, stations["entry"], caseta, nonce="n-operator")
    with pytest.raises(ScanError) as error:
        scan(driver, stations["entry"], supervisor, nonce="n-operator")
    assert error.value.code == "nonce_conflict" and Movement.objects.count() == 1


def test_a_nonce_of_a_refused_scan_is_bound_to_its_text(driver, stations, caseta, supervisor):
    services.ban(driver=driver, reason="Robo de diésel", by=supervisor)
    scan(driver, stations["entry"], caseta, nonce="n-banned")
    with pytest.raises(ScanError) as error:
        scan("garbage", stations["entry"], caseta, nonce="n-banned")
    assert error.value.code == "nonce_conflict" and RefusedScan.objects.count() == 1
    again = scan(driver.badge_code.lower() + "\n", stations["entry"], caseta, nonce="n-banned")
    assert again.replayed and again.reason == ScanReason.BANNED


def test_a_nonce_replayed_after_the_badge_was_reissued_still_replays(driver, stations, caseta, supervisor):
    old = driver.badge_code
    first = scan(old, stations["entry"], caseta, nonce="n-reissue")
    services.reissue_badge(driver=driver, by=supervisor)
    again = scan(old, stations["entry"], caseta, nonce="n-reissue")
    assert again.replayed and again.movement == first.movement


def test_a_malformed_nonce_or_direction_is_a_scan_error(driver, stations, caseta):
    codes = []
    for kw in ({"nonce": "x" * 65}, {"direction": "sideways"}):
        with pytest.raises(ScanError) as error:
            scan(driver, stations["gate"], caseta, **kw)
        codes.append(error.value.code)
    with pytest.raises(ScanError) as error:
        scan(driver, stations["entry"], caseta, direction="out")
    assert codes + [error.value.code] == ["invalid_nonce", "invalid_direction", "direction_not_allowed"]
    assert not Movement.objects.exists()


def test_an_operator_can_choose_the_direction_at_a_two_way_gate(driver, stations, supervisor):
    result = scan(driver, stations["gate"], supervisor, direction="out", force=True, note="Entró sin escanear")
    assert result.accepted and result.direction == Direction.OUT and result.movement.forced


def test_an_inactive_station_refuses(driver, stations, caseta):
    station = stations["entry"]
    station.is_active = False
    station.save()
    assert scan(driver, station, caseta).reason == ScanReason.STATION_INACTIVE
    assert not Movement.objects.exists()


def test_a_late_upload_keeps_the_scan_time_and_is_marked(driver, stations, caseta):
    when = timezone.now() - timedelta(minutes=7)
    result = scan(driver, stations["entry"], caseta, scanned_at=when)
    assert result.movement.at == when and result.movement.is_late
    assert abs((result.movement.recorded_at - timezone.now()).total_seconds()) < 5
    assert Visit.objects.get().entered_at == when


def test_a_scan_time_a_few_seconds_ago_is_believed_and_not_late(driver, stations, caseta):
    when = timezone.now() - timedelta(seconds=20)
    result = scan(driver, stations["entry"], caseta, scanned_at=when)
    assert result.movement.at == when and not result.movement.is_late


def test_a_scan_time_older_than_twelve_hours_is_not_believed_recorded_now_and_marked_late(
    driver, stations, caseta
):
    result = scan(driver, stations["entry"], caseta, scanned_at=timezone.now() - timedelta(hours=13))
    movement = result.movement
    assert abs((movement.at - timezone.now()).total_seconds()) < 5 and movement.is_late
    assert movement.recorded_at >= movement.at
    assert Visit.objects.get().entered_at == movement.at


def test_a_scan_time_within_twelve_hours_is_believed(driver, stations, caseta):
    when = timezone.now() - timedelta(hours=11)
    assert scan(driver, stations["entry"], caseta, scanned_at=when).movement.at == when


def test_a_scan_time_more_than_five_minutes_ahead_is_not_believed_and_marked_late(driver, stations, caseta):
    result = scan(driver, stations["entry"], caseta, scanned_at=timezone.now() + timedelta(hours=2))
    assert abs((result.movement.at - timezone.now()).total_seconds()) < 5 and result.movement.is_late


def test_a_scan_time_slightly_ahead_is_clock_skew_taken_as_now_and_not_late(driver, stations, caseta):
    result = scan(driver, stations["entry"], caseta, scanned_at=timezone.now() + timedelta(minutes=2))
    assert result.movement.at <= timezone.now() and not result.movement.is_late


def test_a_manual_check_out_is_a_forced_manual_movement(driver, stations, caseta, supervisor):
    scan(driver, stations["entry"], caseta)
    m = services.check_out(driver=driver, by=supervisor, reason="Salió a pie por emergencia")
    assert m.source == Source.MANUAL and m.forced and m.direction == Direction.OUT and m.station is None
    assert not inside(driver)


def test_annulling_an_entry_restores_the_driver_outside(driver, stations, caseta):
    result = scan(driver, stations["entry"], caseta)
    services.annul_movement(movement=result.movement, by=caseta, reason="Escaneo equivocado")
    m = Movement.objects.get()
    assert m.annulled_at and m.annulled_by == caseta and m.annul_reason == "Escaneo equivocado"
    assert not inside(driver)
    assert scan(driver, stations["entry"], caseta).reason == ScanReason.OK


def test_annulling_an_exit_puts_the_driver_back_inside(driver, stations, caseta):
    scan(driver, stations["entry"], caseta)
    out = scan(driver, stations["exit"], caseta)
    services.annul_movement(movement=out.movement, by=caseta, reason="Error")
    assert inside(driver)


def test_only_the_latest_movement_can_be_annulled(driver, stations, caseta):
    entry = scan(driver, stations["entry"], caseta)
    scan(driver, stations["checkpoint"], caseta)
    with pytest.raises(ScanError) as error:
        services.annul_movement(movement=entry.movement, by=caseta, reason="x")
    assert error.value.code == "annul_not_latest"
    assert not services.can_annul(movement=Movement.objects.get(pk=entry.movement.pk), by=caseta)
    assert not Movement.objects.filter(annulled_at__isnull=False).exists()


def test_the_undo_window_counts_from_when_the_movement_was_recorded(driver, stations, caseta, settings):
    result = scan(driver, stations["entry"], caseta)
    Movement.objects.update(recorded_at=timezone.now() - timedelta(minutes=settings.SCAN_ANNUL_WINDOW_MINUTES + 1))
    movement = Movement.objects.get()
    assert not services.can_annul(movement=movement, by=caseta)
    with pytest.raises(ScanError) as error:
        services.annul_movement(movement=result.movement, by=caseta, reason="x")
    assert error.value.code == "annul_too_late" and inside(driver)


def test_a_late_upload_can_be_undone_right_after_it_was_recorded(driver, stations, caseta):
    result = scan(driver, stations["entry"], caseta, scanned_at=timezone.now() - timedelta(hours=3))
    assert result.movement.is_late
    assert services.can_annul(movement=result.movement, by=caseta)
    services.annul_movement(movement=result.movement, by=caseta, reason="Subido por error")
    assert not inside(driver)


def test_a_booth_may_not_undo_a_movement_recorded_by_another_operator(driver, stations, caseta, supervisor):
    from conftest import make_user

    other = make_user("caseta2", "Caseta")
    result = scan(driver, stations["entry"], other)
    assert not services.can_annul(movement=result.movement, by=caseta)
    with pytest.raises(ScanError) as error:
        services.annul_movement(movement=result.movement, by=caseta, reason="x")
    assert error.value.code == "annul_forbidden" and inside(driver)
    assert services.can_annul(movement=result.movement, by=supervisor)
    services.annul_movement(movement=result.movement, by=supervisor, reason="Error de la caseta 2")
    assert not inside(driver)


def test_a_booth_may_not_undo_a_forced_movement_even_if_he_recorded_it(driver, stations, caseta, supervisor):
    # Only a user with force_movement can force; give the booth the right to force once,
    # then take it back: the forced movement is his, and still not his to undo.
    from django.contrib.auth.models import Permission

    force = Permission.objects.get(codename="force_movement")
    caseta.user_permissions.add(force)
    result = scan(driver, stations["exit"], caseta, force=True, note="Salió sin escanear")
    assert result.accepted and result.movement.forced
    caseta.user_permissions.remove(force)
    caseta = type(caseta).objects.get(pk=caseta.pk)  # a new request: permissions read again
    assert not services.can_annul(movement=result.movement, by=caseta)
    with pytest.raises(ScanError) as error:
        services.annul_movement(movement=result.movement, by=caseta, reason="x")
    assert error.value.code == "annul_forbidden"
    assert services.can_annul(movement=result.movement, by=supervisor)


def test_a_booth_may_not_undo_a_manual_check_out(driver, stations, caseta, supervisor):
    scan(driver, stations["entry"], caseta)
    manual = services.check_out(driver=driver, by=supervisor, reason="Salió a pie")
    assert not services.can_annul(movement=manual, by=caseta)
    with pytest.raises(ScanError) as error:
        services.annul_movement(movement=manual, by=caseta, reason="x")
    assert error.value.code == "annul_forbidden" and not inside(driver)


def test_a_user_without_the_undo_permission_may_undo_nothing(driver, stations, chofer, caseta):
    result = scan(driver, stations["entry"], caseta)
    assert not services.can_annul(movement=result.movement, by=chofer)
    with pytest.raises(ScanError) as error:
        services.annul_movement(movement=result.movement, by=chofer, reason="x")
    assert error.value.code == "annul_forbidden"


def test_an_annulled_movement_cannot_be_annulled_again(driver, stations, caseta):
    result = scan(driver, stations["entry"], caseta)
    services.annul_movement(movement=result.movement, by=caseta, reason="x")
    result.movement.refresh_from_db()
    assert not services.can_annul(movement=result.movement, by=caseta)
    with pytest.raises(ScanError) as error:
        services.annul_movement(movement=result.movement, by=caseta, reason="x")
    assert error.value.code == "already_annulled"


def test_can_annul_of_a_listed_movement_needs_no_query_when_annotated(
    driver, stations, caseta, django_assert_num_queries
):
    scan(driver, stations["entry"], caseta)
    scan(driver, stations["checkpoint"], caseta)
    rows = list(Movement.objects.with_is_latest().order_by("id"))
    caseta.get_all_permissions()  # read once per request
    with django_assert_num_queries(0):
        assert [services.can_annul(movement=m, by=caseta) for m in rows] == [False, True]


def test_two_reads_queued_offline_and_sent_late_are_one_double_read(driver, stations, caseta):
    when = timezone.now() - timedelta(minutes=3)
    first = scan(driver, stations["gate"], caseta, nonce="off-1", scanned_at=when)
    again = scan(driver, stations["gate"], caseta, nonce="off-2", scanned_at=when + timedelta(seconds=2))
    assert again.reason == ScanReason.DUPLICATE and again.movement == first.movement
    assert Movement.objects.count() == 1


def test_a_driver_search_ignores_control_characters(make_driver):
    from drivers.models import Driver

    found = make_driver(full_name="Ana Torres")
    assert list(Driver.objects.search("\x00Ana\x00")) == [found]
    assert Driver.objects.search("\x00").count() == Driver.objects.count()


@pytest.mark.django_db(transaction=True)
def test_two_drivers_racing_with_one_nonce_never_get_each_others_result(make_driver, stations, caseta):
    """The race path: both requests miss each other's nonce, one insert waits on the unique
    index (PostgreSQL), then must apply the same binding as any replay."""
    import threading

    from django.db import connection

    rounds = 15
    pairs = [(make_driver(), make_driver()) for _ in range(rounds)]
    barrier = threading.Barrier(2)
    outcomes = [[], []]

    def worker(index):
        try:
            for n, pair in enumerate(pairs):
                barrier.wait(30)
                try:
                    result = scan(pair[index], stations["entry"], caseta, nonce=f"race-{n}")
                    outcomes[index].append(result.driver.pk)
                except ScanError as error:
                    outcomes[index].append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(outcomes[0]) == len(outcomes[1]) == rounds
    for (first, second), a, b in zip(pairs, *outcomes):
        # Each request answered with its own driver or a conflict, never the other's result.
        assert a in (first.pk, "nonce_conflict") and b in (second.pk, "nonce_conflict")
        assert [a, b].count("nonce_conflict") == 1
    assert Movement.objects.count() == rounds
