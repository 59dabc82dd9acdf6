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
    new = services.reissue_badge(driver, by=supervisor)
    assert new != old
    result = scan(old, stations["entry"], caseta)
    assert result.reason == ScanReason.REVOKED and result.driver == driver
    assert not Movement.objects.exists()
    assert scan(new, stations["entry"], caseta).accepted


def test_it_refuses_a_banned_driver_with_the_reason(driver, stations, caseta, supervisor):
    services.ban(driver, reason="Exceso de velocidad en patio", by=supervisor)
    result = scan(driver, stations["entry"], caseta)
    assert not result.accepted and result.reason == ScanReason.BANNED
    assert "Exceso de velocidad en patio" in result.message
    refused = RefusedScan.objects.get()
    assert refused.driver == driver and refused.detail == "Exceso de velocidad en patio"
    assert not Movement.objects.exists()


def test_an_unbanned_driver_is_admitted_again_and_the_ban_stays_in_history(driver, stations, caseta, supervisor):
    services.ban(driver, reason="Pelea", by=supervisor)
    lifted = services.unban(driver, by=supervisor)
    assert lifted.lifted_by == supervisor and lifted.lifted_at
    assert scan(driver, stations["entry"], caseta).accepted
    assert driver.bans.count() == 1


def test_a_ban_with_an_end_date_expires_by_itself(driver, stations, caseta, supervisor):
    ban = services.ban(driver, reason="Suspensión de 1 día", by=supervisor,
                       until=timezone.now() + timedelta(days=1))
    assert scan(driver, stations["entry"], caseta).reason == ScanReason.BANNED
    type(ban).objects.filter(pk=ban.pk).update(
        banned_at=timezone.now() - timedelta(days=2), until=timezone.now() - timedelta(seconds=1))
    assert scan(driver, stations["entry"], caseta).accepted


def test_a_ban_needs_a_reason(driver, supervisor):
    with pytest.raises(ScanError):
        services.ban(driver, reason="  ", by=supervisor)
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
    with pytest.raises(ScanError):
        scan(driver, stations["exit"], supervisor, force=True)
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


def test_a_malformed_nonce_or_direction_is_a_scan_error(driver, stations, caseta):
    with pytest.raises(ScanError):
        scan(driver, stations["gate"], caseta, nonce="x" * 65)
    with pytest.raises(ScanError):
        scan(driver, stations["gate"], caseta, direction="sideways")
    with pytest.raises(ScanError):
        scan(driver, stations["entry"], caseta, direction="out")
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
    assert Visit.objects.get().entered_at == when


def test_a_scan_time_in_the_future_or_too_old_is_replaced_by_now(driver, stations, caseta):
    result = scan(driver, stations["entry"], caseta, scanned_at=timezone.now() + timedelta(hours=2))
    assert abs((result.movement.at - timezone.now()).total_seconds()) < 5 and not result.movement.is_late


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


def test_only_the_latest_movement_can_be_annulled_within_the_window(driver, stations, caseta):
    entry = scan(driver, stations["entry"], caseta)
    scan(driver, stations["checkpoint"], caseta)
    with pytest.raises(ScanError):
        services.annul_movement(movement=entry.movement, by=caseta, reason="x")
    last = Movement.objects.order_by("-id").first()
    Movement.objects.filter(pk=last.pk).update(at=timezone.now() - timedelta(minutes=6))
    with pytest.raises(ScanError):
        services.annul_movement(movement=last, by=caseta, reason="x")


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
