"""The supervisor's screens of the gate's checks in a real Chromium, in Spanish: the follow
page with documents and route stops, the documents expiring, the turnaround report."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from drivers.models import DocumentType, DriverDocument, Visit
from drivers.services import record_scan
from stations.models import Route, RouteStop, Station, StationKind

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_supervisor_reads_documents_route_and_turnaround(
        page, login, live_server, supervisor, caseta, driver, stations, screenshot_dir):
    dock = Station.objects.create(name="Andén 3", code="A3", kind=StationKind.CHECKPOINT)
    route = Route.objects.create(code="DESC", name="Descarga")
    RouteStop.objects.create(route=route, station=stations["checkpoint"], position=1)
    RouteStop.objects.create(route=route, station=dock, position=2)
    licence = DocumentType.objects.create(code="licencia_federal", name="Licencia federal", required=True)
    today = timezone.localdate()
    DriverDocument.objects.create(driver=driver, doc_type=licence, number="LF-1", expires_on=today + timedelta(days=4))
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta, route="DESC",
                vehicle={"plate": "XYZ-1", "trailers": ["REM-9"], "seals": ["S-77"]})
    record_scan(code=driver.badge_code, station=stations["checkpoint"], operator=caseta)
    left = timezone.now() - timedelta(hours=2)
    Visit.objects.create(driver=driver, entered_at=left - timedelta(minutes=95), left_at=left,
                         entry_station=stations["entry"], last_station=stations["exit"], last_seen_at=left,
                         route=route)

    login(page, supervisor)
    page.goto(f"{live_server.url}/follow/?driver={driver.pk}")
    expect(page.locator("#route-state .stop-done")).to_contain_text("Báscula 1")
    expect(page.locator("#route-state .stop-missing")).to_contain_text("Andén 3")
    expect(page.locator("#documents")).to_contain_text("vence en 4 días")
    page.screenshot(path=screenshot_dir / "gate_follow.png", full_page=True)

    page.goto(f"{live_server.url}/documents/expiring/")
    expect(page.locator("#expiring-documents")).to_contain_text("Licencia federal")
    page.screenshot(path=screenshot_dir / "gate_documents_expiring.png", full_page=True)

    page.goto(f"{live_server.url}/reports/turnaround/")
    expect(page.locator("#id_date_to")).to_have_value(today.isoformat())
    expect(page.locator("table.turnaround").first).to_contain_text("Fletes Ramírez")
    expect(page.locator("table.turnaround").first).to_contain_text("1 h 35 min")
    page.screenshot(path=screenshot_dir / "gate_turnaround.png", full_page=True)
