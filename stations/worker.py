"""The delivery worker's loop (manage.py run_outbox; deploy/qrgate-worker.service).

It polls the outbox with two indexed reads outside any transaction (on SQLite a write
transaction would take the database's one write lock four times a second), and only when
there is work does it fan out and claim in short transactions. The sending runs in a
small thread pool, so one receiver that is down (a connect timeout) does not hold up
the barrier of another station.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.db import DatabaseError, close_old_connections
from django.utils import timezone

from . import outbox, sending
from .models import Delivery, DeliveryStatus, OutboxEvent

log = logging.getLogger("qrgate.outbox")

POLL_SECONDS = 0.25  # the worst wait added to a barrier's opening
SENDERS = 4


def has_work() -> bool:
    """Two cheap reads: a new event to fan out, or a delivery due now."""
    return (
        OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()
        or Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now()).exists()
    )


def _attempt(delivery: Delivery) -> tuple[Delivery, str | None, bool]:
    if delivery.recipient_id and not delivery.recipient.email:
        return delivery, "The user has no e-mail address.", True
    try:
        return delivery, sending.send(delivery), False
    except Exception as exc:  # noqa: BLE001 - one bad delivery must not stop the others
        log.exception("delivery %s failed", delivery.pk)
        return delivery, f"{type(exc).__name__}: {exc}", False


def run_once(pool: ThreadPoolExecutor | None = None) -> tuple[int, int, int]:
    """One pass: fan out new events and send what is due. Returns (events, sent, failed)."""
    if not has_work():
        return 0, 0, 0
    events = outbox.fan_out()
    due = outbox.claim_due()
    sent = failed = 0
    results = pool.map(_attempt, due) if pool else map(_attempt, due)
    for delivery, error, give_up in results:
        outbox.record_result(delivery, error=error, give_up=give_up)
        if error is None:
            sent += 1
        else:
            failed += 1
            log.warning("delivery %s to %s: %s", delivery.pk, delivery.target, error)
    return events, sent, failed


def drain(pool: ThreadPoolExecutor | None = None, *, passes: int = 50) -> tuple[int, int, int]:
    """Passes until nothing is due now (tests, --once)."""
    total = [0, 0, 0]
    for _ in range(passes):
        counts = run_once(pool)
        total = [a + b for a, b in zip(total, counts)]
        if not any(counts):
            break
    return tuple(total)


def run(stop: threading.Event, *, poll: float = POLL_SECONDS) -> None:
    """Loop until `stop` is set, surviving a database that goes away for a while."""
    with ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="qrgate-send") as pool:
        while not stop.is_set():
            try:
                close_old_connections()
                events, sent, failed = run_once(pool)
            except DatabaseError:
                log.exception("outbox: database error; retrying in 5 s")
                stop.wait(5)
                continue
            if not (events or sent or failed):
                stop.wait(poll)
            else:
                log.info("outbox: %d events fanned out, %d delivered, %d failed", events, sent, failed)
