"""The roll call's write operations: start, mark safe, account by hand, close.

The services do not check permissions (the views do). Each is one transaction; marks and
accountings of a roll call are serialized by locking its row (PostgreSQL waits on it;
SQLite's IMMEDIATE transactions serialize writers anyway), and the database's unique
constraints are the last guard: one open roll call, one nonce per roll call, one
accounting per person.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from drivers import selectors as driver_selectors
from drivers.models import Driver, RevokedBadge, normalize_badge_code
from drivers.services import NONCE_RE, SCAN_CLOCK_SKEW, _clean_raw
from stations.models import Station, StationKind

from .models import ACCEPTED_REASONS, Accounting, AccountedBy, Expected, Mark, MarkReason, RollCall

POINT_NAME_MAX = 80


class MusterError(ValueError):
    """A call the service refuses, with a machine-readable `code`: already_open, closed,
    invalid_point, invalid_nonce, nonce_conflict, reason_required, not_expected,
    already_accounted."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.message = str(message)
        self.code = code

    def __str__(self) -> str:
        return self.message


@dataclass
class First:
    """How a person was first found safe: for the marshal who scans him again."""

    at: datetime
    point: str
    by: str
    how: str


@dataclass
class MarkResult:
    reason: str
    message: str
    driver: Driver | None = None
    mark: Mark | None = None
    first: First | None = None
    replayed: bool = False

    @property
    def accepted(self) -> bool:
        return self.reason in ACCEPTED_REASONS


# --- start and close ----------------------------------------------------------------------


def start_roll_call(*, by, drill: bool = False) -> RollCall:
    """Start a roll call (a real evacuation, or a drill): everyone inside now (the
    evacuation list: drivers with an open visit) is expected, in one transaction.
    Raises MusterError `already_open` while another roll call is open."""
    try:
        with transaction.atomic():
            if RollCall.objects.filter(is_open=True).exists():
                raise MusterError(_("A roll call is already open: close it before starting another."),
                                  code="already_open")
            roll_call = RollCall.objects.create(started_by=by, drill=bool(drill), started_at=timezone.now())
            Expected.objects.bulk_create(
                Expected(roll_call=roll_call, driver_id=v.driver_id, visit=v, last_station_id=v.last_station_id,
                         last_seen_at=v.last_seen_at)
                for v in driver_selectors.inside_now()
            )
            return roll_call
    except IntegrityError:
        # Another supervisor started one at the same moment: the unique index refused ours.
        raise MusterError(_("A roll call is already open: close it before starting another."),
                          code="already_open") from None


@transaction.atomic
def close_roll_call(*, roll_call: RollCall, by) -> RollCall:
    """Close the roll call: from now on nothing changes it. Exits through the gates that
    accounted people for are frozen into Accounting rows. Raises MusterError `closed` if
    it was closed already."""
    roll_call = RollCall.objects.select_for_update().get(pk=roll_call.pk)
    if roll_call.closed:
        raise MusterError(_("This roll call is already closed."), code="closed")
    now = timezone.now()
    accounted = set(Accounting.objects.filter(roll_call=roll_call).values_list("driver_id", flat=True))
    first_exit = {}
    for movement in roll_call.exits().filter(at__lte=now).order_by("at", "id"):
        first_exit.setdefault(movement.driver_id, movement)
    Accounting.objects.bulk_create(
        Accounting(roll_call=roll_call, driver_id=m.driver_id, how=AccountedBy.EXIT, at=m.at,
                   station_id=m.station_id, by_id=m.operator_id, movement=m)
        for driver_id, m in first_exit.items()
        if driver_id not in accounted
    )
    roll_call.closed_at = now
    roll_call.closed_by = by
    roll_call.is_open = None
    roll_call.save(update_fields=["closed_at", "closed_by", "is_open"])
    return roll_call


# --- marks ----------------------------------------------------------------------------------


def _clean_text(value, limit: int) -> str:
    """Untrusted text as kept: no control characters (PostgreSQL refuses NUL), single spaces."""
    text = value if isinstance(value, str) else ""
    text = "".join(ch for ch in text[: limit * 4] if unicodedata.category(ch)[0] != "C")
    return " ".join(text.split())[:limit]


