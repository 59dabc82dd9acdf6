"""The gate's write operations. Views, the admin, the API and commands all call these.

Every function is one transaction, locks the driver row it changes (PostgreSQL), and
relies on the database constraints as the last guard (SQLite, where select_for_update
does nothing but IMMEDIATE transactions serialize the writers).
"""

from __future__ import annotations

import copy
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Subquery, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from qrgate.prepared import PreparedQuery
from stations import outbox
from stations.models import EventName, Station, StationKind

from . import checks, events, photos
from .models import (
    Ban,
    DriverDocument,
    Direction,
    Driver,
    Movement,
    RefusedScan,
    RevokedBadge,
    ScanReason,
    Source,
    Visit,
    new_badge_code,
    normalize_badge_code,
)

log = logging.getLogger("qrgate.drivers")

NONCE_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
RAW_INPUT_MAX = 64
# A client's clock a little ahead of the server's is skew, not a lie: up to this much, the
# scan is taken as made now.
SCAN_CLOCK_SKEW = timedelta(minutes=5)

log = logging.getLogger(__name__)


class ScanError(ValueError):
    """A call the service refuses to carry out, with a machine-readable `code`.

    Codes (the API answers 409 for nonce_conflict, 403 for annul_forbidden, else 400):
    invalid_nonce, invalid_direction, direction_not_allowed, reason_required,
    nonce_conflict, not_inside, already_annulled, annul_forbidden, annul_too_late,
    annul_not_latest, invalid_until.
    """

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = str(message)
        self.code = code

    def __str__(self) -> str:
        return self.message


@dataclass
class ScanResult:
    accepted: bool
    reason: str
    direction: str | None = None
    driver: Driver | None = None
    movement: Movement | None = None
    refused: RefusedScan | None = None
    station: Station | None = None
    message: str = ""
    detail: str = ""
    replayed: bool = False
    visit: Visit | None = field(default=None, repr=False)

    @property
    def level(self) -> str:
        """How the screen shows it: entry (green), exit (blue), pass, warning (amber), refused (red)."""
        if not self.accepted:
            return "refused"
        if self.reason == ScanReason.DUPLICATE or (self.movement and self.movement.forced):
            return "warning"
        return {Direction.IN: "entry", Direction.OUT: "exit"}.get(self.direction, "pass")


def _clean_raw(raw) -> str:
    """What is kept of untrusted input: printable, no NUL (PostgreSQL refuses it), short."""
    text = raw if isinstance(raw, str) else repr(raw)
    text = "".join(ch for ch in text[: RAW_INPUT_MAX * 4] if unicodedata.category(ch)[0] != "C")
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text.strip()[:RAW_INPUT_MAX]


def _message(reason: str, *, driver=None, direction=None, detail="") -> str:
    name = driver.full_name if driver else ""
    if reason in (ScanReason.OK, ScanReason.DUPLICATE):
        text = {
            Direction.IN: _("Entry recorded: %(name)s"),
            Direction.OUT: _("Exit recorded: %(name)s"),
            Direction.PASS: _("Checkpoint pass recorded: %(name)s"),
        }[direction] % {"name": name}
        if reason == ScanReason.DUPLICATE:
            text = _("Already recorded a moment ago. %(text)s") % {"text": text}
        return text
    return {
        ScanReason.INVALID: _("This is not a QRGate badge."),
        ScanReason.UNKNOWN: _("Unknown badge: no driver has this code."),
        ScanReason.REVOKED: _("Revoked badge: %(name)s has a newer badge. Keep this one.")
        % {"name": name},
        ScanReason.BANNED: _("BANNED: %(name)s. Reason: %(detail)s") % {"name": name, "detail": detail},
        ScanReason.ALREADY_INSIDE: _("%(name)s is already inside; no exit was recorded.")
        % {"name": name},
        ScanReason.NOT_INSIDE: _("%(name)s is not inside; no entry was recorded.") % {"name": name},
        ScanReason.STATION_INACTIVE: _("This station is disabled."),
        ScanReason.FORBIDDEN: _("You are not allowed to force this movement."),
        ScanReason.DOCUMENT_MISSING: _("MISSING DOCUMENT: %(name)s has no %(detail)s on file. No entry was recorded.")
        % {"name": name, "detail": detail},
        ScanReason.DOCUMENT_EXPIRED: _("EXPIRED DOCUMENT: %(name)s, %(detail)s. No entry was recorded.")
        % {"name": name, "detail": detail},
        ScanReason.ROUTE_INCOMPLETE: _("ROUTE NOT FINISHED: %(name)s has not passed %(detail)s. No exit was recorded.")
        % {"name": name, "detail": detail},
        ScanReason.SEAL_MISMATCH: _("SEALS DO NOT MATCH: %(name)s, %(detail)s. No exit was recorded.")
        % {"name": name, "detail": detail},
    }[reason]


def _result_from_movement(movement: Movement, *, reason=ScanReason.OK, replayed=False) -> ScanResult:
    return ScanResult(
        accepted=True,
        reason=reason,
        direction=movement.direction,
        driver=movement.driver,
        movement=movement,
        station=movement.station,
        message=_message(reason, driver=movement.driver, direction=movement.direction),
        replayed=replayed,
        visit=movement.visit,
    )


