"""The delivery worker against a real HTTP receiver on 127.0.0.1."""

import hashlib
import hmac
import json
import socket
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from stations import outbox, worker
from stations.models import Delivery, DeliveryStatus, Webhook

from .receiver import Receiver

pytestmark = pytest.mark.django_db


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed


def emit(station, n=1, name="scan.accepted"):
    return outbox.emit(
        [outbox.Event(name, {"station": {"code": station.code, "name": station.name}, "seq": i}) for i in range(n)],
        station=station,
    )


def test_the_receiver_gets_a_signed_event_with_its_name_and_id(stations):
    with Receiver() as receiver:
        hook = Webhook.objects.create(name="Barrier", url=receiver.url, events=["scan.accepted"],
                                      station=stations["entry"])
        (event,) = emit(stations["entry"])
        call_command("run_outbox", "--once")
        assert receiver.wait_for(1)
    request = receiver.requests[0]
    expected = "sha256=" + hmac.new(hook.secret.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-QRGate-Signature"] == expected
    assert request["headers"]["X-QRGate-Event"] == "scan.accepted"
    body = json.loads(request["body"])
    assert body["event"] == "scan.accepted" and body["id"] == str(event.pk)
    assert body["station"] == {"code": "E1", "name": stations["entry"].name}
    assert Delivery.objects.get().status == DeliveryStatus.DELIVERED


def test_a_receiver_down_for_a_minute_gets_every_event_once_when_it_comes_back(stations):
    port = free_port()
    Webhook.objects.create(name="Barrier", url=f"http://127.0.0.1:{port}/hook", events=["scan.accepted"])
    emit(stations["entry"], n=3)
    worker.drain()
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.PENDING, 1)}
    assert Delivery.objects.exclude(last_error="").count() == 3
    worker.drain()  # nothing is due yet: no new attempt
    assert set(Delivery.objects.values_list("attempts", flat=True)) == {1}
    # A minute later (time travel on the retry time) the receiver is back on its port.
    with Receiver(port=port) as receiver:
        Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        worker.drain()
        assert receiver.wait_for(3)
        worker.drain()
    seqs = sorted(json.loads(r["body"])["seq"] for r in receiver.requests)
    assert seqs == [0, 1, 2]  # every event, once each
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}


def test_a_receiver_answering_an_error_is_retried_with_the_status_as_last_error(stations):
    with Receiver(status=503) as receiver:
        Webhook.objects.create(name="Barrier", url=receiver.url, events=["scan.accepted"])
        emit(stations["entry"])
        worker.drain()
        assert receiver.wait_for(1)
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.last_error.startswith("HTTP 503")
