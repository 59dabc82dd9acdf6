"""Bulk import of drivers from the plant's spreadsheet (CSV or XLSX).

`parse()` reads the file and validates every row without touching the database beyond
one read of the licences already registered; `apply()` writes the valid rows in one
transaction. `import_drivers()` does both and is what the command and the upload page
call. The import is idempotent by licence number: a row whose licence exists updates
that driver (empty optional cells keep what is stored), a row whose data is already
stored is reported as unchanged, so the same file can be loaded twice.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from . import services
from .models import DocumentType, Driver, DriverDocument

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000  # records after the header, empty ones included
MAX_COLUMNS = 200  # cells further right are ignored (an XLSX) or refuse the file (a CSV)
MAX_LINE_CHARS = 20_000
# An XLSX is a zip: its members are checked before anything is decompressed.
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
MAX_ZIP_MEMBERS = 1000
FIELDS = ["full_name", "license_number", "company", "phone", "plate", "notes"]
REQUIRED = ["full_name", "license_number", "company"]
OPTIONAL = ["phone", "plate", "notes"]

# Header spellings, compared after dropping case, accents, spaces, _ - . and #.
HEADERS = {
    "full_name": {"nombre", "nombrecompleto", "nombredelchofer", "chofer", "conductor", "operador",
                  "fullname", "name", "drivername", "driver"},
    "license_number": {"licencia", "nolicencia", "numerolicencia", "numerodelicencia", "licencianumero",
                       "licensenumber", "license", "licence", "licencenumber", "licenseno", "licenceno"},
    "company": {"empresa", "compania", "transportista", "linea", "lineatransportista", "company",
                "carrier", "carriercompany"},
    "phone": {"telefono", "tel", "celular", "movil", "phone", "phonenumber", "mobile"},
    "plate": {"placa", "placas", "matricula", "plate", "plates", "vehicleplate", "licenseplate"},
    "notes": {"notas", "nota", "observaciones", "comentarios", "notes", "note", "comments"},
}


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (unreadable, no header, missing columns)."""


class Action:
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    REFUSE = "refuse"


@dataclass
class RowResult:
    row: int
    action: str
    license_number: str = ""
    full_name: str = ""
    reason: str = ""
    values: dict = field(default_factory=dict, repr=False)
    documents: dict = field(default_factory=dict, repr=False)  # DocumentType id -> expiry date


@dataclass
class ImportReport:
    rows: list[RowResult]
    columns: dict[str, str]  # our field -> the header as written in the file
    ignored_columns: list[str]
    dry_run: bool = True
    applied: bool = False

    def _count(self, action) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def created(self) -> int:
        return self._count(Action.CREATE)

    @property
    def updated(self) -> int:
        return self._count(Action.UPDATE)

    @property
    def unchanged(self) -> int:
        return self._count(Action.UNCHANGED)

    @property
    def refused(self) -> int:
        return self._count(Action.REFUSE)

    @property
    def refused_rows(self) -> list[RowResult]:
        return [r for r in self.rows if r.action == Action.REFUSE]

    def summary(self) -> str:
        text = _("%(created)d created, %(updated)d updated, %(unchanged)d unchanged, %(refused)d refused") % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "refused": self.refused,
        }
        if self.dry_run:
            text = _("Dry run, nothing written: %(text)s") % {"text": text}
        return text


