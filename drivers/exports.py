"""Streamed exports of the history: exactly the filtered rows, in flat memory.

Both formats read the rows as plain tuples from one query streamed in chunks
(HistoryRows.tuples), not as model instances or dicts, and everything that is the same for
every row is done once: labels translated into dicts, the plant's UTC offset computed once
per hour of data (LocalTimes). CSV (UTF-8 with a BOM so Excel keeps accents) is written by
csv.writer into a small buffer handed to the response every CHUNK_ROWS rows. XLSX is a
ZIP streamed while the rows are read (spreadsheets.stream_xlsx): its first bytes leave
before the first row is read, and a second sheet lists the filters applied.

Formula-safe: user-typed text (names, companies, reasons, scanned text, usernames) is
shown by a spreadsheet, never run: spreadsheets.csv_text() in CSV, inline string cells
(kept as typed) in XLSX.
"""

import csv
import io
import json
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from itertools import islice

from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .models import Direction, ScanReason, Source
from .spreadsheets import DATETIME, Column, Sheet, csv_text, stream_xlsx

CHUNK_ROWS = 2000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Width (characters) and kind of each column of header(), in order.
COLUMN_LAYOUT = [(20, DATETIME), (14, "text"), (18, "text"), (12, "text"), (28, "text"), (14, "text"),
                 (24, "text"), (10, "text"), (8, "text"), (18, "text"), (14, "text"), (14, "text"),
                 (8, "text"), (30, "text"), (20, DATETIME), (20, "text"), (20, DATETIME), (8, "text"),
                 (18, "text"), (20, "text"), (20, "text")]


class ExportCount:
    """Filled in while an export is written: rows written, and whether XLSX cut them short."""

    rows = 0
    truncated = False


def header() -> list[str]:
    return [
        _("Time"), _("Result"), _("Reason"), _("Direction"), _("Driver"), _("Licence"), _("Company"),
        _("Plate"), _("Station"), _("Station name"), _("Operator"), _("Source"), _("Forced"),
        _("Detail"), _("Annulled at"), _("Scanned text"), _("Recorded at"), _("Late"),
        _("Trailers"), _("Seals at entry"), _("Seals at exit"),
    ]


class LocalTimes:
    """Aware datetimes to naive plant time, the time zone looked up once per hour of data.

    timezone.localtime() per value costs a zoneinfo lookup each time; a history is ordered
    by time, so consecutive rows share their UTC hour and its offset (offsets only change
    on the hour in the plant's zone, DST included).
    """

    def __init__(self):
        self.zone = timezone.get_current_timezone()
        self.offsets: dict[tuple, timedelta] = {}

    def naive(self, value: datetime) -> datetime:
        """`value` in UTC, aware (PostgreSQL) or naive (SQLite), as a naive plant time."""
        if isinstance(value, str):  # SQLite without the column's declared type
            value = datetime.fromisoformat(value)
        key = (value.year, value.month, value.day, value.hour)
        offset = self.offsets.get(key)
        if offset is None:
            utc = value.replace(tzinfo=dt_timezone.utc)
            offset = self.offsets[key] = utc.astimezone(self.zone).utcoffset()
        return (value + offset).replace(tzinfo=None)

    def text(self, value: datetime | None) -> str:
        # isoformat(" ", "seconds") == strftime("%Y-%m-%d %H:%M:%S"), several times faster.
        return self.naive(value).isoformat(" ", "seconds") if value else ""


def tag_list(value) -> str:
    """A visit's plates or seals as "A, B": a JSON list as the driver gives it (text on
    SQLite, a list on PostgreSQL), or nothing."""
    if not value or value == "[]":  # most visits: no trailers, no seals
        return ""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


