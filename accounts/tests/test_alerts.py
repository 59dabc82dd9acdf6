"""E-mail alerts: each manager chooses them; nothing is sent to a user without an address."""

import pytest
from django.core import mail

from accounts.models import Role
from conftest import make_user
from stations import outbox, worker
from stations.models import EventName

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def banned_attempt(station):
    payload = {"station": {"code": station.code, "name": station.name},
               "driver": {"id": 1, "name": "Pedro Vetado", "company": "Fletes X", "plate": "XYZ-1"},
               "direction": "in", "reason": "banned", "detail": "Robo", "movement_id": None}
    outbox.emit([outbox.Event(EventName.BANNED_ATTEMPT, payload)], station=station)


def test_a_manager_chooses_his_alerts_on_his_page(client, supervisor):
    client.force_login(supervisor)
    assert client.get("/account/alerts/").status_code == 200
    answer = client.post("/account/alerts/", {"email": "jefe@planta.mx",
                                              "alert_events": ["driver.banned_attempt"], "alert_digest": ""})
    assert answer.status_code == 302
    supervisor.refresh_from_db()
    assert (supervisor.email, supervisor.alert_events, supervisor.alert_digest) == (
        "jefe@planta.mx", ["driver.banned_attempt"], False)


def test_alerts_without_an_address_are_refused_with_a_message(client, supervisor):
    client.force_login(supervisor)
    answer = client.post("/account/alerts/", {"email": "", "alert_events": ["driver.banned_attempt"]})
    assert answer.status_code == 200 and answer.context["form"].errors["email"]
    supervisor.refresh_from_db()
    assert supervisor.alert_events == []
    answer = client.post("/account/alerts/", {"email": "x@y.mx", "alert_events": ["scan.exploded"]})
    assert answer.status_code == 200 and answer.context["form"].errors["alert_events"]


def test_a_banned_attempt_sends_one_email_to_a_subscribed_supervisor_only(stations):
    subscribed = make_user("jefa", Role.SUPERVISOR, email="jefa@planta.mx", alert_events=["driver.banned_attempt"])
    make_user("otro", Role.SUPERVISOR, email="otro@planta.mx", alert_events=[])
    make_user("sincorreo", Role.SUPERVISOR, email="", alert_events=["driver.banned_attempt"])
    make_user("forzados", Role.SUPERVISOR, email="f@planta.mx", alert_events=["movement.forced"])
    banned_attempt(stations["entry"])
    worker.drain()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [subscribed.email]
    assert "Pedro Vetado" in message.body and "Pedro Vetado" in message.subject
    worker.drain()
    assert len(mail.outbox) == 1  # once


def test_a_digest_reader_gets_one_email_a_day_with_every_alert(stations):
    from datetime import timedelta

    from django.utils import timezone

    reader = make_user("resumen", Role.SUPERVISOR, email="r@planta.mx",
                       alert_events=["driver.banned_attempt"], alert_digest=True)
    start = timezone.now() - timedelta(seconds=1)
    banned_attempt(stations["entry"])
    banned_attempt(stations["exit"])
    worker.drain()
    assert mail.outbox == []  # not one by one
    assert outbox.queue_digests(since=start, until=timezone.now() + timedelta(seconds=1)) == 1
    worker.drain()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [reader.email]
    assert mail.outbox[0].body.count("Pedro Vetado") == 2
