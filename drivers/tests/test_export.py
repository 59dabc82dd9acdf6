"""History exports: exactly the filtered rows, CSV with a BOM, XLSX, streamed, plant time."""

import csv
import io
import zipfile
from datetime import datetime, timedelta

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone
from openpyxl import load_workbook

from drivers.models import Movement
from drivers.services import record_scan

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(make_driver, stations, caseta, settings):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    ana = make_driver(full_name="Ana Núñez", company="Fletes Sur")
    beto = make_driver(full_name="Beto Lara", company="Carga Norte")
    record_scan(code=ana.badge_code, station=stations["entry"], operator=caseta)
    record_scan(code=ana.badge_code, station=stations["exit"], operator=caseta)
    record_scan(code=beto.badge_code, station=stations["checkpoint"], operator=caseta)
    record_scan(code="HOLA", station=stations["gate"], operator=caseta)
    return {"ana": ana, "beto": beto}


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def read_csv(response):
    data = body(response)
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_holds_every_row_with_a_header_and_a_bom(sup, story):
    response = sup.get("/history/export/", {"format": "csv"})
    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"].startswith("text/csv")
    table = read_csv(response)
    assert len(table) == 1 + 4
    assert "Ana Núñez" in {row[4] for row in table[1:]}


def test_csv_holds_exactly_the_filtered_rows(sup, story):
    table = read_csv(sup.get("/history/export/", {"format": "csv", "driver": "ana"}))
    assert [row[4] for row in table[1:]] == ["Ana Núñez", "Ana Núñez"]
    table = read_csv(sup.get("/history/export/", {"format": "csv", "result": "refused"}))
    assert len(table) == 1 + 2


def test_times_are_in_the_plant_time_zone(sup, story, settings):
    movement = Movement.objects.order_by("id").first()
    expected = timezone.localtime(movement.at).strftime("%Y-%m-%d %H:%M:%S")
    table = read_csv(sup.get("/history/export/", {"format": "csv", "direction": "in"}))
    assert table[1][0] == expected


def test_the_file_name_says_what_it_holds(sup, story, stations):
    response = sup.get("/history/export/", {
        "format": "csv", "date_from": "2026-01-01", "date_to": "2026-01-31", "station": stations["entry"].pk})
    disposition = response["Content-Disposition"]
    assert "2026-01-01" in disposition and "2026-01-31" in disposition and "e1" in disposition.lower()
    assert disposition.endswith('.csv"')


def test_xlsx_holds_exactly_the_filtered_rows(sup, story):
    response = sup.get("/history/export/", {"format": "xlsx", "company": "fletes"})
    assert response.status_code == 200 and isinstance(response, StreamingHttpResponse)
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(body(response)), read_only=True).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 1 + 2
    assert {row[4] for row in values[1:]} == {"Ana Núñez"}
    first = Movement.objects.order_by("-at", "-id").first()
    assert values[1][0] == timezone.localtime(first.at).replace(tzinfo=None, microsecond=0) or \
        abs(values[1][0] - timezone.localtime(first.at).replace(tzinfo=None)) < timedelta(seconds=1)


def test_no_filter_exports_the_whole_history(sup, story):
    assert len(read_csv(sup.get("/history/export/"))) == 1 + 4


def test_an_unknown_format_or_bad_filter_is_a_400(sup, story):
    assert sup.get("/history/export/", {"format": "pdf"}).status_code == 400
    assert sup.get("/history/export/", {"format": "csv", "date_from": "ayer"}).status_code == 400


def test_export_needs_its_own_permission(client, caseta):
    client.force_login(caseta)
    assert client.get("/history/export/", {"format": "csv"}).status_code == 403


def test_the_export_streams_in_chunks_of_many_rows(sup, make_driver, stations, caseta, monkeypatch,
                                                   django_assert_max_num_queries):
    from drivers import exports

    monkeypatch.setattr(exports, "CHUNK_ROWS", 10)
    for _ in range(30):
        record_scan(code=make_driver().badge_code, station=stations["entry"], operator=caseta)
    response = sup.get("/history/export/", {"format": "csv"})
    with django_assert_max_num_queries(3):  # the rows come from one query, whatever their number
        chunks = list(response.streaming_content)
    assert len(chunks) == 1 + 3  # the header, then 10 rows a chunk (not one chunk per row)
    assert [chunk.count(b"\n") for chunk in chunks] == [1, 10, 10, 10]


