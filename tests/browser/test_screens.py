"""Screenshots of every monitoring screen, in Spanish and in English, for a human look.

Each screen is also checked for what a guard must see on it, so a broken page fails here.
"""

import pytest
from django.utils import timezone

from drivers import services
from drivers.models import Visit
from drivers.services import record_scan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def plant(stations, make_driver, caseta, supervisor, settings):
    """A morning at the plant: drivers inside, one over the stay, one banned and refused."""
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    people = [
        make_driver(full_name=name, company=company)
        for name, company in [
            ("José Ramírez Ortega", "Fletes Ramírez"), ("María Fernanda López", "Transportes del Norte"),
            ("Juan Carlos Peña", "Logística Bajío"), ("Ana Sofía Núñez", "Carga Pesada del Golfo"),
        ]
    ]
    for d in people[:3]:
        record_scan(code=d.badge_code, station=stations["entry"], operator=caseta)
        record_scan(code=d.badge_code, station=stations["checkpoint"], operator=caseta)
    record_scan(code=people[2].badge_code, station=stations["exit"], operator=caseta)
    late = make_driver(full_name="Pedro Infante Cruz", company="Autotransportes Sol")
    Visit.objects.create(driver=late, entered_at=timezone.now() - timezone.timedelta(hours=10),
                         last_seen_at=timezone.now(), entry_station=stations["entry"],
                         last_station=stations["checkpoint"])
    services.ban(driver=people[3], reason="Exceso de velocidad dentro del patio", by=supervisor)
    record_scan(code=people[3].badge_code, station=stations["gate"], operator=caseta)
    record_scan(code="HOLA123", station=stations["gate"], operator=caseta)
    return {"first": people[0], "banned": people[3]}


SCREENS = [
    ("menu", "/?menu", ".tiles"),
    ("dashboard", "/dashboard/", "#dashboard-live"),
    ("active", "/active/", "#active-live"),
    ("evacuation", "/active/evacuation/", "table.evacuation"),
    ("follow", "/follow/?driver={first}", "#driver-name"),
    ("follow_search", "/follow/?q=a", ".pick-list"),
    ("banned", "/banned/?q=ram", "#bans-in-force"),
    ("history", "/history/", "#history-table"),
    ("password", "/password/", "form"),
    ("language", "/language/", "form"),
]


@pytest.mark.parametrize("language", ["es", "en"])
def test_screenshots_of_every_screen(
    page, live_server, login, supervisor, caseta, plant, screenshot_dir, language
):
    supervisor.language = language
    supervisor.save()
    page.goto(f"{live_server.url}/login/")
    page.screenshot(path=str(screenshot_dir / f"monitor_login_{language}.png"))
    login(page, supervisor)
    for name, path, selector in SCREENS:
        page.goto(live_server.url + path.format(first=plant["first"].pk))
        page.wait_for_selector(selector)
        assert page.locator("html").get_attribute("lang") == language
        page.screenshot(path=str(screenshot_dir / f"monitor_{name}_{language}.png"), full_page=True)
    # What a booth operator meets when he opens a manager's screen.
    caseta.language = language
    caseta.save()
    page.context.clear_cookies()
    login(page, caseta)
    page.goto(f"{live_server.url}/history/")
    page.wait_for_selector(".forbidden")
    page.screenshot(path=str(screenshot_dir / f"monitor_403_{language}.png"))


def test_the_dashboard_on_a_tablet(page, live_server, login, supervisor, plant, screenshot_dir):
    page.set_viewport_size({"width": 800, "height": 1280})
    login(page, supervisor)
    page.goto(f"{live_server.url}/dashboard/")
    page.wait_for_selector("#dashboard-live")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 800, "the dashboard must not scroll sideways on a tablet"
    page.screenshot(path=str(screenshot_dir / "monitor_dashboard_tablet.png"), full_page=True)
