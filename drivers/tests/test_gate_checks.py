"""The plant's gate checks through record_scan: documents at entry, route and seals at exit.

One test per rule, asserting the reason, the message and what was (not) written.
"""

from datetime import UTC, date, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from drivers import services
from drivers.models import DocumentType, DriverDocument, Movement, RefusedScan, ScanReason, Visit
from drivers.services import ScanError, record_scan
from stations.models import Route, RouteStop, Station, StationKind

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def scan(driver, station, operator, **kw):
    return record_scan(code=driver.badge_code, station=station, operator=operator, **kw)


def today():
    return timezone.localdate()


def inside(driver):
    return Visit.objects.filter(driver=driver, left_at__isnull=True).exists()


@pytest.fixture
def licence(db):
    return DocumentType.objects.create(code="licencia_federal", name="Licencia federal")


def give(driver, doc_type, days):
    return DriverDocument.objects.create(driver=driver, doc_type=doc_type, expires_on=today() + timedelta(days=days))


# --- documents -------------------------------------------------------------------------

def test_an_entry_is_refused_when_the_latest_blocking_document_has_expired(driver, stations, caseta, licence):
    give(driver, licence, -1)
    result = scan(driver, stations["entry"], caseta)
    assert not result.accepted and result.reason == ScanReason.DOCUMENT_EXPIRED
    assert "Licencia federal" in result.message
    assert (today() - timedelta(days=1)).strftime("%m/%d/%Y") in result.message
    assert not Movement.objects.exists() and not inside(driver)
    assert RefusedScan.objects.get().reason == "document_expired"


def test_a_document_that_expires_today_is_still_valid(driver, stations, caseta, licence):
    give(driver, licence, 0)
    assert scan(driver, stations["entry"], caseta).accepted


def test_today_is_the_plants_day_not_utcs(driver, stations, caseta, licence, settings):
    # 23:30 on 1 December in Mexico City is already 2 December in UTC.
    settings.TIME_ZONE = "America/Mexico_City"
    DriverDocument.objects.create(driver=driver, doc_type=licence, expires_on=date(2026, 12, 1))
    with mock.patch("django.utils.timezone.now", return_value=datetime(2026, 12, 2, 5, 30, tzinfo=UTC)):
        assert scan(driver, stations["entry"], caseta).accepted


def test_of_several_documents_of_one_type_the_latest_counts(driver, stations, caseta, licence):
    give(driver, licence, -400)
    give(driver, licence, 30)
    assert scan(driver, stations["entry"], caseta).accepted


def test_an_expired_document_of_a_type_that_does_not_block_lets_him_in(driver, stations, caseta):
    course = DocumentType.objects.create(code="induccion", name="Inducción", blocks_entry=False)
    give(driver, course, -10)
    assert scan(driver, stations["entry"], caseta).accepted


def test_a_required_document_missing_refuses_the_entry_naming_it(driver, stations, caseta):
    DocumentType.objects.create(code="seguro", name="Seguro", required=True, blocks_entry=False)
    result = scan(driver, stations["entry"], caseta)
    assert not result.accepted and result.reason == ScanReason.DOCUMENT_MISSING
    assert "Seguro" in result.message and not inside(driver)


def test_a_type_that_is_not_required_may_be_missing(driver, stations, caseta, licence):
    assert scan(driver, stations["entry"], caseta).accepted


def test_a_missing_document_is_said_before_an_expired_one(driver, stations, caseta, licence):
    DocumentType.objects.create(code="seguro", name="Seguro", required=True)
    give(driver, licence, -5)
    assert scan(driver, stations["entry"], caseta).reason == ScanReason.DOCUMENT_MISSING


def test_a_ban_is_said_before_documents(driver, stations, caseta, supervisor, licence):
    give(driver, licence, -5)
    services.ban(driver=driver, reason="Robo", by=supervisor)
    assert scan(driver, stations["entry"], caseta).reason == ScanReason.BANNED


def test_anti_passback_is_said_before_documents(driver, stations, caseta, licence):
    assert scan(driver, stations["entry"], caseta).accepted
    give(driver, licence, -5)
    assert scan(driver, stations["gate"], caseta, direction="in").reason == ScanReason.ALREADY_INSIDE


def test_documents_never_hold_an_exit_or_a_checkpoint_pass(driver, stations, caseta, licence):
    assert scan(driver, stations["entry"], caseta).accepted
    give(driver, licence, -5)
    DocumentType.objects.create(code="seguro", name="Seguro", required=True)
    assert scan(driver, stations["checkpoint"], caseta).accepted
    assert scan(driver, stations["exit"], caseta).accepted