def header_key(text) -> str:
    text = unicodedata.normalize("NFKD", str(text or ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def _decode(data: bytes) -> str:
    # Excel in Spanish saves "CSV" as cp1252; a UTF-8 BOM marks Excel's "CSV UTF-8".
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("The file's text encoding is not UTF-8 nor Latin-1."))  # pragma: no cover


NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _csv_rows(data: bytes):
    text = _decode(data)
    if NOT_TEXT.search(text):
        raise ImportFileError(_("This is not a CSV or Excel file."))
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max([";", ",", "\t", "|"], key=first_line.count)
    if first_line.count(delimiter) == 0:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            if len(record) > MAX_COLUMNS or sum(map(len, record)) > MAX_LINE_CHARS:
                raise csv.Error("too long")
            yield [cell.strip() for cell in record]
    except csv.Error:
        raise ImportFileError(
            _("Line %(line)d of the CSV file cannot be read: a cell too long, too many columns or a quote "
              "left open.") % {"line": reader.line_num}
        ) from None


def _check_zip(data: bytes) -> None:
    """Refuse a zip that would expand too far (a zip bomb) before decompressing anything.

    zipfile reads no more than each member's declared size, so the declared sizes bound the work.
    """
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ImportFileError(_("This Excel file cannot be read. Save it again as .xlsx or CSV.")) from None
    total = sum(m.file_size for m in members)
    too_dense = any(m.file_size > 1024 * 1024 and m.file_size > MAX_COMPRESSION_RATIO * max(m.compress_size, 1)
                    for m in members)
    if len(members) > MAX_ZIP_MEMBERS or total > MAX_UNCOMPRESSED_BYTES or too_dense:
        raise ImportFileError(
            _("This Excel file expands to more than %(mb)d MB or is compressed suspiciously well: "
              "save it again as .xlsx or CSV.") % {"mb": MAX_UNCOMPRESSED_BYTES // (1024 * 1024)}
        )


def _xlsx_rows(data: bytes):
    from openpyxl import load_workbook

    _check_zip(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception:
        raise ImportFileError(_("This Excel file cannot be read. Save it again as .xlsx or CSV.")) from None
    number = 0
    try:
        # The declared dimension is ignored (it may claim a million rows of 16 384 columns);
        # rows are padded to at most MAX_COLUMNS and the caller stops at the row limit, so
        # a far cell such as XFD1048576 costs one cheap empty row per row up to the limit.
        sheet.reset_dimensions()
        rows = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception:  # a malformed cell: text in a number, a bad reference or string index
                raise ImportFileError(
                    _("Row %(row)d of the Excel sheet cannot be read (a malformed cell). Save the file "
                      "again as .xlsx or CSV.") % {"row": number + 1}
                ) from None
            number += 1
            yield [] if values.count(None) == len(values) else [_cell_text(v) for v in values]
    finally:
        workbook.close()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a licence or phone typed as a number: 12345.0 -> "12345"
    return str(value).strip()


def read_rows(data: bytes, filename: str = ""):
    """Every record of the file as a list of cell texts (the first one is the header)."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(
            _("The file is too large: at most %(mb)d MB.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)}
        )
    if data[:4] == b"PK\x03\x04":  # a zip: XLSX, whatever its name says
        return _xlsx_rows(data)
    if filename.lower().endswith((".xls", ".xlsx", ".ods")) or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise ImportFileError(_("Only .xlsx and .csv files can be imported. Save the sheet as .xlsx or CSV."))
    if b"\x00" in data:
        raise ImportFileError(_("This is not a CSV or Excel file."))
    return _csv_rows(data)


def _map_header(header: list[str]) -> tuple[dict[str, int], dict[str, str], list[str]]:
    positions, written, ignored = {}, {}, []
    aliases = {alias: name for name, spellings in HEADERS.items() for alias in spellings}
    for index, cell in enumerate(header):
        name = aliases.get(header_key(cell))
        if name is None:
            if cell:
                ignored.append(cell)
            continue
        if name in positions:
            raise ImportFileError(
                _("Two columns mean the same thing: “%(a)s” and “%(b)s”.") % {"a": written[name], "b": cell}
            )
        positions[name], written[name] = index, cell
    missing = [n for n in REQUIRED if n not in positions]
    if missing:
        labels = {"full_name": "nombre", "license_number": "licencia", "company": "empresa"}
        raise ImportFileError(
            _("Missing columns: %(missing)s. The first row must name the columns, e.g. %(example)s.")
            % {
                "missing": ", ".join(labels[n] for n in missing),
                "example": "nombre; licencia; empresa; telefono; placa; notas",
            }
        )
    return positions, written, ignored


def _row_values(cells: list[str], positions: dict[str, int]) -> dict[str, str]:
    return {name: (cells[i] if i < len(cells) else "") for name, i in positions.items()}


def parse(data: bytes, filename: str = "") -> ImportReport:
    """Read and validate every row; decide create / update / unchanged / refuse for each."""
    records = read_rows(data, filename)
    header, header_row = None, 0
    for number, cells in enumerate(records, start=1):
        if any(cells):
            header, header_row = cells, number
            break
        if number > MAX_ROWS:
            raise ImportFileError(_("Too many rows: at most %(max)d per file.") % {"max": MAX_ROWS})
    if header is None:
        raise ImportFileError(_("The file is empty."))
    positions, written, ignored = _map_header(header)
    document_columns = _document_columns(header, ignored)

    rows: list[RowResult] = []
    seen: dict[str, int] = {}
    for number, cells in enumerate(records, start=header_row + 1):
        if number - header_row > MAX_ROWS:  # empty rows count: a sheet may claim a million of them
            raise ImportFileError(_("Too many rows: at most %(max)d per file.") % {"max": MAX_ROWS})
        if not any(cells):
            continue  # empty lines are common at the end of exported sheets
        raw = _row_values(cells, positions)
        values, errors = _checked(raw)
        problems = [
            _("%(column)s: %(message)s") % {"column": written[name], "message": " ".join(errors[name])}
            for name in raw
            if name in errors
        ]
        documents = _row_documents(cells, document_columns, header, problems)
        result = RowResult(
            row=number,
            action=Action.REFUSE,
            license_number=values["license_number"],
            full_name=values["full_name"],
            values=values,
            documents=documents,
        )
        if problems:
            result.reason = "; ".join(problems)
        elif values["license_number"] in seen:
            result.reason = _("Licence %(license)s is repeated: row %(row)d already has it.") % {
                "license": values["license_number"],
                "row": seen[values["license_number"]],
            }
        else:
            seen[values["license_number"]] = number
            result.action = Action.CREATE
        rows.append(result)

    _decide_existing(rows)
    return ImportReport(rows=rows, columns=written, ignored_columns=ignored)


def _checked(raw: dict[str, str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The row's values as the model stores them, and the model's messages per field.

    The driver's own rules (Driver.check_rules: no query per row); the licences already
    registered are read once for the whole file, and register_driver checks again.
    """
    candidate = Driver(**raw)
    try:
        candidate.check_rules()
        errors = {}
    except ValidationError as error:
        errors = error.message_dict
    return {name: getattr(candidate, name) for name in FIELDS}, errors


def _changes(driver: Driver, values: dict) -> dict:
    changed = {}
    for name in FIELDS:
        if name not in values or name == "license_number":
            continue
        if name in OPTIONAL and not values[name]:
            continue  # an empty optional cell keeps what is stored
        if getattr(driver, name) != values[name]:
            changed[name] = values[name]
    return changed


def _existing(licenses: list[str]) -> dict[str, Driver]:
    found = {}
    for start in range(0, len(licenses), 500):  # stay under SQLite's bound-parameter limit
        chunk = licenses[start : start + 500]
        for driver in Driver.objects.filter(license_number__in=chunk).only("pk", *FIELDS):
            found[driver.license_number] = driver
    return found


def _decide_existing(rows: list[RowResult]) -> dict[str, Driver]:
    candidates = [r for r in rows if r.action != Action.REFUSE]
    existing = _existing([r.license_number for r in candidates])
    for r in candidates:
        driver = existing.get(r.license_number)
        if driver is None:
            r.action = Action.CREATE
        elif _changes(driver, r.values):
            r.action = Action.UPDATE
            r.reason = ", ".join(str(Driver._meta.get_field(n).verbose_name) for n in _changes(driver, r.values))
        else:
            r.action = Action.UNCHANGED
    _decide_documents(candidates, existing)
    return existing


@transaction.atomic
def apply(report: ImportReport, *, by=None) -> ImportReport:
    """Write the report's valid rows in one transaction (all of them or none). The import
    jobs (drivers.importjobs) call apply_rows() per chunk instead."""
    apply_rows(report.rows, by=by)
    report.dry_run, report.applied = False, True
    return report


def apply_rows(rows: list[RowResult], *, by=None) -> None:
    """Write `rows` (their valid ones): the new drivers through services.register_drivers,
    the changes through services.update_driver, the document dates. Call it inside a
    transaction.

    The decisions are taken again here, so a driver registered at the gate since the check
    is updated instead of failing on the unique licence; the rows' actions say what was done.
    """
    existing = _decide_existing(rows)
    try:
        services.register_drivers(
            by=by,
            drivers=[{n: r.values.get(n, "") for n in FIELDS} for r in rows if r.action == Action.CREATE],
        )
        for r in rows:
            if r.action == Action.UPDATE and (changes := _changes(existing[r.license_number], r.values)):
                services.update_driver(driver=existing[r.license_number], by=by, **changes)
    except ValidationError as error:  # the rows were checked by the same rules: a change meanwhile
        raise ImportFileError(" ".join(error.messages)) from None
    except IntegrityError:
        raise ImportFileError(
            _("Another import or registration changed the same drivers at the same time. Try again.")
        ) from None
    _write_documents(rows)


def import_drivers(data: bytes, *, filename: str = "", by=None, dry_run: bool = True) -> ImportReport:
    """Parse `data` (CSV or XLSX bytes) and, unless `dry_run`, apply it. See the module doc."""
    report = parse(data, filename)
    if not dry_run:
        apply(report, by=by)
    return report


# --- documents: an optional column "<type code>_vence" per document type -----------------
# e.g. licencia_federal_vence = 31/01/2027. A date not yet stored for the driver adds a
# document of that type (renewals keep the old row: the latest date counts at the gate).

DOCUMENT_SUFFIX = "vence"


def _document_columns(header: list[str], ignored: list[str]) -> dict[int, DocumentType]:
    """{column index: DocumentType} for the header's "<code>_vence" columns, taken out of `ignored`."""
    by_key = {header_key(t.code) + DOCUMENT_SUFFIX: t for t in DocumentType.objects.all()}
    found = {}
    for index, cell in enumerate(header):
        kind = by_key.get(header_key(cell))
        if kind is not None:
            found[index] = kind
            if cell in ignored:
                ignored.remove(cell)
    return found


def _parse_day(text: str):
    text = text.strip()[:10]
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def _row_documents(cells, columns: dict[int, DocumentType], header, problems: list) -> dict:
    documents = {}
    for index, kind in columns.items():
        text = cells[index] if index < len(cells) else ""
        if not text:
            continue
        day = _parse_day(text)
        if day is None:
            problems.append(_("%(column)s: write the date as dd/mm/yyyy.") % {"column": header[index]})
        else:
            documents[kind.pk] = day
    return documents


def _stored_documents(driver_ids) -> set:
    stored = set()
    ids = list(driver_ids)
    for start in range(0, len(ids), 500):
        stored.update(DriverDocument.objects.filter(driver_id__in=ids[start:start + 500])
                      .values_list("driver_id", "doc_type_id", "expires_on"))
    return stored


def _decide_documents(rows: list[RowResult], existing: dict[str, Driver]) -> None:
    """A known driver whose row brings a document date not yet stored is an update."""
    with_documents = [r for r in rows if r.documents and r.license_number in existing]
    if not with_documents:
        return
    stored = _stored_documents(existing[r.license_number].pk for r in with_documents)
    names = dict(DocumentType.objects.values_list("pk", "name"))
    for r in with_documents:
        pk = existing[r.license_number].pk
        new = [names[t] for t, day in r.documents.items() if (pk, t, day) not in stored]
        if new:
            r.reason = ", ".join(filter(None, [r.reason, *new]))
            r.action = Action.UPDATE


def _write_documents(rows: list[RowResult]) -> None:
    rows = [r for r in rows if r.documents and r.action in (Action.CREATE, Action.UPDATE)]
    if not rows:
        return
    ids = {}
    licences = [r.license_number for r in rows]
    for start in range(0, len(licences), 500):
        ids.update(Driver.objects.filter(license_number__in=licences[start:start + 500])
                   .values_list("license_number", "pk"))
    stored = _stored_documents(ids.values())
    DriverDocument.objects.bulk_create([
        DriverDocument(driver_id=ids[r.license_number], doc_type_id=t, expires_on=day)
        for r in rows for t, day in r.documents.items()
        if (ids[r.license_number], t, day) not in stored
    ], batch_size=500)
