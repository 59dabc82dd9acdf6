"""History exports: exactly the filtered rows, CSV with a BOM, XLSX, streamed, plant time."""

import csv
import io
from datetime import timedelta

import pytest
from django.http import FileResponse, StreamingHttpResponse
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
    assert response.status_code == 200 and isinstance(response, FileResponse)
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
    assert len(header) == 16 and all(len(line) == 16 for line in lines) and len(lines) == 4
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
