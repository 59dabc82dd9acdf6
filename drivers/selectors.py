"""Reads that span models. Live screens cost O(drivers inside), never O(history).

Every read of the monitoring screens is bounded: by the drivers inside now, by today (or
the last 7 days) through the `at` indexes, or by a LIMIT. None counts or scans the whole
history.
"""

import hashlib
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone
from itertools import chain
from types import SimpleNamespace

from django.conf import settings
from django.db import connection
from django.db.models import (
    BooleanField,
    CharField,
    DateTimeField,
    F,
    JSONField,
    Prefetch,
    QuerySet,
    Value,
)
from django.db.models.functions import Coalesce
from django.db.models.sql.constants import MULTI
from django.utils import timezone

from qrgate import sharedcache
from stations.models import Station

from .models import Ban, Direction, Driver, Movement, RefusedScan, ScanReason, Visit


def inside_now() -> QuerySet[Visit]:
    """Open visits, oldest entry first, with driver and stations (partial index on open visits)."""
    return (
        Visit.objects.open()
        .select_related("driver", "entry_station", "last_station")
        .order_by("entered_at")
    )


def local_day_start(now=None):
    """Midnight of today in the plant's time zone, as an aware datetime."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def live_marker(now=None) -> str:
    """A short token that changes whenever a live screen would show something different.

    One query of index-only lookups (the newest movement, refused scan and ban, the last
    ban lifted, the last annulment, which can only touch a movement of the last few
    minutes), plus the current minute so that durations and idle warnings move on.
    A poll that sends back the same token is answered "nothing new" without rendering.
    """
    now = now or timezone.now()
    annul_since = now - timedelta(minutes=settings.SCAN_ANNUL_WINDOW_MINUTES + 1)
    m, r, b = Movement._meta.db_table, RefusedScan._meta.db_table, Ban._meta.db_table
    sql = (
        f"SELECT (SELECT MAX(id) FROM {m}), (SELECT MAX(id) FROM {r}), (SELECT MAX(id) FROM {b}), "
        f"(SELECT MAX(lifted_at) FROM {b}), "
        f"(SELECT MAX(annulled_at) FROM {m} WHERE at >= %s AND annulled_at IS NOT NULL)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.ops.adapt_datetimefield_value(annul_since)])
        row = cursor.fetchone()
    raw = "|".join(str(v) for v in row) + f"|{int(now.timestamp() // 60)}"
    return hashlib.blake2s(raw.encode(), digest_size=8).hexdigest()


@dataclass
class Event:
    """One line of the latest events: an accepted movement or a refused scan."""

    kind: str  # "movement" or "refused"
    pk: int
    at: object
    level: str  # entry, exit, pass, warning, refused
    label: str
    driver: Driver | None
    station: Station | None
    operator: object
    detail: str = ""
    annulled: bool = False


def _movement_event(m: Movement) -> Event:
    level = {Direction.IN: "entry", Direction.OUT: "exit"}.get(m.direction, "pass")
    if m.forced:
        level = "warning"
    return Event("movement", m.pk, m.at, level, m.get_direction_display(), m.driver, m.station,
                 m.operator, m.force_reason, bool(m.annulled_at))


def _refused_event(r: RefusedScan) -> Event:
    return Event("refused", r.pk, r.at, "refused", r.get_reason_display(), r.driver, r.station,
                 r.operator, r.detail)


def _newest(model, limit: int) -> list:
    """The newest `limit` rows of `model` with driver, station and operator.

    The ids come first, from the (-at, -id) index alone: with the joins in the same query
    SQLite's planner may start from the drivers table and sort the whole history.
    """
    ids = list(model.objects.order_by("-at", "-id").values_list("id", flat=True)[:limit])
    rows = model.objects.select_related("driver", "station", "operator").in_bulk(ids)
    return [rows[i] for i in ids if i in rows]


def latest_events(limit: int = 15) -> list[Event]:
    """The newest movements and refused scans, merged (four small queries)."""
    events = [_movement_event(m) for m in _newest(Movement, limit)]
    events += [_refused_event(r) for r in _newest(RefusedScan, limit)]
    events.sort(key=lambda e: (e.at, e.pk), reverse=True)
    return events[:limit]


def recent_banned_attempts(now=None, minutes: int = 15) -> list[RefusedScan]:
    """Banned drivers who tried to pass in the last `minutes`: the dashboard's red banner."""
    now = now or timezone.now()
    return list(
        RefusedScan.objects.filter(reason=ScanReason.BANNED, at__gte=now - timedelta(minutes=minutes))
        .select_related("driver", "station")
        .order_by("-at", "-id")[:5]
    )