def _result_from_refused(refused: RefusedScan, *, replayed=False, visit=None) -> ScanResult:
    return ScanResult(
        accepted=False,
        reason=refused.reason,
        direction=refused.direction or None,
        driver=refused.driver,
        refused=refused,
        station=refused.station,
        detail=refused.detail,
        message=_message(refused.reason, driver=refused.driver, detail=refused.detail),
        replayed=replayed,
        visit=visit,
    )


def _operator_id(operator) -> int | None:
    return getattr(operator, "pk", None)


def _refuse(reason, *, raw, station, operator, driver=None, direction=None, detail="",
            nonce=None, source=Source.SCAN, at=None, visit=None, listened=None) -> ScanResult:
    """Store a refused scan. Called inside record_scan's transaction: a nonce taken
    meanwhile raises IntegrityError, which record_scan answers with the first result.

    `listened`: the event names someone listens to (from the state query); None when the
    caller had no state query to fold the check into (one statement of its own then)."""
    refused = RefusedScan.objects.create(
        raw_input=_clean_raw(raw),
        reason=reason,
        detail=detail[:200],
        station=station,
        operator_id=_operator_id(operator),
        driver=driver,
        direction=direction or "",
        source=source,
        nonce=nonce,
        at=at or timezone.now(),
    )
    _emit(events.refused_events(refused), station=station, listened=listened)
    return _result_from_refused(refused, visit=visit)


# The events a scan may emit, and the state query's column telling whether anyone listens.
SCAN_EVENTS = {
    EventName.SCAN_ACCEPTED: "listen_accepted",
    EventName.SCAN_REFUSED: "listen_refused",
    EventName.BANNED_ATTEMPT: "listen_banned",
    EventName.FORCED_MOVEMENT: "listen_forced",
}


def _listener_annotations(station: Station) -> dict:
    return {column: outbox.listeners(name, station.pk) for name, column in SCAN_EVENTS.items()}


def _listened_from_state(state: dict) -> set:
    return {name for name, column in SCAN_EVENTS.items() if state.get(column)}


def _emit(found: list, *, station: Station | None, listened: set | None) -> None:
    """Write the events someone listens to into the outbox (in the caller's transaction)."""
    if not found:
        return
    if listened is None:
        if station is not None:
            flags = outbox.listened(station, {e.name for e in found})
        else:
            flags = {e.name: outbox.listening_anywhere(e.name) for e in found}
        listened = {name for name, on in flags.items() if on}
    wanted = [e for e in found if e.name in listened]
    if wanted:
        outbox.emit(wanted, station=station)


# --- nonces ---------------------------------------------------------------------------------


def _seen_nonce(nonce: str) -> tuple[int, str] | None:
    """(pk, "m" or "r") of the movement or refused scan recorded with this nonce, or None."""
    return _SEEN_NONCE.first(nonce=nonce)


# One round trip for the usual answer, "never seen": both unique nonce indexes at once.
_SEEN_NONCE = PreparedQuery(
    lambda nonce: Movement.objects.filter(nonce=nonce).order_by().values_list("pk", Value("m")).union(
        RefusedScan.objects.filter(nonce=nonce).order_by().values_list("pk", Value("r"))
    )[:1]
)


def _code_key(text: str) -> str:
    return normalize_badge_code(text) or text


def _replay_seen(pk: int, kind: str, *, code, station: Station, operator) -> ScanResult:
    """The first result of the scan recorded as (pk, kind), if the new call is the same scan.

    A nonce is bound to what it was used for: the same badge (normalized), station and
    operator. Anything else is someone else's nonce, and answering with its result would
    show another driver's name, photo and ban reason: ScanError nonce_conflict instead.
    """
    if kind == "m":
        first = Movement.objects.select_related("driver", "station", "visit").get(pk=pk)
        badge = normalize_badge_code(code)
        same_code = badge is not None and (
            badge == first.driver.badge_code
            # Reissued since: the old code is still the one the first scan read.
            or RevokedBadge.objects.filter(code=badge, driver_id=first.driver_id).exists()
        )
    else:
        first = RefusedScan.objects.select_related("driver", "station").get(pk=pk)
        same_code = _code_key(first.raw_input) == _code_key(_clean_raw(code))
    if not (same_code and first.station_id == station.pk and first.operator_id == _operator_id(operator)):
        raise ScanError(
            _("This scan's identifier (nonce) was already used for another scan. Nothing was recorded."),
            code="nonce_conflict",
        )
    if kind == "m":
        return _result_from_movement(first, replayed=True)
    return _result_from_refused(first, replayed=True)


def _replay(nonce: str, *, code, station: Station, operator) -> ScanResult | None:
    """The first result of a scan already recorded with this nonce, or None (see _replay_seen)."""
    seen = _seen_nonce(nonce)
    return _replay_seen(*seen, code=code, station=station, operator=operator) if seen else None


# --- time, direction, lock, state ----------------------------------------------------------


