"""The outbox and its delivery state: fan-out, claim, backoff, give up, send again."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from stations import outbox
from stations.models import Delivery, DeliveryStatus, OutboxEvent, Webhook

pytestmark = pytest.mark.django_db


def hook(station=None, events=("scan.accepted",), **kw):
    return Webhook.objects.create(name="Barrier", url="http://127.0.0.1:9/hook", station=station,
                                  events=list(events), **kw)


def emit(station, name="scan.accepted"):
    return outbox.emit([outbox.Event(name, {"station": {"code": station.code}})], station=station)[0]


def test_webhook_events_must_be_known_names(stations):
    webhook = Webhook(name="x", url="http://127.0.0.1/", events=["scan.accepted", "scan.exploded"])
    with pytest.raises(ValidationError) as info:
        webhook.full_clean()
    assert "scan.exploded" in str(info.value)
    webhook.events = []
    with pytest.raises(ValidationError):
        webhook.full_clean()
    webhook.events = ["scan.accepted", "driver.banned_attempt"]
    webhook.full_clean()


def test_fan_out_makes_one_delivery_per_listening_webhook_of_the_station(stations):
    here = hook(stations["entry"])
    everywhere = hook(None)
    hook(stations["exit"])  # another station
    hook(stations["entry"], events=["scan.refused"])  # another event
    hook(stations["entry"], is_active=False)
    event = emit(stations["entry"])
    assert outbox.fan_out() == 1
    assert set(Delivery.objects.filter(event=event).values_list("webhook", flat=True)) == {here.pk, everywhere.pk}
    assert OutboxEvent.objects.get().dispatched_at is not None
    assert outbox.fan_out() == 0  # nothing fanned out twice


def test_listeners_answers_in_the_query_whether_anyone_listens(stations):
    assert outbox.listened(stations["entry"], ["scan.accepted"]) == {"scan.accepted": False}
    hook(stations["exit"])
    assert outbox.listened(stations["entry"], ["scan.accepted"]) == {"scan.accepted": False}
    hook(None)
    assert outbox.listened(stations["entry"], ["scan.accepted", "scan.refused"]) == {
        "scan.accepted": True, "scan.refused": False}


def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_ends(stations):
    hook(stations["entry"])
    emit(stations["entry"])
    outbox.fan_out()
    assert len(outbox.claim_due()) == 1
    assert outbox.claim_due() == []  # a second worker finds nothing
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))  # the worker died
    assert len(outbox.claim_due()) == 1


def test_a_failed_delivery_is_retried_within_a_minute_then_less_often_then_given_up(stations):
    hook(stations["entry"])
    emit(stations["entry"])
    outbox.fan_out()
    delivery = outbox.claim_due()[0]
    before = timezone.now()
    outbox.record_result(delivery, error="ConnectionRefused")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.last_error == "ConnectionRefused"
    assert before < delivery.next_attempt_at <= before + timedelta(minutes=1)
    waits = [outbox.backoff(n) for n in range(1, 12)]
    assert waits == sorted(waits) and waits[-1] <= timedelta(hours=1)
    Delivery.objects.update(give_up_at=timezone.now() + timedelta(seconds=5))
    delivery.refresh_from_db()
    outbox.record_result(delivery, error="still down")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED


def test_send_again_queues_a_failed_delivery_now_for_another_day(stations):
    hook(stations["entry"])
    emit(stations["entry"])
    outbox.fan_out()
    Delivery.objects.update(status=DeliveryStatus.FAILED, last_error="down")
    assert outbox.send_again(Delivery.objects.all()) == 1
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at <= timezone.now()
    assert delivery.give_up_at > timezone.now() + timedelta(hours=23)


def test_the_admin_lists_deliveries_with_their_error_and_sends_again(client, admin_user, stations):
    hook(stations["entry"])
    emit(stations["entry"])
    outbox.fan_out()
    Delivery.objects.update(status=DeliveryStatus.FAILED, last_error="HTTP 503: barrier busy")
    client.force_login(admin_user)
    page = client.get("/admin/stations/delivery/")
    assert page.status_code == 200 and "HTTP 503: barrier busy" in page.content.decode()
    delivery = Delivery.objects.get()
    assert client.get(f"/admin/stations/delivery/{delivery.pk}/change/").status_code == 200
    client.post("/admin/stations/delivery/", {"action": "send_again", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert client.get("/admin/stations/webhook/add/").status_code == 200
    assert client.get("/admin/stations/outboxevent/").status_code == 200
