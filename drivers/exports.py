"""Streamed exports of the history: exactly the filtered rows, in flat memory.

Both formats read the rows as plain tuples from one query streamed in chunks
(HistoryRows.tuples), not as model instances or dicts, and everything that is the same for
every row is done once: labels translated into dicts, the plant's UTC offset computed once
per hour of data (LocalTimes). CSV (UTF-8 with a BOM so Excel keeps accents) is written by
csv.writer into a small buffer handed to the response every CHUNK_ROWS rows. XLSX is
written by openpyxl in write-only mode (rows go to a temporary file as they come) and the
finished file is streamed from disk, then deleted.

Formula-safe: user-typed text (names, companies, reasons, scanned text, usernames) is
shown by a spreadsheet, never run. CSV: csv_text() puts a ' before a text that starts like
a formula. XLSX: such text is kept as typed in a string cell, which is never a formula.
"""

import csv
import io
import tempfile
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from itertools import islice

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .models import Direction, ScanReason, Source

CHUNK_ROWS = 2000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
TEXT_COLUMNS = (4, 5, 6, 7, 8, 9, 10, 13, 15)  # user-typed text: driver, company ... scanned text


def header() -> list[str]:
    return [
        _("Time"), _("Result"), _("Reason"), _("Direction"), _("Driver"), _("Licence"), _("Company"),
        _("Plate"), _("Station"), _("Station name"), _("Operator"), _("Source"), _("Forced"),
        _("Detail"), _("Annulled at"), _("Scanned text"), _("Recorded at"), _("Late"),
    ]


# What Excel and LibreOffice take for the start of a formula (or, for a tab or a carriage
# return, hide in front of one) when the cell's text begins with it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value: str) -> bool:
    return value.startswith(FORMULA_STARTS)


def csv_text(value: str) -> str:
    """Text for a CSV cell that no spreadsheet runs: a leading ' when it could be a formula.

    The one rule for every text that reaches a spreadsheet (issue "trust"): a driver named
    =HYPERLINK(...) or a badge scanned as =cmd|... must be shown, never evaluated. Excel
    and LibreOffice show a cell starting with ' as the text after it. An XLSX cell needs
    no prefix: it is written as a string cell (see xlsx_response), which is never a formula.
    """
    return "'" + value if value and value.startswith(FORMULA_STARTS) else value


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


class RowFormatter:
    """Turns a history tuple into the export's 18 columns; labels translated once.

    as_text: times as text and user-typed text made formula-safe for CSV; otherwise
    naive plant datetimes and the text unchanged, for a writer of typed cells.
    """

    def __init__(self, *, as_text: bool = True):
        self.as_text = as_text
        self.safe = csv_text if as_text else (lambda value: value)
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
         station_name, operator, source, forced, note, annulled_at, raw_input, recorded_at, is_late) = row
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


def csv_response(rows, name: str) -> StreamingHttpResponse:
    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header())
        yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
        formatted = map(RowFormatter(), rows.tuples(chunk_size=CHUNK_ROWS))
        while True:
            buffer.seek(0)
            buffer.truncate()
            writer.writerows(islice(formatted, CHUNK_ROWS))
            chunk = buffer.getvalue()
            if not chunk:
                return
            yield chunk.encode("utf-8")

    response = StreamingHttpResponse(generate(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def xlsx_response(rows, name: str) -> FileResponse:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("History")[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    titles = []
    for title in header():
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        titles.append(cell)
    sheet.append(titles)
    for index, width in enumerate([20, 14, 18, 12, 28, 14, 24, 10, 8, 18, 14, 14, 8, 30, 20, 20, 20, 8]):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    formatter = RowFormatter(as_text=False)
    for row in rows.tuples(chunk_size=CHUNK_ROWS):
        line = formatter(row)
        # Plain values (openpyxl reuses one cell for them); a cell of our own only for the
        # times, to give them a full date-and-time format. Empty cells stay empty.
        at = WriteOnlyCell(sheet, value=line[0])
        at.number_format = XLSX_TIME_FORMAT
        line[0] = at
        if line[14]:
            annulled = WriteOnlyCell(sheet, value=line[14])
            annulled.number_format = XLSX_TIME_FORMAT
            line[14] = annulled
        if line[16]:
            recorded = WriteOnlyCell(sheet, value=line[16])
            recorded.number_format = XLSX_TIME_FORMAT
            line[16] = recorded
        for index in TEXT_COLUMNS:
            value = line[index]
            if value and looks_like_formula(value):
                cell = WriteOnlyCell(sheet, value=value)
                cell.data_type = "s"  # a string cell, shown as typed, never a formula
                line[index] = cell
        sheet.append([value if value != "" else None for value in line])
    # Deleted when the response closes the file at the end of the download.
    spool = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=name, content_type=XLSX_TYPE)
