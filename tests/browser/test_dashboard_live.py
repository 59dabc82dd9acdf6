"""The dashboard updates by itself within 2 s of a scan anywhere, without a reload."""

import pytest
from playwright.sync_api import expect

from drivers import services
from drivers.services import record_scan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_scan_shows_on_an_open_dashboard_within_two_seconds(
    page, live_server, login, supervisor, caseta, stations, make_driver, screenshot_dir
):
    driver = make_driver(full_name="Marta Live", company="Fletes Vivos")
    login(page, supervisor)
    page.goto(f"{live_server.url}/dashboard/")
    expect(page.locator("#fig-entries")).to_have_text("0")
    page.evaluate("window.__loadedOnce = true")  # gone if the page reloads

    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)

    expect(page.locator("#fig-entries")).to_have_text("1", timeout=2000)
    expect(page.locator("#fig-inside")).to_have_text("1", timeout=500)
    expect(page.locator("#latest-events")).to_contain_text("Marta Live", timeout=500)
    assert page.evaluate("window.__loadedOnce") is True
    page.screenshot(path=str(screenshot_dir / "dashboard_live_after_scan.png"), full_page=True)


def test_a_banned_driver_at_the_gate_alarms_every_open_dashboard(
    browser, live_server, login, supervisor, administrador, caseta, stations, make_driver, screenshot_dir
):
    driver = make_driver(full_name="Bruno Vetado")
    services.ban(driver=driver, reason="Robo de combustible", by=supervisor)
    pages = []
    for user in (supervisor, administrador):
        context = browser.new_context(locale="es-MX", viewport={"width": 1280, "height": 800})
        p = context.new_page()
        login(p, user)
        p.goto(f"{live_server.url}/dashboard/")
        expect(p.locator("#dashboard-live")).to_be_visible()
        pages.append(p)

    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)

    for p in pages:
        expect(p.locator(".ban-alert")).to_contain_text("Bruno Vetado", timeout=2000)
        expect(p.locator(".ban-alert")).to_contain_text("Robo de combustible")
        expect(p.locator("body")).to_have_attribute("data-alerts", "1", timeout=1000)  # the sound's trigger
    pages[0].screenshot(path=str(screenshot_dir / "dashboard_banned_alert.png"), full_page=False)
    for p in pages:
        p.context.close()
