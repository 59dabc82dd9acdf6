"""The gate's write operations. Views, the admin, the API and commands all call these.

Every function is one transaction, locks the driver row it changes (PostgreSQL), and
relies on the database constraints as the last guard (SQLite, where select_for_update
does nothing but IMMEDIATE transactions serialize the writers).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from stations.models import Station, StationKind

from .models import (
    Ban,
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

NONCE_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
RAW_INPUT_MAX = 64


class ScanError(ValueError):
    """A malformed call (bad nonce, bad direction, force without a reason): a 400."""


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


def _result_from_refused(refused: RefusedScan, *, replayed=False) -> ScanResult:
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
    )


def _refuse(reason, *, raw, station, operator, driver=None, direction=None, detail="",
            nonce=None, source=Source.SCAN, at=None) -> ScanResult:
    try:
        with transaction.atomic():  # a short write transaction of its own (or a savepoint)
            refused = RefusedScan.objects.create(
                raw_input=_clean_raw(raw),
                reason=reason,
                detail=detail[:200],
                station=station,
                operator=operator if getattr(operator, "pk", None) else None,
                driver=driver,
                direction=direction or "",
                source=source,
                nonce=nonce,
                at=at or timezone.now(),
            )
    except IntegrityError:
        # A concurrent retry with the same nonce was recorded first: answer with its result.
        if nonce and (previous := _replay(nonce)):
            return previous
        raise
    return _result_from_refused(refused)


def _replay(nonce: str) -> ScanResult | None:
    """The first result of a scan already recorded with this nonce, or None."""
    # One round trip for the usual answer, "never seen": both unique nonce indexes at once.
    both = Movement.objects.filter(nonce=nonce).order_by().values_list("pk", Value("m")).union(
        RefusedScan.objects.filter(nonce=nonce).order_by().values_list("pk", Value("r"))
    )
    seen = next(iter(both[:1]), None)
    if seen is None:
        return None
    pk, kind = seen
    if kind == "m":
        movement = Movement.objects.select_related("driver", "station", "visit").get(pk=pk)
        return _result_from_movement(movement, replayed=True)
    refused = RefusedScan.objects.select_related("driver", "station").get(pk=pk)
    return _result_from_refused(refused, replayed=True)


def _scan_time(scanned_at: datetime | None, now: datetime) -> tuple[datetime, bool]:
    """The time to record: the client's scan time within sane bounds, and whether it is late."""
    if scanned_at is None:
        return now, False
    if timezone.is_naive(scanned_at):
        scanned_at = timezone.make_aware(scanned_at)
    if scanned_at > now or scanned_at < now - timedelta(hours=settings.SCAN_MAX_AGE_HOURS):
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
                % {"station": station.code, "direction": Direction(fixed).label}
            )
        return fixed
    if requested == Direction.PASS:
        raise ScanError(_("A gate records entries and exits, not checkpoint passes."))
    return requested or (Direction.OUT if visit else Direction.IN)


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
) -> ScanResult:
    """Record one scan of `code` at `station` by `operator`, following every gate rule.

    `code` is untrusted text: anything that is not a badge code is refused as `invalid`,
    never raised. Returns a ScanResult whose `reason` is a ScanReason; accepted scans
    write a Movement and update the driver's Visit in one transaction, refused ones a
    RefusedScan. Raises ScanError only for a malformed call (bad nonce or direction,
    force without a reason), which the API answers with a 400.
    """
    if nonce is not None and (not isinstance(nonce, str) or not NONCE_RE.fullmatch(nonce)):
        raise ScanError(_("The nonce must be 1 to 64 letters, digits or -_.:"))
    if direction is not None and direction not in Direction.values:
        raise ScanError(_("Unknown direction: use in, out or pass."))
    note = (note or "").strip() if isinstance(note, str) else ""
    if force and not note:
        raise ScanError(_("A forced movement needs a reason."))

    if nonce and (previous := _replay(nonce)):
        return previous

    now = timezone.now()
    at, is_late = _scan_time(scanned_at, now)
    refuse = dict(raw=code, station=station, operator=operator, nonce=nonce, source=source, at=at)

    if not station.is_active:
        return _refuse(ScanReason.STATION_INACTIVE, **refuse)
    badge = normalize_badge_code(code)
    if badge is None:
        return _refuse(ScanReason.INVALID, **refuse)

    driver = Driver.objects.filter(badge_code=badge).first()
    if driver is None:
        revoked = RevokedBadge.objects.select_related("driver").filter(code=badge).first()
        if revoked:
            return _refuse(ScanReason.REVOKED, driver=revoked.driver, **refuse)
        return _refuse(ScanReason.UNKNOWN, **refuse)
    # Everything above only read; the rest decides on the driver's state and writes it, in
    # one short transaction so that SQLite's single writer lock is held as briefly as can be.
    with transaction.atomic():
        return _record(driver, badge, station=station, operator=operator, nonce=nonce,
                       direction=direction, force=force, note=note, source=source,
                       now=now, at=at, is_late=is_late, refuse=refuse)