def _newest_per_station(station_ids: list[int]) -> tuple[dict, dict]:
    """({station id: id of its newest movement}, {station id: id of its newest refused scan}).

    One query of two scalar subqueries per station, each "ORDER BY at DESC, id DESC LIMIT 1"
    on one station given as a value, which the (station, -at, -id) indexes answer in one
    probe. Not a subquery correlated to the stations table: PostgreSQL plans that once for
    any station, and for a station without refused scans it walked the whole table's time
    index backwards (53 ms at 2 M movements, growing with the history).
    """
    if not station_ids:
        return {}, {}
    newest = "(SELECT id FROM {} WHERE station_id = %s ORDER BY at DESC, id DESC LIMIT 1)"
    tables = (Movement._meta.db_table, RefusedScan._meta.db_table)
    columns = [newest.format(table) for table in tables for _ in station_ids]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(columns), station_ids * 2)
        row = cursor.fetchone()
    n = len(station_ids)
    return (
        {pk: i for pk, i in zip(station_ids, row[:n]) if i is not None},
        {pk: i for pk, i in zip(station_ids, row[n:]) if i is not None},
    )


@dataclass
class StationCard:
    station: Station
    last: Event | None
    last_hour: int
    idle: bool


def station_cards(now=None) -> list[StationCard]:
    """One card per active station: last scan and who, scans in the last hour, idle or not.

    Six queries whatever the number of stations, each served by an index.
    """
    now = now or timezone.now()
    stations = list(Station.objects.active().gates())
    last_movement, last_refused = _newest_per_station([s.pk for s in stations])
    moves = Movement.objects.select_related("driver", "operator").in_bulk(list(last_movement.values()))
    refused = RefusedScan.objects.select_related("driver", "operator").in_bulk(list(last_refused.values()))
    hour_ago = now - timedelta(hours=1)
    # The last hour's station ids, counted here: a GROUP BY station_id let SQLite choose to
    # walk the whole (station, -at, -id) index in group order (130 ms at 2 M movements)
    # instead of the few rows of the last hour from the (-at, -id) index (1 ms).
    counts: Counter = Counter()
    for model in (Movement, RefusedScan):
        counts.update(model.objects.filter(at__gte=hour_ago).order_by().values_list("station_id", flat=True))
    idle_since = now - timedelta(minutes=settings.STATION_IDLE_MINUTES)
    cards = []
    for s in stations:
        candidates = []
        if last_movement.get(s.pk) in moves:
            m = moves[last_movement[s.pk]]
            m.station = s
            candidates.append(_movement_event(m))
        if last_refused.get(s.pk) in refused:
            r = refused[last_refused[s.pk]]
            r.station = s
            candidates.append(_refused_event(r))
        last = max(candidates, key=lambda e: e.at) if candidates else None
        cards.append(StationCard(s, last, counts.get(s.pk, 0), last is None or last.at < idle_since))
    return cards


PAST_DAYS_CACHE_SECONDS = 300


def _counts_by_slot(bounds: list) -> list[dict]:
    """Valid entries and exits in each [bounds[i], bounds[i+1]) slot, in one query.

    Reads the (time, direction) of the movements in the range through the `at` index and
    counts them here, by bisecting the slot bounds: O(rows in the range), where one
    conditional COUNT per slot and direction (48 for a day) made the database evaluate
    every filter on every row (13 ms against 5 ms for today's 1 100 movements). The slots
    are the plant's local hours or days, computed by the caller, so DST days come out right.
    """
    slots = [{"in": 0, "out": 0} for _ in range(len(bounds) - 1)]
    rows = (
        Movement.objects.valid()
        .filter(at__gte=bounds[0], at__lt=bounds[-1], direction__in=(Direction.IN, Direction.OUT))
        .order_by()
        .values_list("at", "direction")
    )
    for at, direction in rows:
        slots[bisect_right(bounds, at) - 1][direction] += 1
    return slots