def _scan_time(scanned_at: datetime | None, now: datetime) -> tuple[datetime, bool]:
    """The time to record and whether the movement is late.

    A claimed time within SCAN_MAX_AGE_HOURS is believed (late when older than
    SCAN_LATE_AFTER_SECONDS). One older than that, or further ahead than the clock skew
    allows, is not: the scan is recorded at the server's time and marked late, so no
    booth can write a visit days in the past that nobody could undo.
    """
    if scanned_at is None:
        return now, False
    if timezone.is_naive(scanned_at):
        scanned_at = timezone.make_aware(scanned_at)
    if scanned_at > now + SCAN_CLOCK_SKEW or scanned_at < now - timedelta(hours=settings.SCAN_MAX_AGE_HOURS):
        log.warning("scan time %s not believed (server time %s): recorded now, marked late",
                    scanned_at.isoformat(), now.isoformat())
        return now, True
    if scanned_at >= now:
        return now, False
    return scanned_at, (now - scanned_at).total_seconds() > settings.SCAN_LATE_AFTER_SECONDS


def _wanted_direction(station: Station, visit: Visit | None, requested: str | None) -> str:
    fixed = {
        StationKind.ENTRY: Direction.IN,
        StationKind.EXIT: Direction.OUT,
        StationKind.CHECKPOINT: Direction.PASS,
    }.get(station.kind)
    if fixed:
        if requested and requested != fixed:
            raise ScanError(
                _("Station %(station)s only records %(direction)s.")
                % {"station": station.code, "direction": Direction(fixed).label},
                code="direction_not_allowed",
            )
        return fixed
    if requested == Direction.PASS:
        raise ScanError(_("A gate records entries and exits, not checkpoint passes."),
                        code="direction_not_allowed")
    return requested or (Direction.OUT if visit else Direction.IN)


def _lock_driver(**lookup) -> Driver | None:
    """The driver matching `lookup`, his row locked until the transaction ends, or None.

    The one way every write here serializes the operations on one driver: two stations
    scanning him at once, a ban during a scan, an undo. PostgreSQL waits on the row lock;
    SQLite does nothing with FOR UPDATE, but its IMMEDIATE transactions serialize writers.
    """
    return _LOCKED_DRIVER.first((tuple(lookup),), **lookup)


# The lock is taken on every scan: compiled once per lookup (qrgate/prepared.py).
_LOCKED_DRIVER = PreparedQuery(lambda **lookup: Driver.objects.select_for_update().filter(**lookup).order_by("pk")[:1])


def _state_query(*, driver_pk: int, station: Station, station_pk: int, default_route_id: int | None,
                 recent_from: datetime, recent_to: datetime, at: datetime, now: datetime, today,
                 nonce: str | None, route_given: bool):
    """The state query of _driver_state, as an ORM queryset (one row).

    Its SQL may depend only on the station's kind, whether a route was given, and which
    values are None (qrgate.prepared.PreparedQuery compiles it once per such shape): every
    other input is a parameter. `station` gives the kind only; its ids come as values.
    """
    driver_ref = OuterRef("pk")
    open_visit = Visit.objects.open().filter(driver=driver_ref)
    found = {
        # A double read: around the scan time, not the server's clock, so two reads queued
        # offline and sent later are still one.
        "recent_id": Subquery(
            Movement.objects.valid()
            .filter(driver=driver_ref, station=station_pk, at__gte=recent_from, at__lte=recent_to)
            .order_by("-at", "-id")
            .values("pk")[:1]
        ),
        "ban_reason": Subquery(
            Ban.objects.in_force(now).filter(driver=driver_ref).order_by("-banned_at").values("reason")[:1]
        ),
        # Whether this scan will be the driver's latest valid movement (a late one may not be).
        "newer_exists": Exists(Movement.objects.valid().filter(driver=driver_ref, at__gt=at)),
    }
    # The open visit, whole, so that an exit or a pass updates it without fetching it again.
    for name in VISIT_STATE_FIELDS:
        found[f"visit_{name}"] = Subquery(open_visit.values(name)[:1])
    if nonce:
        found["seen_movement_id"] = Subquery(Movement.objects.filter(nonce=nonce).values("pk")[:1])
        found["seen_refused_id"] = Subquery(RefusedScan.objects.filter(nonce=nonce).values("pk")[:1])
    # The plant's configured checks (drivers/checks.py), for a station of this kind.
    shaped = copy.copy(station)
    shaped.pk, shaped.default_route_id = station_pk, default_route_id
    found.update(checks.state_annotations(station=shaped, today=today, route=True if route_given else None))
    # Whether a webhook or a person listens to each event this scan may emit: no
    # statement of its own, so that an unheard scan costs nothing more.
    found.update({column: outbox.listeners(name, station_pk) for name, column in SCAN_EVENTS.items()})
    return Driver.objects.filter(pk=driver_pk).annotate(**found).values(*found)


_STATE = PreparedQuery(_state_query)


def _driver_state(driver: Driver, *, station: Station, at: datetime, now: datetime, nonce: str | None,
                  route, today, prepared: bool = True) -> dict:
    """All the state the scan rules need, in one query; run it after _lock_driver.

    It must be a statement of its own, after the lock: PostgreSQL evaluates a statement's
    subqueries in the snapshot taken before it waited for the lock, and would miss the
    entry the other station just made. A new rule adds its subquery to _state_query
    rather than a round trip of its own. `prepared=False` builds the query with the ORM
    every time (the tests compare both).
    """
    window = timedelta(seconds=settings.SCAN_DUPLICATE_WINDOW_SECONDS)
    values = dict(
        driver_pk=driver.pk, station_pk=station.pk, default_route_id=station.default_route_id,
        recent_from=at - window, recent_to=at + window, at=at, now=now, today=today, nonce=nonce or None,
    )
    shape = (station.kind, route is not None)
    if prepared:
        return _STATE.get(shape, fixed=dict(station=station, route_given=route is not None), **values)
    return _state_query(station=station, route_given=route is not None, **values).get()


