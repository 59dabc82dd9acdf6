"""History: filter in the page, then export; the files hold exactly the filtered rows."""

import csv
import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from drivers.services import record_scan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_filter_then_export_csv_and_xlsx(page, live_server, login, supervisor, caseta, stations, make_driver,
                                         settings, screenshot_dir):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    ana = make_driver(full_name="Ana Núñez", company="Fletes Sur")
    beto = make_driver(full_name="Beto Lara", company="Carga Norte")
    for d in (ana, beto):
        record_scan(code=d.badge_code, station=stations["entry"], operator=caseta)
        record_scan(code=d.badge_code, station=stations["checkpoint"], operator=caseta)
    record_scan(code=ana.badge_code, station=stations["entry"], operator=caseta)  # refused: already inside
    record_scan(code="BASURA", station=stations["entry"], operator=caseta)  # refused: invalid

    login(page, supervisor)
    page.goto(f"{live_server.url}/history/")
    expect(page.locator("#history-table tbody tr")).to_have_count(6)
    page.select_option("#id_station", str(stations["entry"].pk))
    page.fill("#id_company", "fletes")
    page.click("#history-filters button[type=submit]")
    # Ana's entry and her refused second entry at E1 (the invalid scan has no company).
    expect(page.locator("#history-table tbody tr")).to_have_count(2)
    page.screenshot(path=str(screenshot_dir / "history_filtered.png"), full_page=True)

    with page.expect_download() as info:
        page.click("#export-csv")
    download = info.value
    assert download.suggested_filename.endswith(".csv") and "e1" in download.suggested_filename
    data = open(download.path(), "rb").read()
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(table) == 3
    assert {row[4] for row in table[1:]} == {"Ana Núñez"}
    assert {row[8] for row in table[1:]} == {"E1"}

    with page.expect_download() as info:
        page.click("#export-xlsx")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(open(download.path(), "rb").read()), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 3
    assert {r[4] for r in rows[1:]} == {"Ana Núñez"} and {r[8] for r in rows[1:]} == {"E1"}


def test_save_the_filters_under_a_name_and_find_them_in_the_menu(page, live_server, login, supervisor, caseta,
                                                                  stations, make_driver, settings, screenshot_dir):
    from accounts.models import Role
    from conftest import make_user
    from reports.services import save_filter

    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    for name in ("Ana Núñez", "Beto Lara"):
        record_scan(code=make_driver(full_name=name).badge_code, station=stations["entry"], operator=caseta)
    other = make_user("gerente", Role.SUPERVISOR, first_name="Laura", last_name="Gil", email="laura@plant.example")
    save_filter(by=other, name="Salidas de hoy", query={"direction": "out"}, period="today", shared=True)

    login(page, supervisor)
    page.goto(f"{live_server.url}/history/")
    page.select_option("#id_station", str(stations["entry"].pk))
    page.click("#history-filters button[type=submit]")
    page.click("#saved-filters summary")
    page.fill("#save-filter input[name=name]", "Báscula, semana pasada")
    page.select_option("#save-filter select[name=period]", "last_week")
    page.check("#save-filter input[name=shared]")
    page.click("#save-filter button[type=submit]")
    # Back on the history with the saved filter applied: last week's dates, station E1.
    expect(page.locator("#id_station")).to_have_value(str(stations["entry"].pk))
    expect(page.locator("#id_date_from")).not_to_have_value("")
    page.click("#saved-filters summary")
    menu = page.locator("#saved-filters .saved-list")
    expect(menu).to_contain_text("Báscula, semana pasada")
    expect(menu).to_contain_text("compartido por Laura Gil")
    page.screenshot(path=str(screenshot_dir / "history_saved_filters.png"), full_page=False)

    page.click("text=Salidas de hoy")
    expect(page.locator("#id_direction")).to_have_value("out")

    # Schedule one's own filter: every Monday at 07:00, to Laura.
    page.click("#saved-filters summary")
    page.click("#saved-filters >> text=Programar / envíos")
    page.select_option("#id_frequency", "weekly")
    page.select_option("#id_weekday", "0")
    page.select_option("#id_hour", "7")
    page.check("text=Laura Gil <laura@plant.example>")
    page.click("#schedule-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Informe programado")
    expect(page.locator("main")).to_contain_text("Programado: Lunes a las 07:00")
    page.screenshot(path=str(screenshot_dir / "report_schedule.png"), full_page=True)
