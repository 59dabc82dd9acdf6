"""The gate's checks on the scan screen in a real Chromium: the route and its stops on the
result, a refused exit for an unfinished route, the seal field before the badge, the
vehicle form after an accepted entry."""

import re

import pytest
from playwright.sync_api import expect

from drivers.models import Movement, Visit
from stations.models import Route, RouteStop, Station, StationKind

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def scan_with_scanner(page, code):
    page.keyboard.type(code, delay=8)
    page.keyboard.press("Enter")


def expect_result(page, level, timeout=8000):
    result = page.locator("#scan-result")
    expect(result).to_be_visible(timeout=timeout)
    expect(result).to_have_class(re.compile(rf"\blevel-{level}\b"), timeout=timeout)
    return result


@pytest.fixture
def plant(stations):
    dock = Station.objects.create(name="Andén 3", code="A3", kind=StationKind.CHECKPOINT)
    route = Route.objects.create(code="DESC", name="Descarga")
    RouteStop.objects.create(route=route, station=stations["checkpoint"], position=1)
    RouteStop.objects.create(route=route, station=dock, position=2)
    Station.objects.filter(code="E1").update(default_route=route, asks_vehicle=True)
    Station.objects.filter(code="S1").update(checks_seals=True)
    return route


def test_a_truck_that_skipped_a_stop_is_held_at_the_exit_and_the_screen_says_where(
        page, login, live_server, caseta, driver, plant, screenshot_dir, settings):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    login(page, caseta)
    page.goto(f"{live_server.url}/scan/?station=E1")
    expect(page.locator("#scan-route-select")).to_be_visible()
    expect(page.locator("#scan-route-select option").first).to_contain_text("Descarga")
    scan_with_scanner(page, driver.badge_code)
    result = expect_result(page, "entry")
    expect(result.locator(".result-route-stop")).to_have_count(2)
    expect(result.locator(".stop-missing")).to_have_count(2)

    # The vehicle form after the entry: the driver's usual plate pre-filled.
    dialog = page.locator("#vehicle-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#vehicle-plate")).to_have_value(driver.plate)
    page.fill("#vehicle-trailers", "rem-77")
    page.fill("#vehicle-seals", "SL-100, SL-200")
    page.screenshot(path=screenshot_dir / "gate_vehicle_form.png")
    page.click("#vehicle-save")
    expect(dialog).to_be_hidden()
    expect(page.locator("#scan-result")).to_contain_text("REM-77", timeout=5000)
    visit = Visit.objects.get()
    assert (visit.route, visit.trailers, visit.seals) == (plant, ["REM-77"], ["SL-100", "SL-200"])

    # Only the weighbridge: at the exit (seals given right) the route holds him.
    page.goto(f"{live_server.url}/scan/?station=C1")
    expect(page.locator("#scan-station-name")).to_contain_text("C1")
    scan_with_scanner(page, driver.badge_code)
    expect_result(page, "pass")
    page.goto(f"{live_server.url}/scan/?station=S1")
    expect(page.locator("#scan-seals-input")).to_be_visible()
    page.fill("#scan-seals-input", "sl 200, sl-100")
    page.keyboard.press("Enter")
    expect(page.locator("#scan-seals-armed")).to_contain_text("SL 200, SL-100")
    expect(page.locator("#scan-input")).to_be_focused()
    scan_with_scanner(page, driver.badge_code)
    result = expect_result(page, "refused")
    expect(result).to_contain_text("Andén 3")
    expect(result.locator(".stop-done")).to_contain_text("Báscula 1")
    expect(result.locator(".stop-missing")).to_contain_text("Andén 3")
    page.screenshot(path=screenshot_dir / "gate_exit_route_incomplete.png")
    assert Visit.objects.get().left_at is None
    assert not Movement.objects.filter(direction="out").exists()


def test_the_seal_field_comes_before_the_badge_and_a_swapped_seal_is_refused(
        page, login, live_server, caseta, driver, stations, screenshot_dir):
    Station.objects.filter(code="S1").update(checks_seals=True)
    from drivers.services import record_scan

    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta,
                vehicle={"seals": ["SL-100", "SL-200"]})
    login(page, caseta)
    page.goto(f"{live_server.url}/scan/?station=S1")
    seals = page.locator("#scan-seals-input")
    expect(seals).to_be_visible()
    page.screenshot(path=screenshot_dir / "gate_seal_field.png")
    seals.fill("SL-100, SL-999")
    page.keyboard.press("Enter")
    expect(page.locator("#scan-input")).to_be_focused()
    scan_with_scanner(page, driver.badge_code)
    result = expect_result(page, "refused")
    expect(result).to_contain_text("SL-200")
    expect(result).to_contain_text("SL-999")
    page.screenshot(path=screenshot_dir / "gate_seal_mismatch.png")
    assert Visit.objects.get().left_at is None

    # The seals are cleared after a scan; the right ones let him out.
    expect(page.locator("#scan-seals-armed")).to_be_hidden()
    page.keyboard.press("Escape")
    seals.fill("sl200 ; SL100")
    page.keyboard.press("Enter")
    scan_with_scanner(page, driver.badge_code)
    expect_result(page, "exit")
    assert Visit.objects.get().exit_seals == ["SL200", "SL100"]