VISIT_STATE_FIELDS = ("id", "entered_at", "entry_station_id", "last_station_id", "last_seen_at", "plate",
                      "route_id", "trailers", "seals")


def _visit_from_state(state: dict, driver: Driver) -> Visit | None:
    if state["visit_id"] is None:
        return None
    return Visit(driver=driver, left_at=None,
                 **{name: state[f"visit_{name}"] for name in VISIT_STATE_FIELDS})


# --- record_scan ---------------------------------------------------------------------------


def record_scan(
    *,
    code,
    station: Station,
    operator,
    nonce: str | None = None,
    direction: str | None = None,
    force: bool = False,
    note: str = "",
    source: str = Source.SCAN,
    scanned_at: datetime | None = None,
    route: str | None = None,
    vehicle: dict | None = None,
    seals: list[str] | None = None,
) -> ScanResult:
    """Record one scan of `code` at `station` by `operator`, following every gate rule.

    `code` is untrusted text: anything that is not a badge code is refused as `invalid`,
    never raised. Returns a ScanResult whose `reason` is a ScanReason; accepted scans
    write a Movement and update the driver's Visit in one transaction, refused ones a
    RefusedScan. A `nonce` seen before returns the first result (`replayed`) when the
    badge, station and operator are the same. Raises ScanError (with its `code`) for a
    call that cannot be carried out: a malformed nonce or direction, a force without a
    reason, a nonce already used for another scan (`nonce_conflict`); nothing is written.

    The plant's checks (drivers/checks.py): an entry may name a `route` (an active
    route's code; else the station's default route, if active) and carry a `vehicle`
    ({"plate", "trailers", "seals"}); an exit gives the `seals` it sees. After the ban and
    anti-passback, an entry is refused for a missing (`document_missing`), then an
    expired document (`document_expired`); an exit for an unfinished route
    (`route_incomplete`), then seals that differ at a station that checks them
    (`seal_mismatch`); all forceable. An unknown or inactive route (`unknown_route`), or
    a malformed vehicle or seal list (`invalid_vehicle`, `invalid_seals`) is a ScanError.
    """
    if nonce is not None and (not isinstance(nonce, str) or not NONCE_RE.fullmatch(nonce)):
        raise ScanError(_("The nonce must be 1 to 64 letters, digits or -_.:"), code="invalid_nonce")
    if direction is not None and direction not in Direction.values:
        raise ScanError(_("Unknown direction: use in, out or pass."), code="invalid_direction")
    note = (note or "").strip() if isinstance(note, str) else ""
    if force and not note:
        raise ScanError(_("A forced movement needs a reason."), code="reason_required")
    try:
        route = checks.resolve_route(route)
        vehicle = checks.parse_vehicle(vehicle)
        seals = checks.parse_seals(seals)
    except checks.CheckInputError as exc:
        raise ScanError(str(exc), code=exc.code) from None

    now = timezone.now()
    at, is_late = _scan_time(scanned_at, now)
    scan = dict(code=code, station=station, operator=operator, nonce=nonce, direction=direction,
                force=force, note=note, source=source, now=now, at=at, is_late=is_late,
                claimed=scanned_at is not None, route=route, vehicle=vehicle, seals=seals)
    try:
        # One short transaction: on SQLite the IMMEDIATE BEGIN takes the single write lock,
        # so everything in it is kept to the lock, one state query and the writes.
        with transaction.atomic():
            return _record(**scan)
    except IntegrityError:
        # A concurrent request with the same nonce committed first (the unique index made
        # us wait for it): answer with its result, under the same binding as any replay.
        # The savepoint of the whole scan is gone, so this reads outside it.
        if nonce and (previous := _replay(nonce, code=code, station=station, operator=operator)):
            return previous
        raise