def test_a_supervisor_forces_an_entry_with_an_expired_document(driver, stations, supervisor, licence):
    give(driver, licence, -5)
    result = scan(driver, stations["entry"], supervisor, force=True, note="Trámite en curso")
    assert result.accepted and result.movement.forced and inside(driver)


def test_a_caseta_cannot_force_an_entry_with_an_expired_document(driver, stations, caseta, licence):
    give(driver, licence, -5)
    result = scan(driver, stations["entry"], caseta, force=True, note="Por favor")
    assert result.reason == ScanReason.FORBIDDEN and not inside(driver)


# --- routes ----------------------------------------------------------------------------

@pytest.fixture
def route(stations):
    dock = Station.objects.create(name="Andén 3", code="A3", kind=StationKind.CHECKPOINT)
    route = Route.objects.create(code="DESC", name="Descarga")
    RouteStop.objects.create(route=route, station=stations["checkpoint"], position=1)  # Báscula 1
    RouteStop.objects.create(route=route, station=dock, position=2)
    route.dock = dock
    return route


def test_an_entry_takes_the_stations_default_route(driver, stations, caseta, route):
    Station.objects.filter(pk=stations["entry"].pk).update(default_route=route)
    stations["entry"].refresh_from_db()
    result = scan(driver, stations["entry"], caseta)
    assert result.accepted and Visit.objects.get().route == route


def test_an_entry_may_name_its_route(driver, stations, caseta, route):
    assert scan(driver, stations["entry"], caseta, route="desc").accepted
    assert Visit.objects.get().route == route


def test_an_unknown_or_inactive_route_is_a_malformed_call_and_writes_nothing(driver, stations, caseta, route):
    with pytest.raises(ScanError):
        scan(driver, stations["entry"], caseta, route="NOPE")
    Route.objects.update(is_active=False)
    with pytest.raises(ScanError):
        scan(driver, stations["entry"], caseta, route="DESC")
    assert not Movement.objects.exists() and not RefusedScan.objects.exists()


def test_an_inactive_default_route_is_not_given_to_a_new_visit(driver, stations, caseta, route):
    Station.objects.filter(pk=stations["entry"].pk).update(default_route=route)
    Route.objects.update(is_active=False)
    stations["entry"].refresh_from_db()
    assert scan(driver, stations["entry"], caseta).accepted
    assert Visit.objects.get().route is None


def test_an_exit_is_held_until_every_stop_is_passed_naming_the_missing_ones(driver, stations, caseta, route):
    scan(driver, stations["entry"], caseta, route="DESC")
    scan(driver, stations["checkpoint"], caseta)
    result = scan(driver, stations["exit"], caseta)
    assert not result.accepted and result.reason == ScanReason.ROUTE_INCOMPLETE
    assert "Andén 3" in result.message and "Báscula" not in result.message
    assert inside(driver)
    scan(driver, route.dock, caseta)
    assert scan(driver, stations["exit"], caseta).accepted and not inside(driver)


def test_an_annulled_pass_does_not_count_as_a_stop(driver, stations, caseta, route):
    scan(driver, stations["entry"], caseta, route="DESC")
    scan(driver, stations["checkpoint"], caseta)
    dock = scan(driver, route.dock, caseta)
    services.annul_movement(movement=dock.movement, by=caseta, reason="Error")
    result = scan(driver, stations["exit"], caseta)
    assert result.reason == ScanReason.ROUTE_INCOMPLETE and "Andén 3" in result.message


def test_a_pass_in_an_earlier_visit_does_not_count(driver, stations, caseta, route, supervisor):
    scan(driver, stations["entry"], caseta, route="DESC")
    scan(driver, stations["checkpoint"], caseta)
    scan(driver, route.dock, caseta)
    scan(driver, stations["exit"], caseta)
    Movement.objects.update(at=timezone.now() - timedelta(hours=1))
    scan(driver, stations["entry"], caseta, route="DESC")
    assert scan(driver, stations["exit"], caseta).reason == ScanReason.ROUTE_INCOMPLETE


def test_a_visit_without_a_route_is_not_held(driver, stations, caseta, route):
    scan(driver, stations["entry"], caseta)
    assert scan(driver, stations["exit"], caseta).accepted


