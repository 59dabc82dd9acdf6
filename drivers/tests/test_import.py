"""Bulk import: messy real-world files give an exact per-row report; runs are idempotent."""

import io
import re
import time

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from drivers.importing import Action, ImportFileError, import_drivers
from drivers.models import Driver

pytestmark = pytest.mark.django_db

PHONE_RULE = "The phone number must have 7 to 15 digits (spaces, + and - are allowed)."

# What Excel in Spanish writes: semicolons, accents, spaces around headers, an extra column,
# empty lines, a repeated row, bad phones, missing required cells.
MESSY = (
    "Nombre ;LICENCIA; Empresa ;Teléfono;Placas;Observaciones;Extra\r\n"
    "Juan Pérez López;lic-001;Transportes del Norte;81 1234 5678;abc-123;;x\r\n"
    "\r\n"
    "María Ñúñez;LIC-002;Fletes Ramírez;tel 123;XYZ-987;Turno noche;\r\n"
    ";LIC-003;Fletes Ramírez;;;;\r\n"
    "José Gómez;LIC-004;;8112345678;;;\r\n"
    "Juan Pérez López;lic-001;Transportes del Norte;81 1234 5678;abc-123;;x\r\n"
    "Ana Ruiz;LIC-005;Fletes Sur;+52 (81) 555-0101;;;\r\n"
    "Pedro Ibáñez;LIC-900;Nueva Empresa;;;;\r\n"
    "Raúl Sin Cambios;LIC-901;Misma Línea;;;;\r\n"
    "Ana Ruiz;LIC-006;Fletes Sur;123;;;\r\n"
    ";;;;;;\r\n"
)

EXPECTED = [
    (2, Action.CREATE, "LIC-001", "Juan Pérez López", ""),
    (4, Action.REFUSE, "LIC-002", "María Ñúñez", f"Teléfono: {PHONE_RULE}"),
    (5, Action.REFUSE, "LIC-003", "", "Nombre: Write the driver's full name."),
    (6, Action.REFUSE, "LIC-004", "José Gómez", "Empresa: Write the carrier company."),
    (7, Action.REFUSE, "LIC-001", "Juan Pérez López", "Licence LIC-001 is repeated: row 2 already has it."),
    (8, Action.CREATE, "LIC-005", "Ana Ruiz", ""),
    (9, Action.UPDATE, "LIC-900", "Pedro Ibáñez", "carrier company"),
    (10, Action.UNCHANGED, "LIC-901", "Raúl Sin Cambios", ""),
    (11, Action.REFUSE, "LIC-006", "Ana Ruiz", f"Teléfono: {PHONE_RULE}"),
]


@pytest.fixture(autouse=True)
def english():
    # The assertions read the English source strings, whatever the catalogue translates.
    with translation.override("en"):
        yield


@pytest.fixture
def existing(make_driver):
    return [
        make_driver(full_name="Pedro Ibáñez", license_number="LIC-900", company="Vieja Empresa", phone="8111111111"),
        make_driver(full_name="Raúl Sin Cambios", license_number="LIC-901", company="Misma Línea", plate="AAA-111"),
    ]


def rows(report):
    return [(r.row, r.action, r.license_number, r.full_name, r.reason) for r in report.rows]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252", "utf-8"])
def test_a_messy_file_gives_the_exact_per_row_report(existing, encoding):
    report = import_drivers(MESSY.encode(encoding), filename="choferes.csv", dry_run=True)
    assert rows(report) == EXPECTED
    assert report.ignored_columns == ["Extra"]
    assert (report.created, report.updated, report.unchanged, report.refused) == (2, 1, 1, 5)
    assert report.summary() == "Dry run, nothing written: 2 created, 1 updated, 1 unchanged, 5 refused"
    assert Driver.objects.count() == 2  # a dry run writes nothing


def test_the_real_run_writes_the_valid_rows_and_is_idempotent(existing, administrador):
    report = import_drivers(MESSY.encode("cp1252"), filename="choferes.csv", by=administrador, dry_run=False)
    assert report.applied and (report.created, report.updated, report.refused) == (2, 1, 5)
    juan = Driver.objects.get(license_number="LIC-001")
    assert (juan.full_name, juan.company, juan.phone, juan.plate, juan.created_by) == (
        "Juan Pérez López", "Transportes del Norte", "81 1234 5678", "ABC-123", administrador)
    assert len(juan.badge_code) == 26
    pedro = Driver.objects.get(license_number="LIC-900")
    assert (pedro.company, pedro.phone) == ("Nueva Empresa", "8111111111")  # empty phone cell keeps his phone
    assert Driver.objects.get(license_number="LIC-901").plate == "AAA-111"
    assert Driver.objects.count() == 4

    again = import_drivers(MESSY.encode("cp1252"), filename="choferes.csv", dry_run=False)
    assert (again.created, again.updated, again.unchanged, again.refused) == (0, 0, 4, 5)
    assert Driver.objects.count() == 4