def test_every_column_of_refused_forced_and_annulled_rows(sup, make_driver, stations, caseta, supervisor):
    from drivers.services import annul_movement, check_out

    carla, dani = make_driver(full_name="Carla Paz", plate="ABC-12"), make_driver(full_name="Dani Sol")
    record_scan(code=carla.badge_code, station=stations["entry"], operator=caseta)
    out = check_out(driver=carla, by=supervisor, reason="Salió a pie")
    dani_in = record_scan(code=dani.badge_code, station=stations["entry"], operator=caseta).movement
    annulled = annul_movement(movement=dani_in, by=supervisor, reason="Gafete equivocado")
    record_scan(code="HOLA", station=stations["gate"], operator=caseta)
    table = read_csv(sup.get("/history/export/", {"format": "csv"}))
    header, lines = table[0], table[1:]
    assert len(header) == 21 and all(len(line) == 21 for line in lines) and len(lines) == 4
    junk, annul, forced, entry = lines  # newest first
    local = lambda at: timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")  # noqa: E731
    assert junk[4] == "" and junk[8] == "G1" and junk[15] == "HOLA" and junk[1] != entry[1]
    assert annul[4] == "Dani Sol" and annul[14] == local(annulled.annulled_at)
    assert forced[0] == local(out.at) and forced[4] == "Carla Paz" and forced[13] == "Salió a pie"
    assert forced[8] == "" and forced[12] != entry[12]  # no station; forced "yes", not "no"
    assert entry[7] == "ABC-12" and entry[10] == caseta.username and entry[14] == "" and entry[15] == ""
    assert len({entry[1], forced[1], annul[1], junk[1]}) == 4  # accepted, forced, annulled, refused


def test_xlsx_times_are_real_dates_in_plant_time(sup, story):
    response = sup.get("/history/export/", {"format": "xlsx", "result": "accepted"})
    sheet = load_workbook(io.BytesIO(body(response))).active
    cell = sheet["A2"]
    first = Movement.objects.order_by("-at", "-id").first()
    assert cell.is_date and cell.number_format == "yyyy-mm-dd hh:mm:ss"
    assert abs(cell.value - timezone.localtime(first.at).replace(tzinfo=None)) < timedelta(milliseconds=1)


# Formula-safe spreadsheets: user-typed text is shown, never evaluated.
HOSTILE_NAME = '=HYPERLINK("http://x.example","clic")'
HOSTILE_SCANS = ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "\tx"]


@pytest.fixture
def hostile(make_driver, stations, caseta, settings):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    driver = make_driver(full_name="Eva Ruiz", company="Fletes Sur")
    # Driver.clean would tidy a typed name; the admin or an old import may store anything.
    driver.__class__.objects.filter(pk=driver.pk).update(full_name=HOSTILE_NAME, company="@Fletes", plate="\tx")
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    for raw in HOSTILE_SCANS:
        record_scan(code=raw, station=stations["gate"], operator=caseta)
    return driver


def test_csv_text_that_could_be_a_formula_starts_with_a_quote(sup, hostile):
    table = read_csv(sup.get("/history/export/", {"format": "csv"}))
    names = {row[4] for row in table[1:] if row[4]}
    assert names == {"'" + HOSTILE_NAME}
    assert {(row[6], row[7]) for row in table[1:] if row[4]} == {("'@Fletes", "'\tx")}
    scanned = {row[15] for row in table[1:] if row[15]}
    # The stored scanned text is trimmed of blanks, so "\tx" arrives as "x" (harmless).
    assert scanned == {"'=cmd|' /C calc'!A0", "'+1", "'-2", "'@SUM(A1)", "x"} == {
        ("'" + text) if text[:1] in "=+-@\t\r" else text for text in refused_texts()}


def refused_texts():
    from drivers.models import RefusedScan

    return set(RefusedScan.objects.values_list("raw_input", flat=True))