def _record(*, code, station, operator, nonce, direction, force, note, source, now, at, is_late, claimed,
            route, vehicle, seals) -> ScanResult:
    refuse = dict(raw=code, station=station, operator=operator, nonce=nonce, source=source, at=at)
    # A muster point (the roll call's) is no gate: refused like a disabled station.
    badge = normalize_badge_code(code) if station.records_scans else None
    driver = _lock_driver(badge_code=badge) if badge else None
    if driver is None:
        # No driver to decide on: a replay, else one refusal (these paths are not the booth's
        # steady state, so the nonce gets a query of its own).
        if nonce and (previous := _replay(nonce, code=code, station=station, operator=operator)):
            return previous
        if not station.records_scans:
            return _refuse(ScanReason.STATION_INACTIVE, **refuse)
        if badge is None:
            return _refuse(ScanReason.INVALID, **refuse)
        revoked = RevokedBadge.objects.select_related("driver").filter(code=badge).first()
        if revoked:
            return _refuse(ScanReason.REVOKED, driver=revoked.driver, **refuse)
        return _refuse(ScanReason.UNKNOWN, **refuse)

    if not claimed:
        # A scan without a claimed time happens when its driver's turn comes: one that
        # waited for his lock (another station scanning him, on this or another app
        # server) is recorded after that scan in time too, as it was in effect.
        now = at = refuse["at"] = timezone.now()
    today = timezone.localdate(now)
    state = _driver_state(driver, station=station, at=at, now=now, nonce=nonce, route=route, today=today)
    if not claimed and state["newer_exists"]:
        # The driver's latest movement is later than our clock: another app server's clock
        # runs ahead. Keep the order the lock decided, a microsecond after it.
        at = refuse["at"] = _latest_at(driver) + timedelta(microseconds=1)
        state["newer_exists"] = False
    if nonce and (state["seen_movement_id"] or state["seen_refused_id"]):
        seen = (state["seen_movement_id"], "m") if state["seen_movement_id"] else (state["seen_refused_id"], "r")
        return _replay_seen(*seen, code=code, station=station, operator=operator)

    if state["recent_id"] and not force:
        recent = Movement.objects.select_related("driver", "station", "visit").get(pk=state["recent_id"])
        return _result_from_movement(recent, reason=ScanReason.DUPLICATE)

    visit = _visit_from_state(state, driver)
    refuse["listened"] = listened = _listened_from_state(state)
    if state["ban_reason"] is not None:
        return _refuse(ScanReason.BANNED, driver=driver, detail=state["ban_reason"], visit=visit, **refuse)

    wanted = _wanted_direction(station, visit, direction)
    blocked = (wanted == Direction.IN and visit is not None and ScanReason.ALREADY_INSIDE) or (
        wanted in (Direction.OUT, Direction.PASS) and visit is None and ScanReason.NOT_INSIDE
    )
    detail = ""
    if not blocked and wanted == Direction.IN:
        blocked, detail = checks.entry_refusal(state, driver=driver, today=today) or (None, "")
    elif not blocked and wanted == Direction.OUT:
        blocked, detail = checks.exit_refusal(state, visit=visit, station=station, seals=seals) or (None, "")
    if blocked and not force:
        return _refuse(blocked, driver=driver, direction=wanted, visit=visit, detail=detail, **refuse)
    if force and not (operator and operator.has_perm("drivers.force_movement")):
        return _refuse(ScanReason.FORBIDDEN, driver=driver, direction=wanted, visit=visit, **refuse)

    movement = Movement(
        driver=driver,
        station=station,
        direction=wanted,
        at=at,
        is_late=is_late,
        operator_id=_operator_id(operator),
        source=source,
        forced=bool(force),
        force_reason=note if force else "",
        nonce=nonce,
        plate=driver.plate,
    )
    if wanted == Direction.IN:
        route_id = route.pk if route else state.get("default_route_id")
        movement.visit = _move(driver, station, wanted, visit, at, route_id=route_id, vehicle=vehicle)
    else:
        movement.visit = _move(driver, station, wanted, visit, at, exit_seals=seals)
    if movement.visit is not None:
        movement.plate = movement.visit.plate  # the vehicle of this visit, else his usual one
    movement.save()
    _emit(events.accepted_events(movement), station=station, listened=listened)
    # Known under the driver's lock, so can_annul needs no query for it.
    movement.is_latest = not state["newer_exists"]
    return _result_from_movement(movement)


def _latest_at(driver: Driver) -> datetime:
    return Movement.objects.valid().filter(driver=driver).order_by("-at").values_list("at", flat=True)[0]


def _move(driver: Driver, station: Station | None, direction: str, visit: Visit | None, at, *,
          route_id=None, vehicle: checks.Vehicle | None = None, exit_seals=None) -> Visit | None:
    """Update presence for an accepted movement; returns the visit it belongs to."""
    if direction == Direction.IN:
        if visit is not None:  # forced entry over an open visit: close it where it stood
            visit.left_at = max(at, visit.entered_at)
            visit.save(update_fields=["left_at"])
        return Visit.objects.create(
            driver=driver,
            entered_at=at,
            entry_station=station,
            last_station=station,
            last_seen_at=at,
            plate=vehicle.plate if vehicle and vehicle.plate is not None else driver.plate,
            trailers=(vehicle.trailers if vehicle else None) or [],
            seals=(vehicle.seals if vehicle else None) or [],
            route_id=route_id,
        )
    if visit is None:  # forced exit or pass of a driver the system thought outside
        return None
    fields = ["last_station", "last_seen_at"]
    if direction == Direction.OUT:
        visit.left_at = max(at, visit.entered_at)
        visit.exit_station = station
        fields += ["left_at", "exit_station"]
        if exit_seals is not None:
            visit.exit_seals = exit_seals
            fields.append("exit_seals")
    visit.last_station = station or visit.last_station
    visit.last_seen_at = max(at, visit.last_seen_at)
    visit.save(update_fields=fields)
    return visit


# --- manual check-out and undo --------------------------------------------------------------