def test_headers_in_english_any_order_and_comma_separated():
    data = "PHONE,full name,Company,License_Number\n8112345678,Ann Smith,Acme Freight,x-100\n"
    report = import_drivers(data.encode(), dry_run=False)
    assert rows(report) == [(2, Action.CREATE, "X-100", "Ann Smith", "")]
    assert Driver.objects.get().phone == "8112345678"


def test_an_xlsx_sheet_is_read_with_numbers_as_text():
    wb = Workbook()
    ws = wb.active
    ws.append(["Empresa", "Licencia", "Nombre", "Teléfono", "Placa"])
    ws.append(["Fletes Sur", 123456, "Luis Torres", 8112345678, "abc 12"])
    ws.append([None, None, None, None, None])
    ws.append(["Fletes Sur", "LIC-2", "Eva Luna", 12.0, None])
    out = io.BytesIO()
    wb.save(out)
    report = import_drivers(out.getvalue(), filename="lista.xlsx", dry_run=False)
    assert rows(report) == [
        (2, Action.CREATE, "123456", "Luis Torres", ""),
        (4, Action.REFUSE, "LIC-2", "Eva Luna", f"Teléfono: {PHONE_RULE}"),
    ]
    luis = Driver.objects.get()
    assert (luis.license_number, luis.phone, luis.plate) == ("123456", "8112345678", "ABC 12")


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The file is empty."),
        (b"\n\n", "The file is empty."),
        ("nombre;telefono\nJuan;123\n".encode(), "Missing columns: licencia, empresa."),
        ("nombre;name;licencia;empresa\n".encode(), "Two columns mean the same thing"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old excel", "Only .xlsx and .csv files can be imported."),
        (b"PK\x03\x04broken zip", "This Excel file cannot be read."),
    ],
)
def test_a_file_that_cannot_be_imported_says_why(data, message):
    with pytest.raises(ImportFileError) as error:
        import_drivers(data, filename="x.csv", dry_run=False)
    assert message in str(error.value)
    assert not Driver.objects.exists()


# --- the command -------------------------------------------------------------------------

def test_the_command_dry_run_writes_nothing_and_prints_the_report(tmp_path, existing):
    path = tmp_path / "choferes.csv"
    path.write_bytes(MESSY.encode("utf-8-sig"))
    out = io.StringIO()
    call_command("import_drivers", str(path), "--dry-run", stdout=out)
    text = out.getvalue()
    assert "row 4: REFUSED LIC-002 María Ñúñez — Teléfono:" in text
    assert "row 7: REFUSED LIC-001 Juan Pérez López — Licence LIC-001 is repeated: row 2 already has it." in text
    assert text.strip().splitlines()[-1] == "Dry run, nothing written: 2 created, 1 updated, 1 unchanged, 5 refused"
    assert Driver.objects.count() == 2
    assert Driver.objects.get(license_number="LIC-900").company == "Vieja Empresa"


