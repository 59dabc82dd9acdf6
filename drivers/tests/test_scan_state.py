"""The scan's state query, compiled once (selectors.PreparedQuery), answers exactly as the
ORM query built afresh, whatever the driver's state, the station and the plant's checks."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from drivers import services
from drivers.models import Ban, DocumentType, DriverDocument, Movement, RefusedScan
from drivers.services import record_scan
from stations.models import Route, RouteStop, Station, StationKind, Webhook

pytestmark = pytest.mark.django_db


def both(driver, station, *, at=None, nonce=None, route=None):
    now = timezone.now()
    kw = dict(station=station, at=at or now, now=now, nonce=nonce, route=route, today=timezone.localdate(now))
    prepared = services._driver_state(driver, prepared=True, **kw)
    built = services._driver_state(driver, prepared=False, **kw)
    assert prepared == built
    return prepared


def scan(driver, station, operator, **kw):
    return record_scan(code=driver.badge_code, station=station, operator=operator, **kw)


def test_the_compiled_state_query_agrees_with_the_orm(make_driver, stations, caseta, settings):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 600
    route = Route.objects.create(code="DESC", name="Descarga")
    RouteStop.objects.create(route=route, station=stations["checkpoint"], position=1)
    Station.objects.filter(pk=stations["entry"].pk).update(default_route=route)
    stations["entry"].refresh_from_db()
    outside, inside, banned, late = (make_driver() for _ in range(4))
    assert scan(inside, stations["entry"], caseta, nonce="n-in",
                vehicle={"plate": "XYZ 9", "trailers": ["R-1"], "seals": ["S-1", "S-2"]}).accepted
    licence = DocumentType.objects.create(code="lic", name="Licencia")
    DocumentType.objects.create(code="seg", name="Seguro", required=True)
    DriverDocument.objects.create(driver=inside, doc_type=licence, expires_on=timezone.localdate() - timedelta(days=1))
    Ban.objects.create(driver=banned, reason="Pleito en báscula")
    RefusedScan.objects.create(raw_input="x", reason="unknown", station=stations["gate"], nonce="n-refused",
                               at=timezone.now())
    Movement.objects.create(driver=late, station=stations["gate"], direction="in",
                            at=timezone.now() + timedelta(minutes=1))
    Webhook.objects.create(name="barrera", url="http://127.0.0.1:9/", station=stations["exit"],
                           events=["scan.accepted"])
    caseta.email, caseta.alert_events = "caseta@planta.mx", ["driver.banned_attempt"]
    caseta.save()

    seen = []
    for station in stations.values():
        for driver in (outside, inside, banned, late):
            for nonce in (None, "n-in", "n-refused", "n-new"):
                for route_given in (None, route):
                    seen.append(both(driver, station, nonce=nonce, route=route_given))
    state = both(inside, stations["entry"], nonce="n-in")
    assert state["visit_id"] and state["visit_seals"] == ["S-1", "S-2"] and state["visit_trailers"] == ["R-1"]
    assert state["seen_movement_id"] and state["recent_id"] and state["doc_missing"] and state["doc_expired"]
    assert both(banned, stations["gate"])["ban_reason"] == "Pleito en báscula"
    assert both(late, stations["gate"])["newer_exists"] is True
    assert both(outside, stations["gate"], nonce="n-refused")["seen_refused_id"]
    assert both(inside, stations["exit"])["listen_accepted"] is True
    assert both(inside, stations["gate"])["listen_banned"] is True
    assert both(outside, stations["entry"])["default_route_id"] == route.pk
    assert both(inside, stations["exit"])["route_missing"] is True
    # Every shape met was compiled, none fell back to building the query each time.
    assert services._STATE._prepared and False not in services._STATE._prepared.values()


def test_a_compiled_state_query_builds_no_query(make_driver, stations, caseta, monkeypatch, settings):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    driver = make_driver()
    scan(driver, stations["gate"], caseta)  # compiles the shape once
    monkeypatch.setattr(services._STATE, "build", None)  # building it now would fail
    with CaptureQueriesContext(connection) as queries:
        assert scan(driver, stations["gate"], caseta).accepted  # the exit, after the window
    assert any("visit" in q["sql"] and "ban" in q["sql"] for q in queries.captured_queries)