@transaction.atomic
def check_out(*, driver: Driver, by, reason: str) -> Movement:
    """Check a driver out by hand (no station): a forced, manual exit with its reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ScanError(_("A manual check-out needs a reason."), code="reason_required")
    driver = _lock_driver(pk=driver.pk)
    visit = Visit.objects.open().filter(driver=driver).first()
    if visit is None:
        raise ScanError(_("%(name)s is not inside.") % {"name": driver.full_name}, code="not_inside")
    now = timezone.now()
    movement = Movement.objects.create(
        driver=driver,
        station=None,
        direction=Direction.OUT,
        at=now,
        operator=by,
        source=Source.MANUAL,
        forced=True,
        force_reason=reason,
        visit=_move(driver, None, Direction.OUT, visit, now),
        plate=driver.plate,
    )
    _emit(events.accepted_events(movement), station=None, listened=None)
    return movement


def _annul_refusal(movement: Movement, by, now: datetime) -> ScanError | None:
    """Why `by` may not undo `movement` now, or None: the rules of can_annul."""
    if movement.annulled_at:
        return ScanError(_("This movement is already annulled."), code="already_annulled")
    if by is None or not by.has_perm("drivers.annul_movement"):
        return ScanError(_("You are not allowed to undo scans."), code="annul_forbidden")
    own = (movement.operator_id == by.pk and not movement.forced and movement.source != Source.MANUAL)
    if not own and not by.has_perm("drivers.force_movement"):
        return ScanError(
            _("Only a supervisor can undo a movement recorded by someone else, forced or manual."),
            code="annul_forbidden",
        )
    # From when it was recorded, not the claimed scan time: a late upload is still undoable
    # for the window, and a claim of long ago does not escape it.
    if movement.recorded_at < now - timedelta(minutes=settings.SCAN_ANNUL_WINDOW_MINUTES):
        return ScanError(_("Too late to annul this movement."), code="annul_too_late")
    latest = getattr(movement, "is_latest", None)
    if latest is None:
        newest = (Movement.objects.valid().filter(driver_id=movement.driver_id)
                  .order_by("-at", "-id").values_list("pk", flat=True).first())
        latest = newest == movement.pk
    if not latest:
        return ScanError(_("Only the driver's latest movement can be annulled."), code="annul_not_latest")
    return None


def can_annul(*, movement: Movement, by, now: datetime | None = None) -> bool:
    """Whether `by` may undo `movement` now: the one place that decides (the API, the scan
    screen's Undo buttons and annul_movement all ask it).

    The driver's latest valid movement, within SCAN_ANNUL_WINDOW_MINUTES of when it was
    recorded; a user without drivers.force_movement only a movement he recorded himself,
    neither forced nor manual. A movement carrying `is_latest` (set by record_scan, or
    annotated by Movement.objects.with_is_latest()) is not queried again: like any read,
    the answer is as of when the movement was read; annul_movement decides again under
    the driver's lock.
    """
    return _annul_refusal(movement, by, now or timezone.now()) is None


@transaction.atomic
def annul_movement(*, movement: Movement, by, reason: str) -> Movement:
    """Annul a mistaken movement (kept, marked with who and why) and restore presence.

    Refused with a ScanError (codes already_annulled, annul_forbidden, annul_too_late,
    annul_not_latest, reason_required) exactly when can_annul says no.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ScanError(_("Say why the scan is annulled."), code="reason_required")
    _lock_driver(pk=movement.driver_id)
    movement = Movement.objects.select_related("visit").get(pk=movement.pk)
    now = timezone.now()
    if (refusal := _annul_refusal(movement, by, now)) is not None:
        raise refusal
    visit = movement.visit
    if visit is not None:
        if movement.direction == Direction.IN:
            movement.visit = None
            movement.save(update_fields=["visit"])
            Movement.objects.filter(visit=visit).update(visit=None)
            visit.delete()
        else:
            if movement.direction == Direction.OUT:
                visit.left_at = None
                visit.exit_station = None
            previous = (
                Movement.objects.valid()
                .filter(visit=visit)
                .exclude(pk=movement.pk)
                .order_by("-at", "-id")
                .first()
            )
            visit.last_station = previous.station if previous else visit.entry_station
            visit.last_seen_at = previous.at if previous else visit.entered_at
            visit.save()
    movement.annulled_at = now
    movement.annulled_by = by
    movement.annul_reason = reason
    movement.save(update_fields=["annulled_at", "annulled_by", "annul_reason"])
    return movement


@transaction.atomic
def ban(*, driver: Driver, reason: str, by, until: datetime | None = None) -> Ban:
    """Ban a driver from now on (until `until`, if given). A ban in force is replaced."""
    reason = (reason or "").strip()
    if not reason:
        raise ScanError(_("A ban needs a reason."), code="reason_required")
    now = timezone.now()
    if until is not None and until <= now:
        raise ScanError(_("The end of the ban must be in the future."), code="invalid_until")
    _lock_driver(pk=driver.pk)
    # Close the previous open ban (in force or expired) so history keeps one row per ban.
    Ban.objects.filter(driver=driver, lifted_at__isnull=True).update(lifted_at=now, lifted_by=by)
    return Ban.objects.create(driver=driver, reason=reason, banned_at=now, banned_by=by, until=until)


@transaction.atomic
def unban(*, driver: Driver, by) -> Ban | None:
    """Lift the driver's ban in force; returns it, or None when he was not banned."""
    _lock_driver(pk=driver.pk)
    current = Ban.objects.in_force().filter(driver=driver).first()
    Ban.objects.filter(driver=driver, lifted_at__isnull=True).update(
        lifted_at=timezone.now(), lifted_by=by
    )
    if current:
        current.refresh_from_db()
    return current


@transaction.atomic
def reissue_badge(*, driver: Driver, by, reason: str = "") -> str:
    """Give the driver a new badge code; the old one is revoked at once (kept with who, when
    and why, so that its scans say "revoked"). Returns the new code."""
    driver = _lock_driver(pk=driver.pk)
    RevokedBadge.objects.create(
        code=driver.badge_code,
        driver=driver,
        issued_at=driver.badge_issued_at,
        revoked_by=by,
        reason=(reason or "").strip()[:200],
    )
    driver.badge_code = new_badge_code()
    driver.badge_issued_at = timezone.now()
    driver.save(update_fields=["badge_code", "badge_issued_at", "updated_at"])
    return driver.badge_code


# The guard types the trailers and seals just after the entry; later changes are not his.
VEHICLE_EDIT_MINUTES = 15


@transaction.atomic
def set_visit_vehicle(*, visit: Visit, by, vehicle: dict) -> Visit:
    """Add or correct the vehicle of an open visit ({"plate", "trailers", "seals"}; a key
    left out keeps its value) within VEHICLE_EDIT_MINUTES of its entry. ScanError codes:
    invalid_vehicle, visit_closed, vehicle_too_late."""
    try:
        data = checks.parse_vehicle(vehicle)
    except checks.CheckInputError as exc:
        raise ScanError(str(exc), code=exc.code) from None
    if data is None:
        raise ScanError(_("The vehicle must be an object with plate, trailers and seals."), code="invalid_vehicle")
    _lock_driver(pk=visit.driver_id)
    visit = Visit.objects.get(pk=visit.pk)
    if visit.left_at is not None:
        raise ScanError(_("This visit is over: its vehicle can no longer be changed."), code="visit_closed")
    if visit.entered_at < timezone.now() - timedelta(minutes=VEHICLE_EDIT_MINUTES):
        raise ScanError(
            _("The vehicle can be added only within %(minutes)d minutes of the entry.")
            % {"minutes": VEHICLE_EDIT_MINUTES},
            code="vehicle_too_late",
        )
    if data.plate is not None:
        visit.plate = data.plate
    if data.trailers is not None:
        visit.trailers = data.trailers
    if data.seals is not None:
        visit.seals = data.seals
    visit.save(update_fields=["plate", "trailers", "seals"])
    return visit



# --- drivers: registration, edits and photo -------------------------------------------
# The one write path for a driver's data: the registration page, the admin, the import
# and the commands call these, and the rules are the model's (Driver.full_clean), so every
# way in gives the same Spanish messages.

# What update_driver may change; the badge has its own service (reissue_badge).
DRIVER_FIELDS = ("full_name", "license_number", "company", "phone", "plate", "notes", "user")
_KEEP = object()  # update_driver: the photo is not part of this change


def _person(user):
    return user if getattr(user, "pk", None) else None


def _prepare_photo(photo, errors: dict) -> photos.ProcessedPhoto | None:
    """`photo` processed by photos.process, or None with its message put in `errors`."""
    try:
        return photos.prepare(photo)
    except ValidationError as error:
        errors["photo"] = error.error_list
        return None


def _full_clean(driver: Driver, *, exclude=()) -> None:
    # Driver.full_clean minus two kinds of query per driver (a third of a 10 000-row
    # import's time): the non-empty check constraints, which the field validators refuse
    # first with a better message, and the look-up of the random 128-bit badge code. The
    # database keeps both constraints as the last guard.
    driver.full_clean(exclude=["badge_code", "created_by", *exclude], validate_constraints=False)


def _save_with_photo(driver: Driver, processed: photos.ProcessedPhoto | None, *, remove: bool = False,
                     update_fields: list[str] | None = None) -> None:
    """Save `driver` with a new photo (`processed`), without his photo (`remove`), or as
    is; the replaced files are deleted once the transaction commits, the new ones at once
    if the save fails."""
    old = [name for name in (driver.photo.name, driver.photo_thumb.name) if name] if processed or remove else []
    new = photos.store(driver, processed) if processed else []
    if remove:
        driver.photo = driver.photo_thumb = ""
    try:
        driver.save(update_fields=update_fields)
    except Exception:
        photos.delete_files(new)
        raise
    if old:
        transaction.on_commit(lambda: photos.delete_files(old))


@transaction.atomic
def register_driver(
    *,
    by,
    full_name: str,
    license_number: str,
    company: str,
    phone: str = "",
    plate: str = "",
    notes: str = "",
    photo: photos.ProcessedPhoto | bytes | File | None = None,
    user=None,
) -> Driver:
    """Register a new driver, with a new badge; returns him saved.

    Every field is normalized and checked by the model's rules (`Driver.full_clean`): the
    same rules and messages whichever screen, file or command the data comes from; a taken
    licence names the driver who has it. `photo` is processed as `set_photo` does. `by` is
    who registers him (stored as created_by; None for a command), `user` his own account.
    Raises django's ValidationError with the messages per field (full_name,
    license_number, company, phone, plate, notes, photo, user) and writes nothing.
    """
    driver = Driver(
        full_name=full_name,
        license_number=license_number,
        company=company,
        phone=phone,
        plate=plate,
        notes=notes,
        user=user,
        created_by=_person(by),
    )
    errors: dict = {}
    processed = _prepare_photo(photo, errors) if photo is not None else None
    try:
        _full_clean(driver)
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)
    _save_with_photo(driver, processed)
    log.debug("driver %s (%s) registered by %s", driver.pk, driver.license_number, _person(by))
    return driver


