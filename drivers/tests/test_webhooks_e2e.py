"""Scans at the gate reach webhooks and people: through /api/scan/, the outbox and the worker."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from drivers import services
from drivers.models import Movement
from stations import worker
from stations.models import Delivery, DeliveryStatus, Webhook
from stations.tests.receiver import Receiver
from stations.tests.test_worker import free_port


def scan(client, driver, station):
    answer = client.post("/api/scan/", json.dumps({"code": driver.badge_code, "station": station}),
                         content_type="application/json")
    assert answer.status_code == 200
    return answer.json()


@pytest.mark.django_db(transaction=True)
def test_a_barrier_receiver_gets_its_stations_signed_scan_within_a_second(client, caseta, make_driver, stations):
    ana, beto = make_driver(full_name="Ana Barrera"), make_driver(full_name="Beto Otra")
    client.force_login(caseta)
    stop = threading.Event()

    def loop():
        try:
            worker.run(stop, poll=0.05)
        finally:
            connection.close()

    with Receiver() as receiver:
        hook = Webhook.objects.create(name="Barrera E1", url=receiver.url, events=["scan.accepted"],
                                      station=stations["entry"])
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        try:
            assert scan(client, beto, "S1")["accepted"] is False  # another station: not this hook's
            started = time.monotonic()
            data = scan(client, ana, "E1")
            assert data["accepted"]
            assert receiver.wait_for(1, timeout=1.0), "no scan.accepted within 1 s"
            assert receiver.requests[0]["at"] - started < 1.0
            time.sleep(0.3)  # a few more polls: nothing else arrives
        finally:
            stop.set()
            thread.join(5)
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    signature = "sha256=" + hmac.new(hook.secret.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-QRGate-Signature"] == signature
    assert request["headers"]["X-QRGate-Event"] == "scan.accepted"
    body = json.loads(request["body"])
    assert body["event"] == "scan.accepted" and body["station"]["code"] == "E1"
    assert body["driver"]["name"] == "Ana Barrera" and body["direction"] == "in"
    assert body["movement_id"] == Movement.objects.get(driver=ana).pk


@pytest.mark.django_db
def test_a_receiver_down_for_a_minute_gets_every_scan_once_when_back(client, caseta, make_driver, stations):
    port = free_port()
    Webhook.objects.create(name="Barrera", url=f"http://127.0.0.1:{port}/hook", events=["scan.accepted"])
    client.force_login(caseta)
    drivers = [make_driver() for _ in range(3)]
    for driver in drivers:
        assert scan(client, driver, "E1")["accepted"]
    worker.drain()  # the receiver is down: every first try fails
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.PENDING, 1)}
    # A minute later: the retries come due (time moved, not slept) and the receiver is back.
    with Receiver(port=port) as receiver:
        Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        worker.drain()
        assert receiver.wait_for(3)
        worker.drain()
    got = sorted(json.loads(r["body"])["driver"]["id"] for r in receiver.requests)
    assert got == sorted(d.pk for d in drivers)  # every event, once each
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}


@pytest.mark.django_db
def test_a_banned_attempt_mails_the_subscribed_supervisor_only(client, caseta, driver, stations, supervisor,
                                                                 settings):
    from accounts.models import Role
    from conftest import make_user

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    supervisor.email, supervisor.alert_events = "jefe@planta.mx", ["driver.banned_attempt"]
    supervisor.save()
    make_user("otro", Role.SUPERVISOR, email="otro@planta.mx")  # not subscribed
    sin = make_user("sinmail", Role.SUPERVISOR)
    sin.email, sin.alert_events = "", ["driver.banned_attempt"]
    sin.save()
    services.ban(driver=driver, reason="Robo de material", by=supervisor)
    client.force_login(caseta)
    assert scan(client, driver, "E1")["reason"] == "banned"
    worker.drain()
    assert [m.to for m in mail.outbox] == [["jefe@planta.mx"]]
    assert driver.full_name in mail.outbox[0].body
