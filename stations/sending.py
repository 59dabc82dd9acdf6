"""Sending one delivery: a signed JSON POST to a webhook, or an e-mail to a person.

Called by the worker outside any transaction (a slow receiver must never hold a database
lock). Each function returns None when delivered, else the error to record.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import urllib3
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from .models import DIGEST_EVENT, Delivery, EventName
from .outbox import body

# A receiver on the plant's LAN answers in milliseconds; one that does not is retried later.
TIMEOUT = urllib3.Timeout(connect=2.0, read=5.0)
_http = urllib3.PoolManager(num_pools=20, maxsize=4, retries=False, timeout=TIMEOUT)


def signature(raw: bytes, secret: str) -> str:
    """The X-QRGate-Signature header: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def raw_body(delivery: Delivery) -> bytes:
    return json.dumps(body(delivery.event), ensure_ascii=False, separators=(",", ":")).encode()


def post_webhook(delivery: Delivery) -> str | None:
    raw = raw_body(delivery)
    hook = delivery.webhook
    try:
        response = _http.request(
            "POST",
            hook.url,
            body=raw,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "QRGate-Webhook/1",
                "X-QRGate-Event": delivery.event.name,
                "X-QRGate-Delivery": str(delivery.pk),
                "X-QRGate-Signature": signature(raw, hook.secret),
            },
            redirect=False,
        )
    except (urllib3.exceptions.HTTPError, ValueError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if 200 <= response.status < 300:
        return None
    return f"HTTP {response.status}: {response.data[:200].decode('utf-8', 'replace')}"


def _line(event: dict) -> str:
    driver = event.get("driver") or {}
    station = event.get("station") or {}
    at = parse_datetime(event.get("at") or "")
    when = timezone.localtime(at).strftime("%d/%m/%Y %H:%M") if at else ""
    titles = {
        EventName.BANNED_ATTEMPT: _("Banned driver at the gate"),
        EventName.FORCED_MOVEMENT: _("Forced movement"),
        EventName.DOCUMENT_EXPIRING: _("Document about to expire"),
    }
    parts = [when, str(titles.get(event.get("event"), event.get("event"))), driver.get("name") or "",
             driver.get("company") or "", station.get("name") or "", event.get("detail") or ""]
    return " · ".join(p for p in parts if p)


def alert_email(delivery: Delivery) -> tuple[str, str]:
    """(subject, text) of the e-mail for one delivery, in the recipient's language."""
    event = delivery.event
    if event.name == DIGEST_EVENT:
        lines = [_line(e) for e in event.payload.get("events", [])]
        subject = _("QRGate: %(count)d alerts today") % {"count": len(lines)}
    else:
        lines = [_line(body(event))]
        subject = "QRGate: " + lines[0].split(" · ", 1)[-1]
    text = render_to_string("stations/alert_email.txt", {"lines": lines, "plant": settings.PLANT_NAME})
    return subject[:180], text


def email_alert(delivery: Delivery) -> str | None:
    user = delivery.recipient
    with translation.override(user.language or settings.LANGUAGE_CODE):
        subject, text = alert_email(delivery)
    try:
        send_mail(subject, text, None, [user.email])
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors
        return f"{type(exc).__name__}: {exc}"
    return None


def send(delivery: Delivery) -> str | None:
    """Deliver once; None when done, else the error."""
    if delivery.webhook_id:
        return post_webhook(delivery)
    return email_alert(delivery)