def _first_code(error: ValidationError) -> str:
    groups = error.error_dict.values() if hasattr(error, "error_dict") else [error.error_list]
    return next((e.code for errors in groups for e in errors if e.code), "invalid")


@transaction.atomic
def register_drivers(*, by, drivers: list[dict]) -> list[Driver]:
    """Register many drivers in one transaction, all or none: the import's new rows.

    Each item holds register_driver's fields but the photo, and meets the same rules:
    the model's rules and normalizing (`Driver.check_rules`) for each, then every licence
    against the stored ones and the others in one query per 500, so that a 10 000-row
    file takes seconds (register_driver's queries per driver would take minutes and hold
    SQLite's write lock all along). Raises django's ValidationError with one message per
    refusal, naming the licence, each with its code (the field rule's, or `unique` for a
    taken licence), and writes nothing. Returns the drivers, saved.
    """
    new = [Driver(**fields, created_by=_person(by)) for fields in drivers]
    problems: list[str] = []
    for driver in new:
        try:
            driver.check_rules()
        except ValidationError as error:
            problems.append(ValidationError(f"{driver.license_number}: {' '.join(error.messages)}",
                                            code=_first_code(error)))
    holders = {}
    licences = [d.license_number for d in new]
    for start in range(0, len(licences), 500):  # under SQLite's bound-parameter limit
        for holder in Driver.objects.filter(license_number__in=licences[start : start + 500]).only(
            "license_number", "full_name", "company"
        ):
            holders[holder.license_number] = holder
    for driver in new:
        holder = holders.setdefault(driver.license_number, driver)
        if holder is not driver:
            problems.append(ValidationError(
                _("Licence %(license)s is already registered to %(name)s (%(company)s).")
                % {"license": driver.license_number, "name": holder.full_name, "company": holder.company},
                code="unique",
            ))
    if problems:
        raise ValidationError(problems)
    return Driver.objects.bulk_create(new, batch_size=500)


