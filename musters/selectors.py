"""Reads of a roll call: its board (who is accounted for, how, and who is missing), its
figures and the marker of its live fragment. A fixed number of queries, whatever the
number of people."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max
from django.utils import timezone
from django.utils.translation import gettext as _

from drivers import selectors as driver_selectors
from drivers.models import Driver

from .models import Accounting, AccountedBy, Expected, Mark, RollCall


@dataclass
class Found:
    """How one person was first found safe (an Accounting row, or an exit not yet frozen)."""

    at: datetime
    how: str
    point: str
    by: str
    reason: str = ""

    @property
    def how_label(self) -> str:
        return str(AccountedBy(self.how).label)


@dataclass
class Row:
    """One expected person on the board and in the report."""

    driver: Driver
    last_station: str
    last_seen_at: datetime | None
    found: Found | None


def _name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


def _found_from_row(row: Accounting) -> Found:
    return Found(at=row.at, how=row.how, point=row.point or "", by=_name(row.by), reason=row.reason)


def board(roll_call: RollCall, now: datetime | None = None) -> dict:
    """Everything the board and the report show (4 queries)."""
    now = now or timezone.now()
    expected = list(Expected.objects.filter(roll_call=roll_call).select_related("driver", "last_station")
                    .order_by("driver__full_name", "driver_id"))
    accountings = list(Accounting.objects.filter(roll_call=roll_call).select_related("driver", "station", "by"))
    found = {a.driver_id: _found_from_row(a) for a in accountings}
    if not roll_call.closed:
        for m in roll_call.exits().select_related("station", "operator").order_by("at", "id"):
            if m.driver_id in found and found[m.driver_id].at <= m.at:
                continue
            point = m.station.name if m.station_id else _("Manual check-out")
            found[m.driver_id] = Found(at=m.at, how=AccountedBy.EXIT, point=point, by=_name(m.operator))
    rows = [Row(driver=e.driver, last_station=e.last_station.name if e.last_station_id else "",
                last_seen_at=e.last_seen_at, found=found.get(e.driver_id)) for e in expected]
    expected_ids = {e.driver_id for e in expected}
    unexpected = [a for a in accountings if a.driver_id not in expected_ids]
    accounted_rows = [r for r in rows if r.found]
    missing = [r for r in rows if not r.found]
    points = Counter(r.found.point for r in accounted_rows if r.found.how == AccountedBy.MARK)
    points.update(a.point for a in unexpected)
    full_at = max((r.found.at for r in rows), default=roll_call.started_at) if not missing else None
    marks = Mark.objects.filter(roll_call=roll_call).aggregate(total=Count("id"))
    return {
        "roll_call": roll_call,
        "rows": rows,
        "missing": missing,
        "accounted_rows": sorted(accounted_rows, key=lambda r: r.found.at),
        "unexpected": unexpected,
        "expected_count": len(rows),
        "accounted_count": len(accounted_rows),
        "missing_count": len(missing),
        "exits_count": sum(1 for r in accounted_rows if r.found.how == AccountedBy.EXIT),
        "manual_count": sum(1 for r in accounted_rows if r.found.how == AccountedBy.MANUAL),
        "points": sorted(points.items()),
        "marks_count": marks["total"],
        "elapsed": (roll_call.closed_at or now) - roll_call.started_at,
        "full_after": (full_at - roll_call.started_at) if full_at else None,
        "now": now,
    }


def counts(roll_call: RollCall) -> dict:
    """accounted / expected / missing, for the marshal's screen after each scan (2 queries)."""
    expected = Expected.objects.filter(roll_call=roll_call).count()
    missing = roll_call.missing().count()
    return {"expected": expected, "missing": missing, "accounted": expected - missing}


def live_marker(roll_call: RollCall, now: datetime | None = None) -> str:
    """Changes whenever the board would: a mark, an accounting, the close, and (through the
    gate's marker) an exit or an annulment, and the minute for the time since the start."""
    figures = Mark.objects.filter(roll_call=roll_call).aggregate(n=Count("id"), last=Max("id"))
    accounted = Accounting.objects.filter(roll_call=roll_call).aggregate(n=Count("id"), last=Max("id"))
    parts = [figures["n"], figures["last"], accounted["n"], accounted["last"], roll_call.closed_at,
             driver_selectors.live_marker(now)]
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:16]


def recent_roll_calls(limit: int = 20):
    return RollCall.objects.select_related("started_by", "closed_by").annotate(
        expected_count=Count("expected", distinct=True))[:limit]


def elapsed_text(delta: timedelta | None) -> str:
    if delta is None:
        return ""
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    return _("%(m)d min %(s)02d s") % {"m": minutes, "s": secs}
