"""Streamed exports of the history: exactly the filtered rows, in flat memory.

CSV is written row by row into the response (UTF-8 with a BOM so Excel keeps accents).
XLSX is written by openpyxl in write-only mode (rows go to a temporary file as they come)
and the finished file is streamed from disk, then deleted.
"""

import csv
import tempfile
from datetime import date

from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from .models import Direction, Source
from .tables import REASON_LABELS, local_time, result_of

CHUNK_ROWS = 2000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def header() -> list[str]:
    return [
        _("Time"), _("Result"), _("Reason"), _("Direction"), _("Driver"), _("Licence"), _("Company"),
        _("Plate"), _("Station"), _("Station name"), _("Operator"), _("Source"), _("Forced"),
        _("Detail"), _("Annulled at"), _("Scanned text"),
    ]


def values(row, *, as_text: bool) -> list:
    directions, sources = dict(Direction.choices), dict(Source.choices)
    at = timezone.localtime(row["at"])
    annulled = timezone.localtime(row["annulled_at"]) if row["annulled_at"] else None
    return [
        local_time(row["at"]) if as_text else at.replace(tzinfo=None),
        _("Refused") if row["kind"] == "refused" else result_of(row)[1],
        str(REASON_LABELS.get(row["reason"], row["reason"])) if row["kind"] == "refused" else "",
        str(directions.get(row["direction"], row["direction"] or "")),
        row["driver_name"] or "",
        row["driver_license"] or "",
        row["driver_company"] or "",
        row["plate"] or "",
        row["station_code"] or "",
        row["station_name"] or "",
        row["operator_name"] or "",
        str(sources.get(row["source"], row["source"])),
        _("yes") if row["forced"] else _("no"),
        row["note"] or "",
        (local_time(row["annulled_at"]) if as_text else annulled.replace(tzinfo=None)) if annulled else "",
        # What was scanned, only when it is no driver's badge: a badge code is a credential.
        (row["raw_input"] or "") if not row["driver_name"] else "",
    ]


def file_name(cleaned: dict, extension: str) -> str:
    """e.g. historial_2026-11-01_a_2026-11-30_E1_entrada.csv: says what the file holds."""
    start, end = cleaned.get("date_from"), cleaned.get("date_to")
    if start or end:
        span = f"{start or _('start')}_{_('to')}_{end or date.today()}"
    else:
        span = _("all")
    parts = [_("history"), span]
    for key in ("station", "direction", "result", "driver", "company", "operator", "forced"):
        value = cleaned.get(key)
        if value:
            parts.append(getattr(value, "code", None) or getattr(value, "username", None) or str(value))
    name = "_".join(slugify(str(p)) or "x" for p in parts)
    return f"{name[:120]}.{extension}"


class _Echo:
    """A file-like object whose write() hands back the line for the generator to yield."""

    def write(self, value):
        return value


def csv_response(rows, name: str) -> StreamingHttpResponse:
    def generate():
        writer = csv.writer(_Echo())
        yield "\ufeff" + writer.writerow(header())
        for row in rows.iterator(chunk_size=CHUNK_ROWS):
            yield writer.writerow(values(row, as_text=True))

    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in generate()), content_type="text/csv; charset=utf-8"
    )
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
    for index, width in enumerate([20, 14, 18, 12, 28, 14, 24, 10, 8, 18, 14, 14, 8, 30, 20, 20]):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    for row in rows.iterator(chunk_size=CHUNK_ROWS):
        line = values(row, as_text=False)
        cells = []
        for value in line:
            cell = WriteOnlyCell(sheet, value=value)
            if hasattr(value, "hour"):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            cells.append(cell)
        sheet.append(cells)
    # Deleted when the response closes the file at the end of the download.
    spool = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(spool)
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=name, content_type=XLSX_TYPE)