@transaction.atomic
def update_driver(*, driver: Driver, by, **fields) -> Driver:
    """Change some of a driver's fields; returns `driver` itself, saved.

    `fields` are among DRIVER_FIELDS (anything else is a TypeError), plus `photo`, which
    goes through `set_photo` in the same transaction (None removes it). The given fields
    are normalized and checked by the model's rules as `register_driver` does, and only
    they are written (with updated_at), so a concurrent change of another field stays.
    The driver's row is locked for the change. `by` is who changes him (logged). Raises
    django's ValidationError with the messages per field and writes nothing.
    """
    photo = fields.pop("photo", _KEEP)
    unknown = set(fields) - set(DRIVER_FIELDS)
    if unknown:
        raise TypeError(f"update_driver() cannot change {', '.join(sorted(unknown))}")
    Driver.objects.select_for_update().filter(pk=driver.pk).exists()
    for name, value in fields.items():
        setattr(driver, name, value)
    errors: dict = {}
    processed = _prepare_photo(photo, errors) if photo is not _KEEP and photo is not None else None
    try:
        # Only the fields being changed: an old record's other fields do not block an edit.
        _full_clean(driver, exclude=[f.name for f in Driver._meta.fields if f.name not in fields])
    except ValidationError as error:
        errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)
    if fields:
        driver.save(update_fields=[*fields, "updated_at"])
        log.debug("driver %s: %s changed by %s", driver.pk, ", ".join(sorted(fields)), _person(by))
    if photo is not _KEEP:
        set_photo(driver=driver, by=by, photo=processed)
    return driver


@transaction.atomic
def set_photo(*, driver: Driver, by, photo: photos.ProcessedPhoto | bytes | File | None) -> Driver:
    """Give the driver a new photo, or none when `photo` is None; returns `driver`, saved.

    `photo` is image bytes, an uploaded file, or a `photos.ProcessedPhoto`: decoded and
    checked by `photos.process` (real image, size limit), its EXIF rotation applied,
    cropped to the badge's portrait and stored as JPEG with the thumbnail the booth and the
    scan screen show. The files get new names, so every screen's photo URL changes and
    none keeps showing the old face. The replaced files are deleted once the transaction
    commits. Raises django's ValidationError({"photo": ...}) and changes nothing when it
    is not a usable photo. `by` is who sets it (logged).
    """
    errors: dict = {}
    processed = _prepare_photo(photo, errors) if photo is not None else None
    if errors:
        raise ValidationError(errors)
    # The stored names, read under the lock: those are the files this change replaces.
    stored = Driver.objects.select_for_update().filter(pk=driver.pk).values("photo", "photo_thumb").get()
    driver.photo, driver.photo_thumb = stored["photo"], stored["photo_thumb"]
    _save_with_photo(driver, processed, remove=processed is None,
                     update_fields=["photo", "photo_thumb", "updated_at"])
    log.debug("driver %s: photo %s by %s", driver.pk, "set" if processed else "removed", _person(by))
    return driver


@transaction.atomic
def add_documents(*, driver: Driver, by, documents: list[dict]) -> list[DriverDocument]:
    """Add documents to a driver ({"doc_type", "number", "expires_on"} each), checked by
    the model's rules; all or none. A renewal is a new document: the latest date counts."""
    created = []
    for values in documents:
        document = DriverDocument(driver=driver, **values)
        document.full_clean()
        document.save()
        created.append(document)
    return created
