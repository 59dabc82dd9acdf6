"""The error pages in Chromium, as a guard meets them: screenshots for a human look."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.urls("qrgate.tests.urls_boom")
def test_error_pages_in_spanish(page, live_server, login, caseta, settings, screenshot_dir):
    settings.DEBUG = False
    settings.PLANT_NAME = "Planta Querétaro"
    login(page, caseta)
    for name, path, status, heading in [
        ("404", "/no-existe/", 404, "Esta página no existe"),
        ("403", "/history/", 403, "No permitido"),
        ("500", "/boom/", 500, "Algo falló en el sistema"),
    ]:
        response = page.goto(live_server.url + path)
        assert response.status == status
        assert page.locator("h1").inner_text() == heading
        assert "Planta Querétaro" in page.locator(".topbar").inner_text()
        page.screenshot(path=str(screenshot_dir / f"error_{name}_es.png"), full_page=True)
        page.click("text=Volver al menú")
        page.wait_for_load_state()
        assert page.url.rstrip("/").endswith("/scan") or page.url.endswith("/")
