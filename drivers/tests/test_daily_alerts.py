"""manage.py daily_alerts: documents about to expire told once, digests queued."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Role
from conftest import make_user
from drivers.models import DocumentType, DriverDocument
from stations import worker
from stations.models import OutboxEvent, Webhook

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def documents(driver, make_driver):
    kind = DocumentType.objects.create(code="seguro", name="Seguro", warn_days=15)
    today = timezone.localdate()
    soon = DriverDocument.objects.create(driver=driver, doc_type=kind, number="P-1", expires_on=today + timedelta(days=5))
    DriverDocument.objects.create(driver=make_driver(), doc_type=kind, expires_on=today + timedelta(days=90))
    return soon


def test_a_document_entering_its_warning_window_is_told_once(documents, driver):
    Webhook.objects.create(name="ERP", url="http://127.0.0.1:9/", events=["document.expiring"])
    call_command("daily_alerts")
    call_command("daily_alerts")  # the next morning, or a second run: nothing new
    event = OutboxEvent.objects.get(name="document.expiring")
    assert event.payload["driver"]["id"] == driver.pk
    assert event.payload["document"]["days_left"] == 5 and event.payload["document"]["number"] == "P-1"


def test_a_renewed_document_is_told_again_when_its_new_date_comes_near(documents):
    call_command("daily_alerts")
    documents.expires_on += timedelta(days=3)  # a correction of the date
    documents.save()
    call_command("daily_alerts")
    assert OutboxEvent.objects.filter(name="document.expiring").count() == 2


def test_dry_run_writes_nothing(documents, capsys):
    call_command("daily_alerts", "--dry-run")
    assert not OutboxEvent.objects.exists()
    assert "would emit 1" in capsys.readouterr().out


def test_a_subscribed_supervisor_gets_the_expiring_document_by_email(documents, driver):
    boss = make_user("docs", Role.SUPERVISOR, email="docs@planta.mx", alert_events=["document.expiring"])
    call_command("daily_alerts")
    worker.drain()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [boss.email]
    assert driver.full_name in mail.outbox[0].body and "Seguro" in mail.outbox[0].body