def hourly_counts(now=None) -> list[dict]:
    """Entries and exits per hour of today (plant time): 24 rows {label, in, out}."""
    start = local_day_start(now)
    tz = timezone.get_current_timezone()
    day = start.date()
    bounds = [timezone.make_aware(datetime.combine(day, time(h)), tz) for h in range(24)]
    bounds.append(local_day_start(start + timedelta(hours=26)))
    slots = _counts_by_slot(bounds)
    return [{"label": f"{h:02d}", **slot} for h, slot in enumerate(slots)]


def daily_counts(now=None, days: int = 7, today: dict | None = None) -> list[dict]:
    """Entries and exits per day for the last `days` days, today included (plant time).

    The past days no longer change (but for a late upload from an offline booth), so
    they are counted once and kept in the shared cache for a few minutes; `today`, when
    the caller already has it from hourly_counts, saves counting it again.
    """
    tz = timezone.get_current_timezone()
    day = local_day_start(now).date()
    dates = [day - timedelta(days=days - 1 - i) for i in range(days)]
    key = f"qrgate:daily-counts:{dates[0]}:{day}"
    past = sharedcache.get(key)  # a failing cache is a miss: the days are counted again
    if past is None:
        bounds = [timezone.make_aware(datetime.combine(d, time()), tz) for d in dates]
        past = _counts_by_slot(bounds)
        sharedcache.set(key, past, PAST_DAYS_CACHE_SECONDS)
    if today is None:
        hours = hourly_counts(now)
        today = {"in": sum(h["in"] for h in hours), "out": sum(h["out"] for h in hours)}
    return [{"date": d, **slot} for d, slot in zip(dates, past + [today])]


def stays_today(now=None) -> dict:
    """Average and longest stay of the visits that ended today (served by the left_at index)."""
    start = local_day_start(now)
    spans = [
        left - entered
        for entered, left in Visit.objects.filter(left_at__gte=start).values_list("entered_at", "left_at")
    ]
    if not spans:
        return {"count": 0, "average": None, "longest": None}
    return {"count": len(spans), "average": sum(spans, timedelta()) / len(spans), "longest": max(spans)}


def overstaying(now=None, limit: int = 50) -> QuerySet[Visit]:
    """Drivers inside for longer than OVERSTAY_HOURS, the longest first."""
    now = now or timezone.now()
    return inside_now().filter(entered_at__lt=now - timedelta(hours=settings.OVERSTAY_HOURS))[:limit]


def refused_today_count(now=None) -> int:
    return RefusedScan.objects.filter(at__gte=local_day_start(now)).count()


# The history: movements and refused scans as rows of the same columns, in one UNION ALL.
# Each side is filtered first and ordered by its (-at, -id) index, so that a page of the
# newest rows reads about one page from each side (SQLite merges the ordered sub-selects,
# PostgreSQL does a Merge Append), even with millions of rows.
HISTORY_COLUMNS = (
    "at", "id", "kind", "reason", "direction", "driver_id", "driver_name", "driver_license",
    "driver_company", "plate", "station_code", "station_name", "operator_name", "source",
    "forced", "note", "annulled_at", "raw_input", "recorded_at", "is_late",
    # The visit's vehicle (JSON lists): trailer plates, seals at entry and at exit.
    "trailers", "seals", "exit_seals",
)


def history_movements(qs=None):
    qs = Movement.objects.all() if qs is None else qs
    return qs.annotate(
        kind=Value("movement", output_field=CharField()),
        reason=Value(ScanReason.OK.value, output_field=CharField()),
        driver_name=F("driver__full_name"),
        driver_license=F("driver__license_number"),
        driver_company=F("driver__company"),
        station_code=F("station__code"),
        station_name=F("station__name"),
        operator_name=F("operator__username"),
        note=F("force_reason"),
        raw_input=Value("", output_field=CharField()),
        trailers=F("visit__trailers"),
        seals=F("visit__seals"),
        exit_seals=F("visit__exit_seals"),
    ).values(*HISTORY_COLUMNS)


