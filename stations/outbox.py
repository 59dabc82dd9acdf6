"""The outbox: events written with the change they tell, delivered later by a worker.

A service that changes the gate's state (drivers.services.record_scan) calls `emit` in
its own transaction: the event exists if and only if the change was committed. The
worker (manage.py run_outbox, deploy/qrgate-worker.service) polls this table:

1. `fan_out` turns each new OutboxEvent into one Delivery per listening webhook and per
   person who asked for it by e-mail (immediately; digest readers get it once a day);
2. `claim_due` takes the deliveries whose time has come, pushing their next attempt a
   lease ahead in the same short transaction, so that two workers never send one twice
   (PostgreSQL: select_for_update(skip_locked=True); SQLite: the IMMEDIATE transaction
   serializes the claimers). A worker killed mid-send leaves the row due again after the
   lease: delivery is at least once, and each event carries an `id` for receivers;
3. the sending happens outside any transaction (stations.sending), then `record_result`
   marks the delivery delivered, or schedules the next try with a growing backoff
   (first within a minute) until RETRY_FOR has passed, then marks it failed.

State is only in the database: a restarted worker carries on where the last one stopped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, Q
from django.utils import timezone

from qrgate.prepared import PreparedQuery

from .models import (
    ALERT_EVENTS,
    DIGEST_EVENT,
    Delivery,
    DeliveryStatus,
    EventName,
    RETRY_FOR,
    OutboxEvent,
    Station,
    Webhook,
)

# Seconds to wait after the n-th failed attempt (the last value repeats until RETRY_FOR).
BACKOFF = (20, 60, 120, 300, 600, 1800, 3600)
LEASE = timedelta(minutes=2)  # a claimed delivery is due again if its worker dies
BATCH = 20


@dataclass(frozen=True)
class Event:
    """An event to emit: its name and its JSON payload (without `id`/`event`/`at`)."""

    name: str
    payload: dict


def alert_readers():
    """Users who can receive e-mail alerts: active and with an address."""
    return get_user_model().objects.filter(is_active=True).exclude(email="")


def listeners(name: str, station) -> Exists:
    """Whether anyone listens to `name` at `station`: a webhook, or a person for alerts.

    `station` may be an OuterRef: services fold this into the state query they already
    run, so that an event nobody listens to costs no statement at all.
    """
    hooks = Exists(Webhook.objects.listening(name, station))
    if name in ALERT_EVENTS:
        people = Exists(alert_readers().filter(Q(alert_events__icontains=f'"{name}"')))
        return hooks | people
    return hooks


def listened(station: Station, names: Iterable[str]) -> dict[str, bool]:
    """For services without a state query to fold into: which of `names` anyone listens to.

    One statement, however many names.
    """
    names = list(names)
    if not names:
        return {}
    row = _LISTENED.first((tuple(names),), fixed={"names": names}, station_pk=station.pk) or {}
    return {name: bool(row.get(f"l{i}")) for i, name in enumerate(names)}


# Asked on every refused scan without a driver: compiled once per list of names.
_LISTENED = PreparedQuery(
    lambda names, station_pk: Station.objects.filter(pk=station_pk).values(
        **{f"l{i}": listeners(name, station_pk) for i, name in enumerate(names)}
    ).order_by("pk")[:1]
)


def listening_anywhere(name: str) -> bool:
    """Whether anyone listens to `name` from no station (a manual check-out)."""
    if Webhook.objects.listening(name, None).exists():
        return True
    return name in ALERT_EVENTS and alert_readers().filter(alert_events__icontains=f'"{name}"').exists()


def emit(events: Iterable[Event], *, station: Station | None, at=None) -> list[OutboxEvent]:
    """Write `events` to the outbox in the caller's transaction: one INSERT for them all."""
    at = at or timezone.now()
    rows = [OutboxEvent(name=e.name, station=station, payload=e.payload, created_at=at) for e in events]
    if rows:
        OutboxEvent.objects.bulk_create(rows)
    return rows


def _locked(qs):
    # Two PostgreSQL workers skip each other's rows instead of waiting or sending twice;
    # SQLite has no row locks, but its IMMEDIATE transactions already serialize claimers.
    if connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True)
    return qs


def body(event: OutboxEvent) -> dict:
    """The JSON a webhook receives for `event`."""
    return {"event": event.name, "id": str(event.pk), "at": event.created_at.isoformat(), **event.payload}