def test_a_visit_keeps_its_route_when_the_route_is_deactivated(driver, stations, caseta, route):
    scan(driver, stations["entry"], caseta, route="DESC")
    Route.objects.update(is_active=False)
    assert scan(driver, stations["exit"], caseta).reason == ScanReason.ROUTE_INCOMPLETE


def test_a_ban_and_anti_passback_are_said_before_the_route(driver, stations, caseta, supervisor, route):
    scan(driver, stations["entry"], caseta, route="DESC")
    services.ban(driver=driver, reason="Robo", by=supervisor)
    assert scan(driver, stations["exit"], caseta).reason == ScanReason.BANNED


def test_a_supervisor_forces_an_exit_past_an_unfinished_route(driver, stations, caseta, supervisor, route):
    scan(driver, stations["entry"], caseta, route="DESC")
    assert scan(driver, stations["exit"], caseta, force=True, note="Báscula descompuesta").reason == "forbidden"
    result = scan(driver, stations["exit"], supervisor, force=True, note="Báscula descompuesta")
    assert result.accepted and result.movement.forced and not inside(driver)


# --- vehicle and seals -----------------------------------------------------------------

@pytest.fixture
def seal_gate(stations):
    Station.objects.filter(pk=stations["exit"].pk).update(checks_seals=True)
    stations["exit"].refresh_from_db()
    return stations["exit"]


def test_an_entry_keeps_the_vehicle_normalized(driver, stations, caseta):
    scan(driver, stations["entry"], caseta,
         vehicle={"plate": " xyz 99 ", "trailers": ["rem-1", " rem-2 "], "seals": ["s-001", "S-002", "s-001"]})
    visit = Visit.objects.get()
    assert (visit.plate, visit.trailers, visit.seals) == ("XYZ 99", ["REM-1", "REM-2"], ["S-001", "S-002"])
    assert Movement.objects.get().plate == "XYZ 99"


def test_the_visit_plate_is_the_drivers_usual_one_when_none_is_given(driver, stations, caseta):
    scan(driver, stations["entry"], caseta, vehicle={"seals": ["1"]})
    assert Visit.objects.get().plate == driver.plate


@pytest.mark.parametrize("vehicle", ["ABC", ["ABC"], {"plate": 5}, {"trailers": 7}, {"seals": [1, 2]}])
def test_a_malformed_vehicle_is_a_malformed_call(driver, stations, caseta, vehicle):
    with pytest.raises(ScanError):
        scan(driver, stations["entry"], caseta, vehicle=vehicle)
    assert not Visit.objects.exists()


def test_seals_are_compared_ignoring_case_spaces_hyphens_and_order(driver, stations, caseta, seal_gate):
    scan(driver, stations["entry"], caseta, vehicle={"seals": ["AB-123", "cd 9"]})
    result = scan(driver, seal_gate, caseta, seals=["CD9", "ab123"])
    assert result.accepted and Visit.objects.get().exit_seals == ["CD9", "AB123"]


def test_a_swapped_seal_is_refused_naming_what_differs(driver, stations, caseta, seal_gate):
    scan(driver, stations["entry"], caseta, vehicle={"seals": ["AB-123", "CD-9"]})
    result = scan(driver, seal_gate, caseta, seals=["AB-123", "ZZ-1"])
    assert not result.accepted and result.reason == ScanReason.SEAL_MISMATCH
    assert "CD-9" in result.message and "ZZ-1" in result.message and inside(driver)


def test_an_exit_without_seals_where_they_are_checked_is_refused(driver, stations, caseta, seal_gate):
    scan(driver, stations["entry"], caseta, vehicle={"seals": ["AB-123"]})
    result = scan(driver, seal_gate, caseta)
    assert result.reason == ScanReason.SEAL_MISMATCH and "AB-123" in result.message


def test_no_seals_at_entry_and_none_at_exit_match(driver, stations, caseta, seal_gate):
    scan(driver, stations["entry"], caseta)
    assert scan(driver, seal_gate, caseta, seals=[]).accepted


def test_seals_are_not_checked_at_a_station_that_does_not_check_them(driver, stations, caseta):
    scan(driver, stations["entry"], caseta, vehicle={"seals": ["AB-123"]})
    assert scan(driver, stations["exit"], caseta, seals=["OTHER"]).accepted


def test_the_route_is_said_before_the_seals(driver, stations, caseta, seal_gate, route):
    scan(driver, stations["entry"], caseta, route="DESC", vehicle={"seals": ["A"]})
    assert scan(driver, seal_gate, caseta, seals=["B"]).reason == ScanReason.ROUTE_INCOMPLETE