def history_refused(qs=None):
    qs = RefusedScan.objects.all() if qs is None else qs
    return qs.annotate(
        kind=Value("refused", output_field=CharField()),
        driver_name=F("driver__full_name"),
        driver_license=F("driver__license_number"),
        driver_company=F("driver__company"),
        plate=Coalesce(F("driver__plate"), Value("", output_field=CharField())),
        station_code=F("station__code"),
        station_name=F("station__name"),
        operator_name=F("operator__username"),
        forced=Value(False, output_field=BooleanField()),
        note=F("detail"),
        annulled_at=Value(None, output_field=DateTimeField()),
        # A refused scan is stored when it arrives and has no late mark of its own.
        recorded_at=Value(None, output_field=DateTimeField()),
        is_late=Value(False, output_field=BooleanField()),
        trailers=Value(None, output_field=JSONField()),
        seals=Value(None, output_field=JSONField()),
        exit_seals=Value(None, output_field=JSONField()),
    ).values(*HISTORY_COLUMNS)


class HistoryRows:
    """The history as one ordered, sliceable sequence of row dicts (HISTORY_COLUMNS).

    Movements and refused scans are combined with UNION ALL. A slice [a:b] is answered
    with each side ordered and cut at b before the union where the database allows it
    (PostgreSQL: two index scans of b rows, instead of sorting every matching row);
    SQLite merges the ordered sub-selects of a compound query by itself. It quacks like a
    QuerySet for django-tables2 (order_by, count, query.order_by), and iterator() streams
    every row for the exports.
    """

    def __init__(self, movements, refused, ordering=("-at", "-id")):
        self.movements, self.refused = movements, refused
        self.ordering = tuple(ordering)
        self.query = SimpleNamespace(order_by=self.ordering)  # django-tables2 reads it
        self.model = None

    def order_by(self, *ordering):
        ordering = tuple(ordering) or ("-at", "-id")
        if not any(f.lstrip("-") == "id" for f in ordering):
            ordering += ("-id",)  # a total order, so pages never repeat or skip a row
        return HistoryRows(self.movements, self.refused, ordering)

    def _parts(self):
        parts = []
        if self.movements is not None and not self.movements.query.is_empty():
            parts.append(history_movements(self.movements).order_by(*self.ordering))
        if self.refused is not None and not self.refused.query.is_empty():
            parts.append(history_refused(self.refused).order_by(*self.ordering))
        return parts

    def queryset(self, limit: int | None = None):
        parts = self._parts()
        if not parts:
            return history_movements(Movement.objects.none())
        if len(parts) == 1:
            return parts[0]
        if limit is not None and connection.features.supports_slicing_ordering_in_compound:
            parts = [part[:limit] for part in parts]
        else:
            parts = [part.order_by() for part in parts]
        return parts[0].union(*parts[1:], all=True).order_by(*self.ordering)

    def __getitem__(self, key):
        if isinstance(key, slice):
            if key.stop is None or key.step is not None:
                raise ValueError("HistoryRows takes bounded slices only")
            return list(self.queryset(limit=key.stop)[key])
        return self.queryset(limit=key + 1)[key]

    def __iter__(self):
        return iter(self.queryset())

    def iterator(self, chunk_size: int = 2000):
        return self.queryset().iterator(chunk_size=chunk_size)

    def tuples(self, chunk_size: int = 2000):
        """Every row as a plain sequence in HISTORY_COLUMNS order, streamed: the exports' reader.

        The same single query as iterator() (a server-side cursor on PostgreSQL), without a
        dict per row and without Django's per-value converters, which were a third of an
        export's time: the times come as the driver gives them (aware UTC on PostgreSQL,
        naive UTC on SQLite) and `forced` may be 0/1; the exports handle both.
        """
        qs = self.queryset().values_list(*HISTORY_COLUMNS)
        compiler = qs.query.get_compiler(using=qs.db)
        chunks = compiler.execute_sql(MULTI, chunked_fetch=True, chunk_size=chunk_size)
        return chain.from_iterable(chunks or ())

    def count(self) -> int:
        """The number of rows: a full count, never used by the history screen's pages."""
        return self.queryset().count()

    def exists(self) -> bool:
        return bool(self[0:1])


