"""What the gate tells webhooks and people: the events of a scan, of a document.

Built from the objects a service already holds (no query), written to the outbox by the
service in its own transaction (stations.outbox.emit). The payload is the webhook's JSON
without its envelope ("event", "id", "at"): {"station", "driver", "direction", "reason",
"movement_id"}, plus "detail" (a ban's or a forced movement's reason) and, for a document,
"document".
"""

from __future__ import annotations

from datetime import date

from stations.models import EventName, Station
from stations.outbox import Event

from .models import Driver, DriverDocument, ScanReason


def driver_json(driver: Driver | None) -> dict | None:
    if driver is None:
        return None
    return {"id": driver.pk, "name": driver.full_name, "company": driver.company, "plate": driver.plate}


def station_json(station: Station | None) -> dict | None:
    return {"code": station.code, "name": station.name} if station else None


def scan_payload(*, station, driver, direction, reason, movement_id=None, detail="") -> dict:
    return {
        "station": station_json(station),
        "driver": driver_json(driver),
        "direction": direction or None,
        "reason": str(reason),
        "movement_id": movement_id,
        "detail": detail or "",
    }


def accepted_events(movement) -> list[Event]:
    """scan.accepted, and movement.forced when it was forced."""
    payload = scan_payload(station=movement.station, driver=movement.driver, direction=movement.direction,
                           reason=ScanReason.OK, movement_id=movement.pk, detail=movement.force_reason)
    events = [Event(EventName.SCAN_ACCEPTED, payload)] if movement.station_id else []
    if movement.forced:
        events.append(Event(EventName.FORCED_MOVEMENT, payload))
    return events


def refused_events(refused) -> list[Event]:
    """scan.refused with its reason, and driver.banned_attempt for a banned driver."""
    payload = scan_payload(station=refused.station, driver=refused.driver, direction=refused.direction,
                           reason=refused.reason, detail=refused.detail)
    events = [Event(EventName.SCAN_REFUSED, payload)]
    if refused.reason == ScanReason.BANNED:
        events.append(Event(EventName.BANNED_ATTEMPT, payload))
    return events


def document_expiring_event(document: DriverDocument, *, today: date) -> Event:
    expires = document.expires_on
    return Event(EventName.DOCUMENT_EXPIRING, {
        "station": None,
        "driver": driver_json(document.driver),
        "direction": None,
        "reason": "document_expiring",
        "movement_id": None,
        "detail": f"{document.doc_type.name} {document.number} → {expires.isoformat()}".replace("  ", " "),
        "document": {"id": document.pk, "type": document.doc_type.code, "number": document.number,
                     "expires_on": expires.isoformat(), "days_left": (expires - today).days},
    })