def test_xlsx_text_that_could_be_a_formula_is_a_string_cell_kept_as_typed(sup, hostile):
    response = sup.get("/history/export/", {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(body(response))).active
    rows = list(sheet.iter_rows(min_row=2))
    name_cells = [row[4] for row in rows if row[4].value]
    assert [(c.value, c.data_type) for c in name_cells] == [(HOSTILE_NAME, "s")]
    assert [(row[6].value, row[6].data_type) for row in rows if row[4].value] == [("@Fletes", "s")]
    assert [(row[7].value, row[7].data_type) for row in rows if row[4].value] == [("\tx", "s")]
    scanned = {row[15].value: row[15].data_type for row in rows if row[15].value}
    assert set(scanned) == refused_texts() == {"=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "x"}
    assert set(scanned.values()) == {"s"}
    assert "=cmd|' /C calc'!A0" in scanned and "@SUM(A1)" in scanned


def test_csv_text_rule_covers_every_formula_start():
    from drivers.exports import csv_text

    for text in ["=1", "+1", "-1", "@x", "\tx", "\rx"]:
        assert csv_text(text) == "'" + text
    assert csv_text("Ana") == "Ana" and csv_text("") == "" and csv_text("a=b") == "a=b"


def test_late_movements_show_when_they_were_recorded(sup, make_driver, stations, caseta, settings):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    on_time, late = make_driver(full_name="Ana Pronto"), make_driver(full_name="Beto Tarde")
    record_scan(code=on_time.badge_code, station=stations["entry"], operator=caseta)
    scanned = timezone.now() - timedelta(hours=2)
    record_scan(code=late.badge_code, station=stations["entry"], operator=caseta, scanned_at=scanned)
    record_scan(code="HOLA", station=stations["gate"], operator=caseta)
    moved = {m.driver.full_name: m for m in Movement.objects.select_related("driver")}
    assert moved["Beto Tarde"].is_late and not moved["Ana Pronto"].is_late
    local = lambda at: timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")  # noqa: E731

    table = read_csv(sup.get("/history/export/", {"format": "csv"}))
    assert table[0][16:18] == ["Registrado", "Tardío"]  # the users' language
    by_name = {row[4]: row for row in table[1:]}
    assert by_name["Beto Tarde"][0] == local(scanned)
    assert by_name["Beto Tarde"][16] == local(moved["Beto Tarde"].recorded_at) and by_name["Beto Tarde"][17] == "sí"
    assert by_name["Ana Pronto"][16] == local(moved["Ana Pronto"].recorded_at) and by_name["Ana Pronto"][17] == "no"
    assert by_name[""][16] == "" and by_name[""][17] == "no"  # a refused scan

    sheet = load_workbook(io.BytesIO(body(sup.get("/history/export/", {"format": "xlsx"})))).active
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0][16:18]) == ["Registrado", "Tardío"]
    by_name = {row[4]: row for row in values[1:]}
    recorded = timezone.localtime(moved["Beto Tarde"].recorded_at).replace(tzinfo=None)
    assert abs(by_name["Beto Tarde"][16] - recorded) < timedelta(seconds=1)
    assert by_name["Beto Tarde"][17] == "sí" and by_name["Ana Pronto"][17] == "no"


