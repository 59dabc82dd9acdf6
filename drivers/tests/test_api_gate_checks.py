"""The gate checks through POST /api/scan/ and /api/scan/vehicle/: fields, codes, forcible."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from drivers import services
from drivers.models import DocumentType, DriverDocument, Movement, RefusedScan, Visit
from stations.models import Route, RouteStop, Station, StationKind

pytestmark = pytest.mark.django_db

API, VEHICLE = "/api/scan/", "/api/scan/vehicle/"


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def post(client, url, payload):
    return client.post(url, json.dumps(payload), content_type="application/json")


@pytest.fixture
def booth(client, caseta):
    client.force_login(caseta)
    return client


@pytest.fixture
def boss(client, supervisor):
    client.force_login(supervisor)
    return client


@pytest.fixture
def route(stations):
    dock = Station.objects.create(name="Andén 3", code="A3", kind=StationKind.CHECKPOINT)
    route = Route.objects.create(code="DESC", name="Descarga")
    RouteStop.objects.create(route=route, station=stations["checkpoint"], position=1)
    RouteStop.objects.create(route=route, station=dock, position=2)
    return route


def expired_licence(driver):
    kind = DocumentType.objects.create(code="licencia_federal", name="Licencia federal")
    DriverDocument.objects.create(driver=driver, doc_type=kind, expires_on=timezone.localdate() - timedelta(days=2))


def test_an_expired_licence_is_refused_in_red_naming_it_and_forcible_for_a_supervisor(
        booth, driver, stations, supervisor):
    expired_licence(driver)
    data = post(booth, API, {"code": driver.badge_code, "station": "E1"}).json()
    assert data["accepted"] is False and data["reason"] == "document_expired" and data["level"] == "refused"
    assert "Licencia federal" in data["message"] and data["forcible"] is False  # a Caseta may not force
    booth.force_login(supervisor)
    data = post(booth, API, {"code": driver.badge_code, "station": "E1"}).json()
    assert data["forcible"] is True
    forced = post(booth, API, {"code": driver.badge_code, "station": "E1", "force": True, "note": "Renovando"}).json()
    assert forced["accepted"] and forced["level"] == "warning"


def test_a_caseta_forcing_is_refused_as_forbidden(booth, driver, stations):
    expired_licence(driver)
    data = post(booth, API, {"code": driver.badge_code, "station": "E1", "force": True, "note": "x"}).json()
    assert data["reason"] == "forbidden" and not Visit.objects.exists()


def test_a_missing_document_through_the_api(booth, driver, stations):
    DocumentType.objects.create(code="seguro", name="Seguro", required=True)
    data = post(booth, API, {"code": driver.badge_code, "station": "E1"}).json()
    assert data["reason"] == "document_missing" and "Seguro" in data["message"]


def test_the_entry_names_its_route_and_the_answer_shows_the_stops(booth, driver, stations, route):
    data = post(booth, API, {"code": driver.badge_code, "station": "E1", "route": "desc"}).json()
    assert data["accepted"]
    stops = data["visit"]["route"]["stops"]
    assert [(s["name"], s["done"]) for s in stops] == [("Báscula 1", False), ("Andén 3", False)]
    assert Visit.objects.get().route == route


@pytest.mark.parametrize("route_code", ["NOPE", "DESC-OFF"])
def test_an_unknown_or_inactive_route_is_a_400_with_its_code(booth, driver, stations, route, route_code):
    Route.objects.create(code="DESC-OFF", name="Vieja", is_active=False)
    r = post(booth, API, {"code": driver.badge_code, "station": "E1", "route": route_code})
    assert r.status_code == 400 and r.json()["code"] == "unknown_route"
    assert not Movement.objects.exists() and not RefusedScan.objects.exists()


def test_an_exit_held_by_the_route_names_the_missing_stops_and_shows_them(booth, driver, stations, route):
    post(booth, API, {"code": driver.badge_code, "station": "E1", "route": "DESC"})
    post(booth, API, {"code": driver.badge_code, "station": "C1"})
    data = post(booth, API, {"code": driver.badge_code, "station": "S1"}).json()
    assert data["reason"] == "route_incomplete" and "Andén 3" in data["message"]
    assert [(s["name"], s["done"]) for s in data["visit"]["route"]["stops"]] == [
        ("Báscula 1", True), ("Andén 3", False)]


def test_the_vehicle_comes_with_the_entry_and_the_seals_with_the_exit(booth, driver, stations):
    Station.objects.filter(code="S1").update(checks_seals=True)
    data = post(booth, API, {"code": driver.badge_code, "station": "E1",
                             "vehicle": {"plate": "xyz-1", "trailers": ["r-1"], "seals": ["AB-1", "cd 2"]}}).json()
    assert data["visit"]["plate"] == "XYZ-1" and data["visit"]["seals"] == ["AB-1", "CD 2"]
    swapped = post(booth, API, {"code": driver.badge_code, "station": "S1", "seals": ["AB1", "ZZ9"]}).json()
    assert swapped["reason"] == "seal_mismatch" and "CD 2" in swapped["message"] and "ZZ9" in swapped["message"]
    missing = post(booth, API, {"code": driver.badge_code, "station": "S1"}).json()
    assert missing["reason"] == "seal_mismatch"
    ok = post(booth, API, {"code": driver.badge_code, "station": "S1", "seals": ["cd2", "ab-1"]}).json()
    assert ok["accepted"] and Visit.objects.get().exit_seals == ["CD2", "AB-1"]


@pytest.mark.parametrize("payload", [{"vehicle": "ABC"}, {"vehicle": {"seals": 5}}, {"seals": "AB"},
                                     {"seals": [1]}, {"route": 7}])
def test_malformed_vehicle_seals_or_route_are_400s_that_write_nothing(booth, driver, stations, payload):
    r = post(booth, API, {"code": driver.badge_code, "station": "G1", **payload})
    assert r.status_code == 400 and "error" in r.json()
    assert not Movement.objects.exists() and not RefusedScan.objects.exists()


def test_the_vehicle_is_added_to_the_open_visit_just_after_the_entry(booth, driver, stations):
    entry = post(booth, API, {"code": driver.badge_code, "station": "E1"}).json()
    r = post(booth, VEHICLE, {"movement_id": entry["movement_id"], "station": "E1",
                              "vehicle": {"trailers": ["REM-9"], "seals": ["S-1"]}})
    assert r.status_code == 200 and r.json()["visit"]["seals"] == ["S-1"]
    visit = Visit.objects.get()
    assert (visit.plate, visit.trailers, visit.seals) == (driver.plate, ["REM-9"], ["S-1"])


def test_the_vehicle_of_another_stations_entry_or_too_late_is_refused(booth, driver, stations):
    entry = post(booth, API, {"code": driver.badge_code, "station": "E1"}).json()
    other = post(booth, VEHICLE, {"movement_id": entry["movement_id"], "station": "G1", "vehicle": {"seals": ["1"]}})
    assert other.status_code == 400 and other.json()["code"] == "wrong_station"
    Visit.objects.update(entered_at=timezone.now() - timedelta(minutes=services.VEHICLE_EDIT_MINUTES + 1))
    late = post(booth, VEHICLE, {"movement_id": entry["movement_id"], "station": "E1", "vehicle": {"seals": ["1"]}})
    assert late.status_code == 400 and late.json()["code"] == "vehicle_too_late"
    assert Visit.objects.get().seals == []


def test_an_accepted_scan_costs_the_same_statements_with_the_checks_configured_and_passing(
        booth, make_driver, stations, route):
    """The rules ride the one state query: a plant that configures documents, a default
    route and a seal check pays no statement more per accepted scan than one that does not."""
    def count(payload):
        with CaptureQueriesContext(connection) as ctx:
            assert post(booth, API, payload).json()["accepted"]
        return len(ctx.captured_queries)

    warm = make_driver()
    post(booth, API, {"code": warm.badge_code, "station": "E1"})  # session and permissions warm
    plain = make_driver()
    before = count({"code": plain.badge_code, "station": "E1"})
    before_exit = count({"code": plain.badge_code, "station": "S1"})

    Station.objects.filter(code="S1").update(checks_seals=True)
    kind = DocumentType.objects.create(code="seguro", name="Seguro", required=True)
    checked = make_driver()
    DriverDocument.objects.create(driver=checked, doc_type=kind, expires_on=timezone.localdate())
    assert count({"code": checked.badge_code, "station": "E1", "vehicle": {"seals": ["A1"]}}) == before
    assert count({"code": checked.badge_code, "station": "S1", "seals": ["a-1"]}) == before_exit