def _record(driver, badge, *, station, operator, nonce, direction, force, note, source,
            now, at, is_late, refuse) -> ScanResult:
    # The driver row is the lock that serializes two stations scanning him at once on
    # PostgreSQL (SQLite's IMMEDIATE transaction serializes every writer). The badge is
    # checked again under it: a reissue may have revoked this code since it was looked up.
    if not Driver.objects.select_for_update().filter(pk=driver.pk, badge_code=badge).exists():
        return _refuse(ScanReason.REVOKED, driver=driver, **refuse)

    window = timedelta(seconds=settings.SCAN_DUPLICATE_WINDOW_SECONDS)
    driver_ref = OuterRef("pk")
    # Then one query reads all the state the rules need. It must be a statement of its own,
    # after the lock: PostgreSQL evaluates a statement's subqueries in the snapshot taken
    # before it waited for the lock, and would miss the entry the other station just made.
    state = (
        Driver.objects.filter(pk=driver.pk)
        .annotate(
            # A double read: around the scan time, not the server's clock, so two reads
            # queued offline and sent later are still one.
            recent_id=Subquery(
                Movement.objects.valid()
                .filter(driver=driver_ref, station=station, at__gte=at - window, at__lte=at + window)
                .order_by("-at", "-id")
                .values("pk")[:1]
            ),
            ban_reason=Subquery(
                Ban.objects.in_force(now).filter(driver=driver_ref).order_by("-banned_at").values("reason")[:1]
            ),
            open_visit_id=Subquery(
                Visit.objects.filter(driver=driver_ref, left_at__isnull=True).values("pk")[:1]
            ),
        )
        .values("recent_id", "ban_reason", "open_visit_id")
        .get()
    )

    if state["recent_id"] and not force:
        recent = Movement.objects.select_related("driver", "station", "visit").get(pk=state["recent_id"])
        return _result_from_movement(recent, reason=ScanReason.DUPLICATE)

    if state["ban_reason"] is not None:
        return _refuse(ScanReason.BANNED, driver=driver, detail=state["ban_reason"], **refuse)

    visit = Visit.objects.get(pk=state["open_visit_id"]) if state["open_visit_id"] else None
    wanted = _wanted_direction(station, visit, direction)
    blocked = (wanted == Direction.IN and visit is not None and ScanReason.ALREADY_INSIDE) or (
        wanted in (Direction.OUT, Direction.PASS) and visit is None and ScanReason.NOT_INSIDE
    )
    if blocked and not force:
        return _refuse(blocked, driver=driver, direction=wanted, **refuse)
    if force and not (operator and operator.has_perm("drivers.force_movement")):
        return _refuse(ScanReason.FORBIDDEN, driver=driver, direction=wanted, **refuse)

    movement = Movement(
        driver=driver,
        station=station,
        direction=wanted,
        at=at,
        is_late=is_late,
        operator=operator if getattr(operator, "pk", None) else None,
        source=source,
        forced=bool(force),
        force_reason=note if force else "",
        nonce=nonce,
        plate=driver.plate,
    )
    try:
        with transaction.atomic():
            movement.visit = _move(driver, station, wanted, visit, at)
            movement.save()
    except IntegrityError:
        # A concurrent request with the same nonce won the race: answer with its result.
        if nonce and (previous := _replay(nonce)):
            return previous
        raise
    return _result_from_movement(movement)