def history_rows(movements=None, refused=None) -> HistoryRows:
    """Rows of the history, newest first. `movements` / `refused`: the filtered querysets."""
    return HistoryRows(
        Movement.objects.all() if movements is None else movements,
        RefusedScan.objects.all() if refused is None else refused,
    )


@dataclass
class RouteStep:
    movement: Movement
    since_previous: timedelta | None


def driver_route(driver: Driver, *, visits: int = 10, refused: int = 20) -> dict:
    """A driver's recent visits, each a timeline of his movements with the time between
    stations, plus his movements outside any visit and his refused attempts. 4 queries."""
    recent_visits = list(
        driver.visits.select_related("entry_station", "exit_station", "last_station")
        .prefetch_related(
            Prefetch(
                "movements",
                queryset=Movement.objects.select_related("station", "operator").order_by("at", "id"),
            )
        )
        .order_by("-entered_at")[:visits]
    )
    timeline = []
    for visit in recent_visits:
        steps, previous = [], None
        for m in visit.movements.all():
            gap = m.at - previous.at if previous and not m.annulled_at else None
            steps.append(RouteStep(m, gap))
            if not m.annulled_at:
                previous = m
        timeline.append({"visit": visit, "steps": steps})
    loose = list(
        driver.movements.filter(visit__isnull=True)
        .select_related("station", "operator")
        .order_by("-at", "-id")[:20]
    )
    attempts = list(
        driver.refused_scans.select_related("station", "operator").order_by("-at", "-id")[:refused]
    )
    return {"timeline": timeline, "loose": loose, "refused": attempts}


# --- documents, routes and turnaround --------------------------------------------------

def route_progress(visit: Visit | None) -> dict | None:
    """The visit's route, each stop done (an accepted, not annulled pass there during the
    visit) or not; None for a visit without a route. 2 queries."""
    from stations.models import Route

    if visit is None or not visit.route_id:
        return None
    route = Route.objects.get(pk=visit.route_id)
    stops = list(route.stops.select_related("station").order_by("position"))
    done = set(
        Movement.objects.valid()
        .filter(visit=visit, station__in=[s.station_id for s in stops])
        .values_list("station_id", flat=True)
    ) if stops else set()
    items = [
        {"position": s.position, "code": s.station.code, "name": s.station.name, "done": s.station_id in done}
        for s in stops
    ]
    return {
        "code": route.code,
        "name": route.name,
        "is_active": route.is_active,
        "stops": items,
        "missing": [i["name"] for i in items if not i["done"]],
    }


def document_status(driver: Driver, today=None) -> list[dict]:
    """Each document type that concerns this driver (he has one, or it is required), with
    his latest document and its state: missing, expired, expiring (within warn_days) or
    valid. 2 queries."""
    from .models import DocumentType

    today = today or timezone.localdate()
    latest = {}
    for doc in driver.documents.select_related("doc_type").order_by("doc_type_id", "-expires_on", "-id"):
        latest.setdefault(doc.doc_type_id, doc)
    rows = []
    for kind in DocumentType.objects.order_by("name"):
        doc = latest.get(kind.pk)
        if doc is None and not kind.required:
            continue
        if doc is None:
            state = "missing"
        elif doc.expires_on < today:
            state = "expired"
        elif doc.expires_on <= today + timedelta(days=kind.warn_days):
            state = "expiring"
        else:
            state = "valid"
        rows.append({"type": kind, "document": doc, "state": state,
                     "days_left": (doc.expires_on - today).days if doc else None})
    return rows


def expiring_documents(today=None, *, include_expired: bool = True):
    """The latest document of each driver and type that expires within its type's
    warn_days (or has expired, when asked), soonest first. Served by the expires_on index;
    the types are a handful, one condition each."""
    from django.db.models import Exists, OuterRef, Q

    from .models import DocumentType, DriverDocument

    today = today or timezone.localdate()
    window = Q(pk__in=[])
    for kind in DocumentType.objects.all():
        window |= Q(doc_type=kind, expires_on__lte=today + timedelta(days=kind.warn_days))
    newer = DriverDocument.objects.filter(
        driver=OuterRef("driver"), doc_type=OuterRef("doc_type"), expires_on__gt=OuterRef("expires_on")
    )
    qs = DriverDocument.objects.filter(window).filter(~Exists(newer))
    if not include_expired:
        qs = qs.filter(expires_on__gte=today)
    return qs.select_related("driver", "doc_type").order_by("expires_on", "driver__full_name", "pk")


