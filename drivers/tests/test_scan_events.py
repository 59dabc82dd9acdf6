"""Every scan writes its events to the outbox with the scan; nobody listening costs nothing."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from drivers import services
from drivers.models import ScanReason
from stations.models import EventName, OutboxEvent, Webhook

pytestmark = pytest.mark.django_db

ALL = [str(name) for name in EventName.values]


def hook(station=None, events=ALL, **kw):
    return Webhook.objects.create(name="barrera", url="http://127.0.0.1:9/", station=station, events=events, **kw)


def names():
    return sorted(OutboxEvent.objects.values_list("name", flat=True))


def test_an_accepted_scan_emits_scan_accepted_with_its_payload(driver, stations, caseta):
    hook(stations["entry"])
    result = services.record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    event = OutboxEvent.objects.get()
    assert event.name == EventName.SCAN_ACCEPTED and event.station == stations["entry"]
    assert event.payload["movement_id"] == result.movement.pk
    assert event.payload["driver"]["name"] == driver.full_name
    assert event.payload["station"] == {"code": "E1", "name": stations["entry"].name}
    assert event.payload["direction"] == "in" and event.payload["reason"] == "ok"


def test_a_double_read_and_a_replayed_nonce_emit_nothing_new(driver, stations, caseta):
    hook()
    services.record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta, nonce="n-1")
    again = services.record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    replay = services.record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta, nonce="n-1")
    assert again.reason == ScanReason.DUPLICATE and replay.replayed
    assert names() == ["scan.accepted"]


def test_a_banned_driver_emits_a_refusal_and_a_banned_attempt(driver, stations, caseta, supervisor):
    services.ban(driver=driver, reason="Robo", by=supervisor)
    hook()
    result = services.record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    assert result.reason == ScanReason.BANNED
    assert names() == ["driver.banned_attempt", "scan.refused"]
    assert {e.payload["reason"] for e in OutboxEvent.objects.all()} == {"banned"}
    assert {e.payload["detail"] for e in OutboxEvent.objects.all()} == {"Robo"}


def test_only_the_events_someone_listens_to_are_written(driver, stations, caseta, supervisor):
    supervisor.email, supervisor.alert_events = "jefe@planta.mx", ["driver.banned_attempt"]
    supervisor.save()
    hook(stations["exit"])  # another station's webhook hears nothing of E1
    services.ban(driver=driver, reason="Robo", by=supervisor)
    services.record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    assert names() == ["driver.banned_attempt"]
    services.record_scan(code="garbage!", station=stations["entry"], operator=caseta)
    assert names() == ["driver.banned_attempt"]
    services.record_scan(code="garbage!", station=stations["exit"], operator=caseta)
    assert names() == ["driver.banned_attempt", "scan.refused"]


def test_forced_movements_emit_movement_forced_for_a_subscribed_person(driver, stations, caseta, supervisor):
    supervisor.email, supervisor.alert_events = "jefe@planta.mx", ["movement.forced"]
    supervisor.save()
    services.record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    assert names() == []
    services.check_out(driver=driver, by=supervisor, reason="Salió por la puerta de servicio")
    assert names() == ["movement.forced"]
    services.record_scan(code=driver.badge_code, station=stations["exit"], operator=supervisor,
                         direction="out", force=True, note="Sin registro de entrada")
    assert names() == ["movement.forced", "movement.forced"]


def test_an_inactive_webhook_or_a_person_without_address_hears_nothing(driver, stations, caseta, supervisor):
    hook(is_active=False)
    supervisor.email, supervisor.alert_events = "", ["driver.banned_attempt"]
    supervisor.save()
    services.ban(driver=driver, reason="Robo", by=supervisor)
    services.record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    assert names() == []


@pytest.mark.django_db(transaction=True)
def test_one_active_webhook_adds_exactly_one_insert_to_a_scan(client, caseta, make_driver, stations, settings):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    drivers = [make_driver() for _ in range(2)]
    client.force_login(caseta)

    def scan(driver, nonce):
        with CaptureQueriesContext(connection) as queries:
            answer = client.post("/api/scan/", json.dumps({"code": driver.badge_code, "station": "G1", "nonce": nonce}),
                                 content_type="application/json")
        assert answer.json()["accepted"]
        return [q["sql"] for q in queries.captured_queries]

    scan(drivers[0], "warm")
    silent = scan(drivers[1], "silent")
    hook(stations["gate"])
    heard = scan(drivers[0], "heard")
    assert len(heard) == len(silent) + 1, heard
    extra = [sql for sql in heard if "stations_outboxevent" in sql.lower()]
    assert len(extra) == 1 and extra[0].upper().startswith("INSERT")
    assert names() == ["scan.accepted"]