def _move(driver: Driver, station: Station | None, direction: str, visit: Visit | None, at) -> Visit | None:
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
            plate=driver.plate,
        )
    if visit is None:  # forced exit or pass of a driver the system thought outside
        return None
    if direction == Direction.OUT:
        visit.left_at = max(at, visit.entered_at)
        visit.exit_station = station
    visit.last_station = station or visit.last_station
    visit.last_seen_at = max(at, visit.last_seen_at)
    visit.save()
    return visit


@transaction.atomic
def check_out(*, driver: Driver, by, reason: str) -> Movement:
    """Check a driver out by hand (no station): a forced, manual exit with its reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ScanError(_("A manual check-out needs a reason."))
    driver = Driver.objects.select_for_update().get(pk=driver.pk)
    visit = Visit.objects.filter(driver=driver, left_at__isnull=True).first()
    if visit is None:
        raise ScanError(_("%(name)s is not inside.") % {"name": driver.full_name})
    now = timezone.now()
    return Movement.objects.create(
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


@transaction.atomic
def annul_movement(*, movement: Movement, by, reason: str) -> Movement:
    """Annul a mistaken movement (kept, marked with who and why) and restore presence.

    Only the driver's latest valid movement, within SCAN_ANNUL_WINDOW_MINUTES.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ScanError(_("Say why the scan is annulled."))
    Driver.objects.select_for_update().filter(pk=movement.driver_id).first()
    movement = Movement.objects.select_related("visit").get(pk=movement.pk)
    if movement.annulled_at:
        raise ScanError(_("This movement is already annulled."))
    now = timezone.now()
    if movement.at < now - timedelta(minutes=settings.SCAN_ANNUL_WINDOW_MINUTES):
        raise ScanError(_("Too late to annul this movement."))
    latest = Movement.objects.valid().filter(driver_id=movement.driver_id).order_by("-at", "-id").first()
    if latest and latest.pk != movement.pk:
        raise ScanError(_("Only the driver's latest movement can be annulled."))
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
def ban(driver: Driver, *, reason: str, by, until: datetime | None = None) -> Ban:
    """Ban a driver from now on (until `until`, if given). A ban in force is replaced."""
    reason = (reason or "").strip()
    if not reason:
        raise ScanError(_("A ban needs a reason."))
    now = timezone.now()
    if until is not None and until <= now:
        raise ScanError(_("The end of the ban must be in the future."))
    Driver.objects.select_for_update().filter(pk=driver.pk).first()
    # Close the previous open ban (in force or expired) so history keeps one row per ban.
    Ban.objects.filter(driver=driver, lifted_at__isnull=True).update(lifted_at=now, lifted_by=by)
    return Ban.objects.create(driver=driver, reason=reason, banned_at=now, banned_by=by, until=until)


@transaction.atomic
def unban(driver: Driver, *, by) -> Ban | None:
    """Lift the driver's ban in force; returns it, or None when he was not banned."""
    Driver.objects.select_for_update().filter(pk=driver.pk).first()
    current = Ban.objects.in_force().filter(driver=driver).first()
    Ban.objects.filter(driver=driver, lifted_at__isnull=True).update(
        lifted_at=timezone.now(), lifted_by=by
    )
    if current:
        current.refresh_from_db()
    return current


@transaction.atomic
def reissue_badge(driver: Driver, *, by, reason: str = "") -> str:
    """Give the driver a new badge code; the old one is revoked at once (kept with who, when
    and why, so that its scans say "revoked"). Returns the new code."""
    driver = Driver.objects.select_for_update().get(pk=driver.pk)
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