TURNAROUND_GROUPS = ("company", "route", "station")

# Group key and label per grouping, over drivers_visit v, drivers_driver d, stations_route r
# and stations_station s (the entry station).
_GROUP_SQL = {
    "company": ("d.company", "d.company"),
    "route": ("v.route_id", "r.name"),
    "station": ("v.entry_station_id", "s.name"),
}


def turnaround(start, end, group: str) -> list[dict]:
    """Time inside of the visits that left between `start` and `end` (aware datetimes),
    per company, route or entry station: visits, median, 90th percentile and longest, in
    seconds. One query; percentiles by nearest rank (the value at rank ceil(p·n)) with
    ROW_NUMBER and COUNT windows, the same on SQLite and PostgreSQL. Served by the
    left_at index."""
    key, label = _GROUP_SQL[group]
    if connection.vendor == "postgresql":
        seconds = "EXTRACT(EPOCH FROM (v.left_at - v.entered_at))"
    else:
        seconds = "((julianday(v.left_at) - julianday(v.entered_at)) * 86400.0)"
    from stations.models import Route

    sql = f"""
        WITH spans AS (
            SELECT {key} AS k, {label} AS label, {seconds} AS secs
            FROM {Visit._meta.db_table} v
            JOIN {Driver._meta.db_table} d ON d.id = v.driver_id
            LEFT JOIN {Route._meta.db_table} r ON r.id = v.route_id
            LEFT JOIN {Station._meta.db_table} s ON s.id = v.entry_station_id
            WHERE v.left_at >= %s AND v.left_at < %s
        ), ranked AS (
            SELECT k, label, secs,
                   ROW_NUMBER() OVER (PARTITION BY k ORDER BY secs) AS rn,
                   COUNT(*) OVER (PARTITION BY k) AS n
            FROM spans
        )
        SELECT k, MAX(label), MAX(n),
               MAX(CASE WHEN rn = (n + 1) / 2 THEN secs END),
               MAX(CASE WHEN rn = (9 * n + 9) / 10 THEN secs END),
               MAX(secs)
        FROM ranked
        GROUP BY k
        ORDER BY MAX(n) DESC, MAX(label)
    """
    with connection.cursor() as cursor:
        # As the ORM would: SQLite stores naive UTC text, so an aware local bound compared
        # as text would cut the evening off the range (after 18:00 in Mexico City).
        adapt = connection.ops.adapt_datetimefield_value
        cursor.execute(sql, [adapt(start), adapt(end)])
        rows = cursor.fetchall()
    return [
        {"key": k, "label": lab, "visits": n, "median": float(med or 0), "p90": float(p90 or 0),
         "longest": float(top or 0)}
        for k, lab, n, med, p90, top in rows
    ]


def visits_per_day(start, end) -> list[dict]:
    """Visits that left per day (plant time) between `start` and `end`. One query over the
    left_at index. PostgreSQL truncates to the plant's day itself; SQLite has no time zones
    (Django would call Python once per visit to convert), so it counts per UTC hour and the
    hours (24 a day at most) are added up per plant day here (a plant's offset from UTC is
    whole hours)."""
    from django.db.models import Count
    from django.db.models.functions import Substr, TruncDate

    visits = Visit.objects.filter(left_at__gte=start, left_at__lt=end)
    if connection.vendor != "sqlite":
        return list(visits.annotate(day=TruncDate("left_at")).values("day")
                    .annotate(visits=Count("id")).order_by("day"))
    per_hour = visits.annotate(hour=Substr("left_at", 1, 13)).values("hour").annotate(n=Count("id")).order_by()
    days = Counter()
    for hour, n in per_hour.values_list("hour", "n"):
        utc = datetime.strptime(hour, "%Y-%m-%d %H").replace(tzinfo=dt_timezone.utc)
        days[timezone.localdate(utc)] += n
    return [{"day": day, "visits": days[day]} for day in sorted(days)]