def _point(point) -> tuple[Station | None, str]:
    if isinstance(point, Station):
        if point.kind != StationKind.MUSTER or not point.is_active:
            raise MusterError(_("Choose an active muster point."), code="invalid_point")
        return point, ""
    name = _clean_text(point, POINT_NAME_MAX)
    if not name:
        raise MusterError(_("Choose a muster point or write where you are."), code="invalid_point")
    return None, name


def _mark_time(scanned_at: datetime | None, roll_call: RollCall, now: datetime) -> datetime:
    """The claimed scan time when believable (after the start, not ahead of the clock
    beyond the skew), else now."""
    if scanned_at is None:
        return now
    if timezone.is_naive(scanned_at):
        scanned_at = timezone.make_aware(scanned_at)
    if scanned_at < roll_call.started_at or scanned_at > now + SCAN_CLOCK_SKEW:
        return now
    return min(scanned_at, now)


def _user_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def first_accounting(roll_call: RollCall, driver_id: int) -> First | None:
    """How the driver was first found safe in this roll call, or None."""
    row = Accounting.objects.select_related("station", "by").filter(roll_call=roll_call, driver_id=driver_id).first()
    exit_ = None
    if not roll_call.closed:
        exit_ = (roll_call.exits().filter(driver_id=driver_id).select_related("station", "operator")
                 .order_by("at", "id").first())
    if exit_ is not None and (row is None or exit_.at < row.at):
        point = exit_.station.name if exit_.station_id else _("Manual check-out")
        return First(at=exit_.at, point=point, by=_user_name(exit_.operator), how=AccountedBy.EXIT)
    if row is None:
        return None
    return First(at=row.at, point=row.point, by=_user_name(row.by), how=row.how)


def _message(reason: str, driver: Driver | None, first: First | None = None) -> str:
    name = driver.full_name if driver else ""
    if reason == MarkReason.DUPLICATE and first is not None:
        return _("%(name)s was already accounted for at %(point)s, %(time)s.") % {
            "name": name, "point": first.point, "time": timezone.localtime(first.at).strftime("%H:%M:%S")}
    return {
        MarkReason.OK: _("Safe: %(name)s"),
        MarkReason.DUPLICATE: _("%(name)s was already accounted for."),
        MarkReason.NOT_EXPECTED: _("Found, not expected: %(name)s was not on the list when the roll call started."),
        MarkReason.INVALID: _("This is not a QRGate badge."),
        MarkReason.UNKNOWN: _("Unknown badge: no driver has this code."),
        MarkReason.REVOKED: _("Revoked badge: %(name)s has a newer badge. Ask for his name and mark him by hand."),
        MarkReason.CLOSED: _("This roll call is closed: nothing was recorded."),
    }[reason] % {"name": name}


def _result(mark: Mark, *, replayed=False) -> MarkResult:
    first = None
    if mark.reason == MarkReason.DUPLICATE and mark.driver_id:
        first = first_accounting(mark.roll_call, mark.driver_id)
    return MarkResult(reason=mark.reason, message=_message(mark.reason, mark.driver, first), driver=mark.driver,
                      mark=mark, first=first, replayed=replayed)


def _code_key(text: str) -> str:
    return normalize_badge_code(text) or text


def _replay(roll_call: RollCall, nonce: str, code: str) -> MarkResult | None:
    mark = Mark.objects.select_related("driver", "station", "roll_call").filter(
        roll_call=roll_call, nonce=nonce).first()
    if mark is None:
        return None
    same = _code_key(mark.code) == _code_key(_clean_raw(code))
    if not same and mark.driver_id and (badge := normalize_badge_code(code)):
        # The badge was reissued since: the old code is still the one the first scan read.
        same = badge == mark.driver.badge_code or RevokedBadge.objects.filter(
            code=badge, driver_id=mark.driver_id).exists()
    if not same:
        raise MusterError(
            _("This scan's identifier (nonce) was already used for another badge. Nothing was recorded."),
            code="nonce_conflict",
        )
    return _result(mark, replayed=True)