def fan_out(*, limit: int = 100) -> int:
    """Create the deliveries of events not fanned out yet; returns how many events."""
    with transaction.atomic():
        events = list(_locked(OutboxEvent.objects.filter(dispatched_at__isnull=True).order_by("created_at"))[:limit])
        if not events:
            return 0
        hooks = list(Webhook.objects.filter(is_active=True))
        readers = list(alert_readers().exclude(alert_events=[]).only("pk", "alert_events", "alert_digest"))
        now = timezone.now()
        rows = []
        for event in events:
            if event.name != DIGEST_EVENT:
                rows += [
                    Delivery(event=event, webhook=hook, next_attempt_at=now, created_at=now)
                    for hook in hooks
                    if event.name in hook.events and hook.station_id in (None, event.station_id)
                ]
            recipients = event.payload.get("recipients") if event.name == DIGEST_EVENT else [
                user.pk for user in readers if event.name in user.alert_events and not user.alert_digest
            ]
            rows += [Delivery(event=event, recipient_id=pk, next_attempt_at=now, created_at=now)
                     for pk in recipients or []]
        # ignore_conflicts: a fan-out repeated after a crash adds nothing twice.
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
        OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(dispatched_at=now)
        return len(events)


def claim_due(*, limit: int = BATCH) -> list[Delivery]:
    """Deliveries due now, each leased to this worker for LEASE (one transaction)."""
    with transaction.atomic():
        now = timezone.now()
        due = list(
            _locked(
                Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
                .order_by("next_attempt_at")
            )[:limit]
        )
        if due:
            Delivery.objects.filter(pk__in=[d.pk for d in due]).update(next_attempt_at=now + LEASE)
    if not due:
        return []
    # The related rows are read after the claim so that the locked query stays one table.
    return list(
        Delivery.objects.select_related("event", "event__station", "webhook", "recipient")
        .filter(pk__in=[d.pk for d in due])
        .order_by("created_at")
    )


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt."""
    return timedelta(seconds=BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1])


def record_result(delivery: Delivery, *, error: str | None, give_up: bool = False) -> Delivery:
    """Mark one attempt: delivered, or failed with a retry scheduled (or given up)."""
    now = timezone.now()
    delivery.attempts += 1
    if error is None:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_at = now
        delivery.last_error = ""
    else:
        delivery.last_error = error[:1000]
        next_at = now + backoff(delivery.attempts)
        if give_up or next_at > delivery.give_up_at:
            delivery.status = DeliveryStatus.FAILED
        else:
            delivery.next_attempt_at = next_at
    Delivery.objects.filter(pk=delivery.pk).update(
        attempts=delivery.attempts,
        status=delivery.status,
        delivered_at=delivery.delivered_at,
        last_error=delivery.last_error,
        next_attempt_at=delivery.next_attempt_at,
    )
    return delivery


def send_again(deliveries) -> int:
    """Queue deliveries again now (the admin's action), whatever their state; a new day of retries."""
    now = timezone.now()
    return Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        status=DeliveryStatus.PENDING, next_attempt_at=now, give_up_at=now + RETRY_FOR, delivered_at=None
    )


def queue_digests(*, since, until, users=None) -> int:
    """One digest e-mail per digest reader with events in [since, until); returns how many."""
    readers = alert_readers().filter(alert_digest=True).exclude(alert_events=[])
    if users is not None:
        readers = readers.filter(pk__in=[u.pk for u in users])
    events = list(
        OutboxEvent.objects.filter(name__in=[str(n) for n in ALERT_EVENTS], created_at__gte=since,
                                   created_at__lt=until).order_by("created_at")
    )
    rows = []
    for user in readers:
        mine = [body(e) for e in events if e.name in user.alert_events]
        if mine:
            # Fanned out like any event, to the one recipient it names.
            rows.append(Event(DIGEST_EVENT, {"recipients": [user.pk], "events": mine,
                                             "since": since.isoformat(), "until": until.isoformat()}))
    emit(rows, station=None)
    return len(rows)


__all__ = [
    "Event", "EventName", "listeners", "listened", "listening_anywhere", "emit", "fan_out", "claim_due", "record_result",
    "send_again", "queue_digests", "body", "backoff",
]
