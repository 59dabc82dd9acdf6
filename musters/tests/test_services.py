"""The roll call's rules: one test per rule, asserting the reason and what was written."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from drivers.models import Visit
from drivers.services import annul_movement, reissue_badge, record_scan
from musters import services
from musters.models import Accounting, AccountedBy, Expected, Mark, RollCall
from stations.models import Station, StationKind


def test_start_takes_a_snapshot_of_everyone_inside(inside, make_driver, supervisor, stations):
    outside = make_driver()
    rc = services.start_roll_call(by=supervisor, drill=True)
    assert rc.drill and rc.started_by == supervisor and not rc.closed
    expected = Expected.objects.filter(roll_call=rc)
    assert {e.driver_id for e in expected} == {d.pk for d in inside}
    assert outside.pk not in {e.driver_id for e in expected}
    first = expected.get(driver=inside[0])
    assert first.last_station == stations["entry"] and first.visit == Visit.objects.get(driver=inside[0])
    assert set(rc.missing()) == set(inside)


def test_a_second_open_roll_call_is_refused(inside, supervisor):
    services.start_roll_call(by=supervisor)
    with pytest.raises(services.MusterError) as exc:
        services.start_roll_call(by=supervisor, drill=True)
    assert exc.value.code == "already_open"
    assert RollCall.objects.count() == 1


def test_the_database_allows_one_open_roll_call(db, supervisor):
    RollCall.objects.create(started_by=supervisor)
    with pytest.raises(IntegrityError), transaction.atomic():
        RollCall.objects.create(started_by=supervisor)


def test_a_new_roll_call_may_start_once_the_last_is_closed(inside, supervisor):
    rc = services.start_roll_call(by=supervisor)
    services.close_roll_call(roll_call=rc, by=supervisor)
    assert services.start_roll_call(by=supervisor).pk != rc.pk


def test_a_scan_at_a_muster_point_marks_an_expected_driver_safe(inside, point, caseta, supervisor):
    rc = services.start_roll_call(by=supervisor)
    result = services.mark_safe(roll_call=rc, code=inside[0].badge_code.lower() + " ", point=point, by=caseta,
                                 nonce="n-1")
    assert result.reason == "ok" and result.accepted and result.driver == inside[0]
    accounting = Accounting.objects.get(roll_call=rc, driver=inside[0])
    assert accounting.how == AccountedBy.MARK and accounting.station == point and accounting.by == caseta
    assert set(rc.missing()) == set(inside[1:])


def test_a_free_point_name_is_kept(inside, caseta, supervisor):
    rc = services.start_roll_call(by=supervisor)
    services.mark_safe(roll_call=rc, code=inside[0].badge_code, point="  Estacionamiento\x00 norte ", by=caseta)
    assert Accounting.objects.get(driver=inside[0]).point == "Estacionamiento norte"


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_a_scan_without_a_point_is_refused(inside, caseta, supervisor, bad):
    rc = services.start_roll_call(by=supervisor)
    with pytest.raises(services.MusterError) as exc:
        services.mark_safe(roll_call=rc, code=inside[0].badge_code, point=bad, by=caseta)
    assert exc.value.code == "invalid_point" and not Mark.objects.exists()


def test_a_gate_station_is_not_a_muster_point(inside, stations, caseta, supervisor):
    rc = services.start_roll_call(by=supervisor)
    with pytest.raises(services.MusterError) as exc:
        services.mark_safe(roll_call=rc, code=inside[0].badge_code, point=stations["gate"], by=caseta)
    assert exc.value.code == "invalid_point"


def test_two_marshals_scanning_the_same_driver_count_him_once_and_both_are_logged(
    inside, point, caseta, supervisor
):
    rc = services.start_roll_call(by=supervisor)
    first = services.mark_safe(roll_call=rc, code=inside[0].badge_code, point=point, by=caseta, nonce="a")
    again = services.mark_safe(roll_call=rc, code=inside[0].badge_code, point="Patio", by=supervisor, nonce="b")
    assert first.reason == "ok" and again.reason == "duplicate" and again.accepted
    assert again.first.point == point.name and again.first.by == caseta.username
    assert Mark.objects.filter(roll_call=rc, driver=inside[0]).count() == 2
    assert Mark.objects.get(nonce="a").first and not Mark.objects.get(nonce="b").first
    assert Accounting.objects.filter(roll_call=rc, driver=inside[0]).count() == 1
    assert rc.missing().count() == 2


def test_an_offline_scan_made_earlier_becomes_the_first(inside, point, caseta, supervisor):
    rc = services.start_roll_call(by=supervisor)
    earlier = timezone.now()
    services.mark_safe(roll_call=rc, code=inside[0].badge_code, point="Patio", by=supervisor)
    late = services.mark_safe(roll_call=rc, code=inside[0].badge_code, point=point, by=caseta, scanned_at=earlier)
    assert late.reason == "ok"
    accounting = Accounting.objects.get(roll_call=rc, driver=inside[0])
    assert accounting.station == point and accounting.at == earlier


def test_a_driver_not_in_the_snapshot_is_found_not_expected_once(inside, make_driver, point, caseta, supervisor):
    rc = services.start_roll_call(by=supervisor)
    newcomer = make_driver()
    result = services.mark_safe(roll_call=rc, code=newcomer.badge_code, point=point, by=caseta)
    assert result.reason == "not_expected" and result.accepted and result.driver == newcomer
    again = services.mark_safe(roll_call=rc, code=newcomer.badge_code, point=point, by=caseta)
    assert again.reason == "duplicate"
    row = Accounting.objects.get(driver=newcomer)
    assert not row.expected
    assert rc.missing().count() == 3  # the expected ones are still missing


@pytest.mark.parametrize("code, reason", [("hello", "invalid"), ("A" * 26, "unknown"), ("=cmd|' /C calc'!A0", "invalid")])
def test_bad_codes_are_refused_and_logged(inside, point, caseta, supervisor, code, reason):
    rc = services.start_roll_call(by=supervisor)
    result = services.mark_safe(roll_call=rc, code=code, point=point, by=caseta)
    assert result.reason == reason and not result.accepted and result.driver is None
    mark = Mark.objects.get(roll_call=rc)
    assert mark.reason == reason and not mark.first and not Accounting.objects.exists()


def test_a_replaced_badge_is_revoked(inside, point, caseta, supervisor):
    old = inside[0].badge_code
    reissue_badge(driver=inside[0], by=supervisor)
    rc = services.start_roll_call(by=supervisor)
    result = services.mark_safe(roll_call=rc, code=old, point=point, by=caseta)
    assert result.reason == "revoked" and not result.accepted and result.driver == inside[0]
    assert not Accounting.objects.exists()


def test_the_same_nonce_and_code_returns_the_first_result(inside, point, caseta, supervisor):
    rc = services.start_roll_call(by=supervisor)
    first = services.mark_safe(roll_call=rc, code=inside[0].badge_code, point=point, by=caseta, nonce="n1")
    again = services.mark_safe(roll_call=rc, code=inside[0].badge_code, point=point, by=caseta, nonce="n1")
    assert first.reason == again.reason == "ok" and again.replayed
    assert Mark.objects.count() == 1


def test_the_same_nonce_with_another_code_is_a_conflict(inside, point, caseta, supervisor):
    rc = services.start_roll_call(by=supervisor)
    services.mark_safe(roll_call=rc, code=inside[0].badge_code, point=point, by=caseta, nonce="n1")
    with pytest.raises(services.MusterError) as exc:
        services.mark_safe(roll_call=rc, code=inside[1].badge_code, point=point, by=caseta, nonce="n1")
    assert exc.value.code == "nonce_conflict"
    assert Mark.objects.count() == 1 and rc.missing().count() == 2


def test_a_nonce_belongs_to_its_roll_call(inside, point, caseta, supervisor):
    rc = services.start_roll_call(by=supervisor)
    services.mark_safe(roll_call=rc, code=inside[0].badge_code, point=point, by=caseta, nonce="n1")
    services.close_roll_call(roll_call=rc, by=supervisor)
    rc2 = services.start_roll_call(by=supervisor)
    assert services.mark_safe(roll_call=rc2, code=inside[1].badge_code, point=point, by=caseta,
                              nonce="n1").reason == "ok"


def test_an_exit_during_the_roll_call_accounts_the_driver_at_that_station(inside, stations, point, caseta, supervisor):
    rc = services.start_roll_call(by=supervisor)
    record_scan(code=inside[0].badge_code, station=stations["exit"], operator=caseta)
    assert inside[0] not in rc.missing()
    again = services.mark_safe(roll_call=rc, code=inside[0].badge_code, point=point, by=caseta)
    assert again.reason == "duplicate" and again.first.point == stations["exit"].name
    services.close_roll_call(roll_call=rc, by=supervisor)
    frozen = Accounting.objects.get(roll_call=rc, driver=inside[0])
    assert frozen.how == AccountedBy.EXIT and frozen.station == stations["exit"] and frozen.by == caseta


def test_an_annulled_exit_does_not_account_the_driver(inside, stations, caseta, supervisor):
    rc = services.start_roll_call(by=supervisor)
    exit_ = record_scan(code=inside[0].badge_code, station=stations["exit"], operator=caseta)
    annul_movement(movement=exit_.movement, by=caseta, reason="Error")
    assert inside[0] in rc.missing()


def test_an_exit_before_the_start_does_not_count(inside, stations, caseta, supervisor):
    record_scan(code=inside[0].badge_code, station=stations["exit"], operator=caseta)
    rc = services.start_roll_call(by=supervisor)
    assert inside[0].pk not in {e.driver_id for e in rc.expected.all()}
    services.close_roll_call(roll_call=rc, by=supervisor)
    assert not Accounting.objects.filter(roll_call=rc).exists()


def test_a_supervisor_accounts_a_driver_by_hand_with_a_reason(inside, supervisor):
    rc = services.start_roll_call(by=supervisor)
    with pytest.raises(services.MusterError) as exc:
        services.account_manually(roll_call=rc, driver=inside[0], by=supervisor, reason="  ")
    assert exc.value.code == "reason_required"
    row = services.account_manually(roll_call=rc, driver=inside[0], by=supervisor, reason="Salió por la puerta trasera")
    assert row.how == AccountedBy.MANUAL and row.reason == "Salió por la puerta trasera"
    assert inside[0] not in rc.missing()
    with pytest.raises(services.MusterError) as exc:
        services.account_manually(roll_call=rc, driver=inside[0], by=supervisor, reason="otra vez")
    assert exc.value.code == "already_accounted"


def test_only_expected_drivers_are_accounted_by_hand(inside, make_driver, supervisor):
    rc = services.start_roll_call(by=supervisor)
    with pytest.raises(services.MusterError) as exc:
        services.account_manually(roll_call=rc, driver=make_driver(), by=supervisor, reason="x")
    assert exc.value.code == "not_expected"


def test_closing_freezes_the_roll_call(inside, point, caseta, supervisor, stations):
    rc = services.start_roll_call(by=supervisor)
    services.mark_safe(roll_call=rc, code=inside[0].badge_code, point=point, by=caseta, nonce="before")
    services.close_roll_call(roll_call=rc, by=supervisor)
    rc.refresh_from_db()
    assert rc.closed and rc.closed_by == supervisor
    late = services.mark_safe(roll_call=rc, code=inside[1].badge_code, point=point, by=caseta)
    assert late.reason == "closed" and not late.accepted
    # A retry of a scan sent before the close still gets its first answer.
    assert services.mark_safe(roll_call=rc, code=inside[0].badge_code, point=point, by=caseta,
                              nonce="before").reason == "ok"
    record_scan(code=inside[2].badge_code, station=stations["exit"], operator=caseta)
    assert set(rc.missing()) == {inside[1], inside[2]}
    with pytest.raises(services.MusterError) as exc:
        services.account_manually(roll_call=rc, driver=inside[1], by=supervisor, reason="x")
    assert exc.value.code == "closed"
    with pytest.raises(services.MusterError):
        services.close_roll_call(roll_call=rc, by=supervisor)
    assert Mark.objects.filter(roll_call=rc).count() == 1


def test_missing_shrinks_to_zero(inside, point, caseta, supervisor, stations):
    rc = services.start_roll_call(by=supervisor)
    counts = [rc.missing().count()]
    services.mark_safe(roll_call=rc, code=inside[0].badge_code, point=point, by=caseta)
    counts.append(rc.missing().count())
    record_scan(code=inside[1].badge_code, station=stations["exit"], operator=caseta)
    counts.append(rc.missing().count())
    services.account_manually(roll_call=rc, driver=inside[2], by=supervisor, reason="En la enfermería")
    counts.append(rc.missing().count())
    assert counts == [3, 2, 1, 0]


def test_a_muster_station_is_not_a_gate(inside, caseta):
    muster = Station.objects.create(name="Punto B", code="M2", kind=StationKind.MUSTER)
    result = record_scan(code=inside[0].badge_code, station=muster, operator=caseta)
    assert not result.accepted and result.reason == "station_inactive"