# Excel streamed from its first byte.
def test_xlsx_sends_its_first_bytes_before_reading_any_row(sup, story):
    from django.db import connection

    response = sup.get("/history/export/", {"format": "xlsx"})
    assert isinstance(response, StreamingHttpResponse)
    chunks = iter(response.streaming_content)
    queries = []  # the rows' query runs on a chunked cursor, which Django's query log skips

    def spy(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        first = next(chunks)
        assert first.startswith(b"PK\x03\x04") and queries == []  # a ZIP header, before any row is read
        rest = b"".join(chunks)
    assert len(queries) == 1  # then every row, from one query
    assert zipfile.ZipFile(io.BytesIO(first + rest)).testzip() is None  # every member's CRC holds


def test_xlsx_opens_with_a_bold_frozen_header_widths_dates_and_a_filters_sheet(sup, story, stations):
    response = sup.get("/history/export/", {"format": "xlsx", "station": stations["entry"].pk, "date_from": "2020-01-02"})
    workbook = load_workbook(io.BytesIO(body(response)))
    history, filters = workbook.worksheets
    assert history.title == "Historial" and filters.title == "Filtros"
    assert history.freeze_panes == "A2"
    assert [c.value for c in history[1]][:2] == ["Fecha y hora", "Resultado"] and all(c.font.b for c in history[1])
    assert history.column_dimensions["E"].width == 28
    rows = list(history.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 1 and rows[0][4] == "Ana Núñez" and isinstance(rows[0][0], datetime)
    assert history["A2"].is_date and history["A2"].number_format == "yyyy-mm-dd hh:mm:ss"
    about = {row[0]: row[1] for row in filters.iter_rows(min_row=2, values_only=True)}
    assert about["Desde"] == "2020-01-02" and about["Estación"] == str(stations["entry"])
    assert about["Filas"] == 1 and isinstance(about["Exportado"], datetime)


def test_xlsx_text_is_escaped_and_stripped_of_characters_xml_forbids(sup, make_driver, stations, caseta):
    driver = make_driver(full_name="Ana Paz")
    driver.__class__.objects.filter(pk=driver.pk).update(full_name="Ana <b>&amp;\x0bPaz\x01 ", company=" \rFletes")
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    sheet = load_workbook(io.BytesIO(body(sup.get("/history/export/", {"format": "xlsx"})))).active
    assert sheet["E2"].value == "Ana <b>&amp;Paz " and sheet["G2"].value == " \rFletes"


def test_xlsx_stops_at_excels_row_limit_and_says_so(sup, story, monkeypatch):
    from drivers import spreadsheets

    monkeypatch.setattr(spreadsheets, "MAX_ROWS", 4)  # Excel's is 1 048 576, the header included
    workbook = load_workbook(io.BytesIO(body(sup.get("/history/export/", {"format": "xlsx"}))))
    history, filters = workbook.worksheets
    assert len(list(history.iter_rows(min_row=2))) == 3  # the newest 3 of 4
    about = {row[0]: row[1] for row in filters.iter_rows(min_row=2, values_only=True)}
    assert about["Filas"] == 3 and "CSV" in about["Nota"]


def test_xlsx_cuts_a_text_longer_than_excel_allows_in_a_cell(sup, make_driver, stations, supervisor):
    from drivers.services import check_out

    driver = make_driver(full_name="Larga Razón")
    record_scan(code=driver.badge_code, station=stations["entry"], operator=supervisor)
    check_out(driver=driver, by=supervisor, reason="x" * 40_000)
    sheet = load_workbook(io.BytesIO(body(sup.get("/history/export/", {"format": "xlsx"})))).active
    assert sheet["N2"].value == "x" * 32_767


def test_both_exports_carry_the_visits_vehicle(sup, make_driver, stations, caseta, settings):
    from stations.models import Station

    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    Station.objects.filter(pk=stations["exit"].pk).update(checks_seals=True)
    stations["exit"].refresh_from_db()
    eva = make_driver(full_name="Eva Ríos")
    record_scan(code=eva.badge_code, station=stations["entry"], operator=caseta,
                vehicle={"plate": "XYZ-9", "trailers": ["REM-1", "REM-2"], "seals": ["=S1", "S2"]})
    record_scan(code=eva.badge_code, station=stations["exit"], operator=caseta, seals=["s2", "=s1"])
    table = read_csv(sup.get("/history/export/", {"format": "csv"}))
    assert table[0][-3:] == ["Remolques", "Sellos a la entrada", "Sellos a la salida"]
    exit_row, entry_row = table[1], table[2]
    assert entry_row[7] == "XYZ-9" and entry_row[18:] == ["REM-1, REM-2", "'=S1, S2", "S2, =S1"]
    assert exit_row[18:] == entry_row[18:]
    sheet = load_workbook(io.BytesIO(body(sup.get("/history/export/", {"format": "xlsx"})))).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-3:] == ("Remolques", "Sellos a la entrada", "Sellos a la salida")
    assert rows[2][18:] == ("REM-1, REM-2", "=S1, S2", "S2, =S1")
    assert "REM-1" in sup.get("/history/").content.decode()