def test_the_command_imports_and_summarizes_in_one_line(tmp_path):
    path = tmp_path / "drivers.csv"
    path.write_text("nombre,licencia,empresa\nAna Ruiz,L-1,Fletes Sur\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_drivers", str(path), stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "1 created, 0 updated, 0 unchanged, 0 refused"
    assert Driver.objects.get().license_number == "L-1"


def test_the_command_fails_cleanly_on_a_missing_or_bad_file(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_drivers", str(tmp_path / "nope.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("a;b\n1;2\n")
    with pytest.raises(CommandError, match="Missing columns"):
        call_command("import_drivers", str(bad))


def test_ten_thousand_rows_import_in_a_few_seconds(make_driver):
    lines = ["nombre;licencia;empresa;telefono;placa"]
    lines += [f"Chofer Número {i};LIC{i:07d};Empresa {i % 40};81{i:08d};P{i:05d}" for i in range(10_000)]
    data = "\n".join(lines).encode("cp1252")
    for i in range(0, 400, 4):  # a hundred already registered, with another company
        make_driver(full_name=f"Chofer Número {i}", license_number=f"LIC{i:07d}", company="Vieja")
    started = time.perf_counter()
    dry = import_drivers(data, dry_run=True)
    checked = time.perf_counter()
    report = import_drivers(data, dry_run=False)
    done = time.perf_counter()
    print(f"\n10 000 rows: dry run {checked - started:.2f} s, import {done - checked:.2f} s")
    assert (dry.created, dry.updated, dry.refused) == (9_900, 100, 0)
    assert (report.created, report.updated) == (9_900, 100)
    assert Driver.objects.count() == 10_000
    assert done - checked < 60  # generous: slow CI machines; the print shows the real figure


# --- the upload page ---------------------------------------------------------------------

def upload(name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, "text/csv")


def test_only_whoever_may_import_sees_the_page(client, caseta, supervisor, administrador):
    url = reverse("drivers:import")
    assert client.get(url).status_code == 302
    for user in (caseta, supervisor):
        client.force_login(user)
        assert client.get(url).status_code == 403
    client.force_login(administrador)
    assert client.get(url).status_code == 200


def test_the_page_checks_first_and_writes_only_when_confirmed(client, administrador, existing):
    administrador.language = "en"
    administrador.save()
    client.force_login(administrador)
    url = reverse("drivers:import")
    response = client.post(url, {"file": upload("choferes.csv", MESSY.encode("cp1252"))})
    html = response.content.decode()
    assert response.status_code == 200 and "Check before importing" in html
    assert "Licence LIC-001 is repeated: row 2 already has it." in html
    assert Driver.objects.count() == 2
    token = response.context["token"]

    other = client.post(url, {"token": "0" * 32})
    assert "expired" in other.content.decode() and Driver.objects.count() == 2

    response = client.post(url, {"token": token})
    assert response.status_code == 302 and Driver.objects.count() == 2  # the worker imports it
    assert client.post(url, {"token": token}).context["report"] is None  # a token works once
    call_command("run_imports", "--once", stdout=io.StringIO())
    assert Driver.objects.count() == 4
    page = client.get(response.url).content.decode()
    assert "Import done" in page and "Licence LIC-001 is repeated: row 2 already has it." in page


def test_the_page_explains_a_bad_file(client, administrador):
    administrador.language = "en"
    administrador.save()
    client.force_login(administrador)
    response = client.post(reverse("drivers:import"), {"file": upload("x.csv", b"foo;bar\n1;2\n")})
    assert response.status_code == 400
    assert "Missing columns: nombre, licencia, empresa." in response.content.decode()


def test_a_document_column_per_type_code_adds_the_expiry_dates_once(make_driver):
    from datetime import date

    from drivers.models import DocumentType, DriverDocument

    licence = DocumentType.objects.create(code="licencia_federal", name="Licencia federal")
    known = make_driver(full_name="Pedro Ibáñez", license_number="LIC-900", company="Norte")
    data = ("nombre;licencia;empresa;licencia_federal_vence;otra\n"
            "Pedro Ibáñez;LIC-900;Norte;31/01/2027;x\n"
            "Ana Ruiz;LIC-005;Fletes Sur;2027-03-15;\n"
            "Luis Mal;LIC-006;Fletes Sur;mañana;\n").encode()
    report = import_drivers(data, filename="c.csv", dry_run=False)
    assert [(r.row, r.action) for r in report.rows] == [(2, Action.UPDATE), (3, Action.CREATE), (4, Action.REFUSE)]
    assert "licencia_federal_vence" in report.rows[2].reason and report.ignored_columns == ["otra"]
    docs = {(d.driver.license_number, d.doc_type_id, d.expires_on) for d in DriverDocument.objects.all()}
    assert docs == {("LIC-900", licence.pk, date(2027, 1, 31)), ("LIC-005", licence.pk, date(2027, 3, 15))}
    again = import_drivers(data, filename="c.csv", dry_run=False)
    assert [r.action for r in again.rows[:2]] == [Action.UNCHANGED, Action.UNCHANGED]
    assert DriverDocument.objects.count() == 2 and known.documents.count() == 1


# --- hostile or broken files: a clear error, nothing written, quickly ----------------------

import zipfile  # noqa: E402

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Choferes" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
STRINGS = ["nombre", "licencia", "empresa", "Juan Pérez", "LIC-1", "Fletes"]
HEADER_ROW = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>'
GOOD_ROW = '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2" t="s"><v>4</v></c><c r="C2" t="s"><v>5</v></c></row>'


def hand_written_xlsx(rows, *, dimension="A1:C2", extra=None):
    """An .xlsx written by hand, so its sheet XML can say what no spreadsheet program writes."""
    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>'
    )
    strings = "".join(f"<si><t>{s}</t></si>" for s in STRINGS)
    shared = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{strings}</sst>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        archive.writestr("xl/sharedStrings.xml", shared)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def refused_quickly(data, message, tmp_path):
    """The file is refused with `message` on the page's function and the command, in < 2 s."""
    started = time.monotonic()
    with pytest.raises(ImportFileError) as error:
        import_drivers(data, filename="choferes.xlsx", dry_run=False)
    assert time.monotonic() - started < 2  # a generous guard; the code never walks empty cells
    assert message in str(error.value)
    path = tmp_path / "choferes.xlsx"
    path.write_bytes(data)
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("import_drivers", str(path), stdout=io.StringIO())
    assert not Driver.objects.exists()


def test_the_hand_written_xlsx_is_read_when_it_is_well_formed():
    report = import_drivers(hand_written_xlsx(HEADER_ROW + GOOD_ROW), filename="c.xlsx", dry_run=True)
    assert rows(report) == [(2, Action.CREATE, "LIC-1", "Juan Pérez", "")]


@pytest.mark.parametrize(
    "bad_row",
    [
        '<row r="3"><c r="A3"><v>not a number</v></c></row>',  # a numeric cell holding text
        '<row r="3"><c r="A3" t="s"><v>999</v></c></row>',  # a shared string out of range
        '<row r="3"><c r="ZZZZZZ3" t="s"><v>3</v></c></row>',  # no such column
    ],
)
def test_a_malformed_cell_refuses_the_file_naming_the_row(bad_row, tmp_path):
    data = hand_written_xlsx(HEADER_ROW + GOOD_ROW + bad_row)
    refused_quickly(data, "Row 3 of the Excel sheet cannot be read (a malformed cell).", tmp_path)


def test_one_far_cell_is_refused_without_walking_a_million_empty_rows(tmp_path):
    far = '<row r="1048576"><c r="XFD1048576" t="s"><v>3</v></c></row>'
    data = hand_written_xlsx(HEADER_ROW + GOOD_ROW + far, dimension="A1:XFD1048576")
    assert len(data) < 2000
    refused_quickly(data, "Too many rows: at most 50000 per file.", tmp_path)


def test_empty_rows_count_towards_the_row_limit(monkeypatch):
    monkeypatch.setattr("drivers.importing.MAX_ROWS", 3)
    csv = "nombre;licencia;empresa\n" + "\n" * 3 + "Juan;LIC-1;Fletes\n"
    with pytest.raises(ImportFileError, match="Too many rows: at most 3 per file."):
        import_drivers(csv.encode(), filename="c.csv", dry_run=True)
    assert import_drivers(csv.replace("\n\n", "\n", 1).encode(), filename="c.csv", dry_run=True).created == 1


@pytest.mark.parametrize(
    "extra",
    [
        {"xl/media/bomb.xml": "<a>" + "0" * (40 * 1024 * 1024) + "</a>"},  # ratio ~1000
        {f"xl/media/{n}.bin": bytes(range(256)) * 4096 * 11 for n in range(5)},  # 55 MB in all
    ],
    ids=["ratio", "size"],
)
def test_a_zip_that_expands_too_far_is_refused_before_it_is_decompressed(extra, tmp_path):
    data = hand_written_xlsx(HEADER_ROW + GOOD_ROW, extra=extra)
    refused_quickly(data, "This Excel file expands to more than 50 MB", tmp_path)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"nombre;licencia;empresa\n" + b"x" * 200_000 + b";LIC-1;Fletes\n", "Line 2 of the CSV file cannot be read"),
        (b"nombre;licencia;empresa\n" + b";" * 5000 + b"\n", "Line 2 of the CSV file cannot be read"),
        (b"nombre;licencia;empresa\n" + b"a" * 5000 + b"\x00;LIC-1;Fletes\n", "This is not a CSV or Excel file."),
        (b"nombre;licencia;empresa\nJuan\x81\x8d\x02;LIC-1;Fletes\n", "This is not a CSV or Excel file."),
    ],
    ids=["huge-line", "too-many-columns", "nul", "undecodable"],
)
def test_a_hostile_csv_gets_a_clear_error(data, message, client, administrador):
    with pytest.raises(ImportFileError, match=re.escape(message)):
        import_drivers(data, filename="c.csv", dry_run=False)
    administrador.language = "en"
    administrador.save()
    client.force_login(administrador)
    response = client.post(reverse("drivers:import"), {"file": upload("c.csv", data)})
    assert response.status_code == 400 and message in response.content.decode()
    assert not Driver.objects.exists()