def mark_safe(*, roll_call: RollCall, code, point, by, nonce: str | None = None,
              scanned_at: datetime | None = None) -> MarkResult:
    """A marshal scanned `code` at `point` (an active muster Station, or a free name).

    `code` is untrusted text: never raised on. Returns a MarkResult whose `reason` is a
    MarkReason: `ok` (expected, accounted for now), `duplicate` (accounted for already:
    `first` says when, where and by whom), `not_expected` (not in the snapshot; kept apart,
    once), `invalid`, `unknown`, `revoked` (a replaced badge), `closed` (nothing written).
    Every scan of an open roll call is logged as a Mark. The same `nonce` with the same
    code returns the first result (`replayed`); with another code it raises MusterError
    `nonce_conflict`. A bad point or nonce raises MusterError; nothing is written.
    """
    if nonce is not None and (not isinstance(nonce, str) or not NONCE_RE.fullmatch(nonce)):
        raise MusterError(_("The nonce must be 1 to 64 letters, digits or -_.:"), code="invalid_nonce")
    station, point_name = _point(point)
    raw = _clean_raw(code)
    try:
        with transaction.atomic():
            return _mark(roll_call=roll_call, code=code, raw=raw, station=station, point_name=point_name, by=by,
                         nonce=nonce, scanned_at=scanned_at)
    except IntegrityError:
        # A concurrent retry of the same scan committed first.
        if nonce and (previous := _replay(roll_call, nonce, code)):
            return previous
        raise


def _mark(*, roll_call, code, raw, station, point_name, by, nonce, scanned_at) -> MarkResult:
    # The lock serializes the marks of this roll call, so "first" is decided once.
    roll_call = RollCall.objects.select_for_update().get(pk=roll_call.pk)
    if nonce and (previous := _replay(roll_call, nonce, code)):
        return previous
    if roll_call.closed:
        return MarkResult(reason=MarkReason.CLOSED, message=_message(MarkReason.CLOSED, None))
    now = timezone.now()
    at = _mark_time(scanned_at, roll_call, now)
    badge = normalize_badge_code(code)
    driver = Driver.objects.filter(badge_code=badge).first() if badge else None
    if badge is None:
        reason = MarkReason.INVALID
    elif driver is None:
        revoked = RevokedBadge.objects.select_related("driver").filter(code=badge).first()
        driver = revoked.driver if revoked else None
        reason = MarkReason.REVOKED if revoked else MarkReason.UNKNOWN
    else:
        expected = Expected.objects.filter(roll_call=roll_call, driver=driver).exists()
        row = Accounting.objects.filter(roll_call=roll_call, driver=driver).first()
        first = first_accounting(roll_call, driver.pk)
        if first is not None and (first.at <= at or (row is not None and row.how != AccountedBy.MARK)):
            reason = MarkReason.DUPLICATE
        else:
            if row is not None:
                # A scan queued offline, earlier than the first one recorded: it becomes the first.
                row.delete()
            reason = MarkReason.OK if expected else MarkReason.NOT_EXPECTED
    mark = Mark.objects.create(
        roll_call=roll_call, driver=driver, code=raw, station=station, point_name=point_name, by=by, at=at,
        nonce=nonce, reason=reason, first=reason in (MarkReason.OK, MarkReason.NOT_EXPECTED),
    )
    if mark.first:
        Mark.objects.filter(roll_call=roll_call, driver=driver, first=True).exclude(pk=mark.pk).update(first=False)
        Accounting.objects.create(
            roll_call=roll_call, driver=driver, how=AccountedBy.MARK, expected=reason == MarkReason.OK, at=at,
            station=station, point_name=point_name, by=by, mark=mark,
        )
    mark.roll_call = roll_call
    return _result(mark)


@transaction.atomic
def account_manually(*, roll_call: RollCall, driver: Driver, by, reason: str) -> Accounting:
    """A supervisor accounts an expected person for by hand, with a reason (e.g. "left by
    the back gate"). Raises MusterError: reason_required, closed, not_expected,
    already_accounted."""
    reason = _clean_text(reason, 200)
    if not reason:
        raise MusterError(_("Accounting for someone by hand needs a reason."), code="reason_required")
    roll_call = RollCall.objects.select_for_update().get(pk=roll_call.pk)
    if roll_call.closed:
        raise MusterError(_("This roll call is closed: nothing was recorded."), code="closed")
    if not Expected.objects.filter(roll_call=roll_call, driver=driver).exists():
        raise MusterError(_("%(name)s was not inside when the roll call started.") % {"name": driver.full_name},
                          code="not_expected")
    if first_accounting(roll_call, driver.pk) is not None:
        raise MusterError(_("%(name)s is already accounted for.") % {"name": driver.full_name},
                          code="already_accounted")
    return Accounting.objects.create(roll_call=roll_call, driver=driver, how=AccountedBy.MANUAL, at=timezone.now(),
                                     by=by, reason=reason)