def test_a_supervisor_forces_an_exit_with_other_seals(driver, stations, caseta, supervisor, seal_gate):
    scan(driver, stations["entry"], caseta, vehicle={"seals": ["A"]})
    result = scan(driver, seal_gate, supervisor, seals=["B"], force=True, note="Sello roto en revisión aduanal")
    assert result.accepted and result.movement.forced


def test_seals_that_are_not_a_list_of_text_are_a_malformed_call(driver, stations, caseta, seal_gate):
    scan(driver, stations["entry"], caseta)
    with pytest.raises(ScanError):
        scan(driver, seal_gate, caseta, seals=[{"x": 1}])


def test_the_vehicle_can_be_added_to_the_open_visit_just_after_the_entry(driver, stations, caseta, seal_gate):
    entry = scan(driver, stations["entry"], caseta)
    services.set_visit_vehicle(visit=entry.visit, by=caseta, vehicle={"trailers": ["r1"], "seals": ["S1"]})
    visit = Visit.objects.get()
    assert (visit.plate, visit.trailers, visit.seals) == (driver.plate, ["R1"], ["S1"])
    assert scan(driver, seal_gate, caseta, seals=["x"]).reason == ScanReason.SEAL_MISMATCH


def test_the_vehicle_cannot_be_changed_long_after_the_entry(driver, stations, caseta):
    entry = scan(driver, stations["entry"], caseta)
    Visit.objects.update(entered_at=timezone.now() - timedelta(minutes=services.VEHICLE_EDIT_MINUTES + 1))
    with pytest.raises(ScanError):
        services.set_visit_vehicle(visit=entry.visit, by=caseta, vehicle={"seals": ["S1"]})
    assert Visit.objects.get().seals == []


# --- cost ------------------------------------------------------------------------------

def statements(callable_):
    with CaptureQueriesContext(connection) as ctx:
        result = callable_()
    assert result.accepted
    return len(ctx.captured_queries)


def test_the_checks_cost_no_statement_when_they_pass(make_driver, stations, caseta, route, seal_gate, licence):
    """An entry and an exit cost the same with nothing configured as with documents, a
    route and a seal check configured that all pass: the checks ride the state query."""
    plain = make_driver()
    before = statements(lambda: scan(plain, stations["entry"], caseta))
    Station.objects.filter(pk=stations["exit"].pk).update(checks_seals=False)
    before_exit = statements(lambda: scan(plain, stations["exit"], caseta))

    Station.objects.filter(pk=stations["exit"].pk).update(checks_seals=True)
    Station.objects.filter(pk=stations["entry"].pk).update(default_route=route)
    stations["entry"].refresh_from_db()
    DocumentType.objects.create(code="seguro", name="Seguro", required=True)
    checked = make_driver()
    give(checked, licence, 10)
    give(checked, DocumentType.objects.get(code="seguro"), 10)
    assert statements(lambda: scan(checked, stations["entry"], caseta)) == before
    scan(checked, stations["checkpoint"], caseta)
    scan(checked, route.dock, caseta)
    assert statements(lambda: scan(checked, seal_gate, caseta, seals=[])) == before_exit


# --- screens ---------------------------------------------------------------------------

def test_the_follow_page_shows_documents_route_stops_and_vehicle(sup, driver, stations, caseta, route, licence):
    insurance = DocumentType.objects.create(code="seguro", name="Seguro", required=True)
    give(driver, licence, 5)
    give(driver, insurance, 5)
    scan(driver, stations["entry"], caseta, route="DESC",
         vehicle={"plate": "XYZ-1", "trailers": ["REM-9"], "seals": ["S-77"]})
    scan(driver, stations["checkpoint"], caseta)
    # Since he entered, his licence expired and his insurance was removed.
    DriverDocument.objects.filter(doc_type=licence).update(expires_on=today() - timedelta(days=1))
    DriverDocument.objects.filter(doc_type=insurance).delete()
    page = sup.get(f"/follow/?driver={driver.pk}").content.decode()
    route_part = page[page.index('id="route-state"'):page.index('id="documents"')]
    assert "Descarga" in route_part
    assert route_part.index("stop-done") < route_part.index("Báscula") < route_part.index("stop-missing")
    assert route_part.index("stop-missing") < route_part.index("Andén 3")
    docs_part = page[page.index('id="documents"'):]
    assert "Licencia federal" in docs_part and "expired" in docs_part
    assert "Seguro" in docs_part and "missing" in docs_part
    assert "XYZ-1" in page and "REM-9" in page and "S-77" in page