class RowFormatter:
    """Turns a history tuple into the export's 21 columns; labels translated once.

    as_text: times as text and user-typed text made formula-safe for CSV; otherwise
    naive plant datetimes and the text unchanged, for a writer of typed cells.
    """

    def __init__(self, *, as_text: bool = True):
        self.as_text = as_text
        self.safe = csv_text if as_text else str
        self.times = LocalTimes()
        self.directions = {value: str(label) for value, label in Direction.choices}
        self.sources = {value: str(label) for value, label in Source.choices}
        self.reasons = {value: str(label) for value, label in ScanReason.choices}
        self.refused, self.annulled = _("Refused"), _("Annulled")
        self.forced, self.accepted = _("Forced"), _("Accepted")
        self.yes, self.no = _("yes"), _("no")

    def __call__(self, row) -> list:
        # A tuple of selectors.HISTORY_COLUMNS, in that order.
        (at, _id, kind, reason, direction, _driver_id, name, licence, company, plate, station_code,
         station_name, operator, source, forced, note, annulled_at, raw_input, recorded_at, is_late,
         trailers, seals, exit_seals) = row
        if kind == "refused":
            result, reason_label = self.refused, self.reasons.get(reason, reason)
        else:
            result = self.annulled if annulled_at else self.forced if forced else self.accepted
            reason_label = ""
        if self.as_text:
            at, annulled_at = self.times.text(at), self.times.text(annulled_at)
            recorded_at = self.times.text(recorded_at)
        else:
            at = self.times.naive(at)
            annulled_at = self.times.naive(annulled_at) if annulled_at else ""
            recorded_at = self.times.naive(recorded_at) if recorded_at else ""
        safe = self.safe
        return [
            at,
            result,
            reason_label,
            self.directions.get(direction, direction or ""),
            safe(name or ""),
            safe(licence or ""),
            safe(company or ""),
            safe(plate or ""),
            safe(station_code or ""),
            safe(station_name or ""),
            safe(operator or ""),
            self.sources.get(source, source),
            self.yes if forced else self.no,
            safe(note or ""),
            annulled_at,
            # What was scanned, only when it is no driver's badge: a badge code is a credential.
            safe(raw_input or "") if not name else "",
            recorded_at,
            self.yes if is_late else self.no,
            safe(tag_list(trailers)),
            safe(tag_list(seals)),
            safe(tag_list(exit_seals)),
        ]


def file_name(cleaned: dict, extension: str) -> str:
    """e.g. historial_2026-11-01_a_2026-11-30_E1_entrada.csv: says what the file holds."""
    start, end = cleaned.get("date_from"), cleaned.get("date_to")
    if start or end:
        first, to = start or _("start"), _("to")  # outside the f-string, where makemessages finds them
        span = f"{first}_{to}_{end or date.today()}"
    else:
        span = _("all")
    parts = [_("history"), span]
    for key in ("station", "direction", "result", "driver", "company", "operator", "forced"):
        value = cleaned.get(key)
        if value:
            parts.append(getattr(value, "code", None) or getattr(value, "username", None) or str(value))
    name = "_".join(slugify(str(p)) or "x" for p in parts)
    return f"{name[:120]}.{extension}"


def describe_filters(form) -> list[tuple[str, str]]:
    """(label, value) of every filter applied in a bound, valid filter form, as shown on screen."""
    described = []
    for name, bound in form.fields.items():
        value = form.cleaned_data.get(name)
        if value in (None, "", [], ()):
            continue
        choices = dict(getattr(bound, "choices", None) or ()) if not hasattr(value, "pk") else {}
        shown = choices.get(value, value)
        described.append((str(bound.label), shown.isoformat() if isinstance(shown, date) else str(shown)))
    return described


def csv_chunks(rows, count: ExportCount | None = None):
    """The CSV's bytes: a BOM and the header first, then CHUNK_ROWS rows a chunk."""
    count = count or ExportCount()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header())
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    formatted = map(RowFormatter(), rows.tuples(chunk_size=CHUNK_ROWS))
    while True:
        batch = list(islice(formatted, CHUNK_ROWS))
        if not batch:
            return
        count.rows += len(batch)
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(batch)
        yield buffer.getvalue().encode("utf-8")


def xlsx_chunks(rows, filters: list[tuple[str, str]], count: ExportCount | None = None):
    """The XLSX's bytes: the history sheet, then a sheet of the filters and the row count."""
    count = count or ExportCount()
    columns = [Column(title, width, kind) for title, (width, kind) in zip(header(), COLUMN_LAYOUT)]
    # A callable: the query runs when the ZIP reaches the sheet, after the first bytes left.
    history = Sheet(_("History"), columns, lambda: map(RowFormatter(as_text=False), rows.tuples(chunk_size=CHUNK_ROWS)),
                    chunk_rows=CHUNK_ROWS)

    def about():
        count.rows, count.truncated = history.written, history.truncated
        yield from filters
        yield (_("Rows"), history.written)
        yield (_("Exported at"), timezone.localtime().replace(tzinfo=None, microsecond=0))
        if history.truncated:
            yield (_("Note"), _("An Excel sheet holds %(rows)s rows at most: these are the newest. "
                                "Export CSV, or narrow the dates, for the others.") % {"rows": history.written})

    filters_sheet = Sheet(_("Filters"), [Column(_("Filter"), 22), Column(_("Value"), 60, kind="any")], about)
    return stream_xlsx([history, filters_sheet])


def csv_response(rows, name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_chunks(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def xlsx_response(rows, name: str, filters: list[tuple[str, str]]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(xlsx_chunks(rows, filters), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
