"""Documents expiring and turnaround: what the supervisor reads and exports."""

import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from drivers import selectors
from drivers.models import DocumentType, DriverDocument, Visit
from stations.models import Route

pytestmark = pytest.mark.django_db


def give(driver, doc_type, days, number=""):
    return DriverDocument.objects.create(driver=driver, doc_type=doc_type, number=number,
                                         expires_on=timezone.localdate() + timedelta(days=days))


def csv_rows(response):
    return list(csv.reader(io.StringIO(b"".join(response).decode("utf-8-sig"))))


@pytest.fixture
def licence(db):
    return DocumentType.objects.create(code="licencia_federal", name="Licencia federal", warn_days=15)


def test_the_expiring_page_lists_the_latest_documents_within_their_warning_days(
        sup, make_driver, licence):
    soon, later, renewed, gone = (make_driver(full_name=n) for n in ("Ana Pronto", "Beto Tarde", "Ciro Renovó",
                                                                     "Dora Vencida"))
    give(soon, licence, 10, "LF-1")
    give(later, licence, 40)
    give(renewed, licence, 3)
    give(renewed, licence, 300)
    give(gone, licence, -2)
    page = sup.get("/documents/expiring/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Ana Pronto" in text and "Dora Vencida" in text
    assert "Beto Tarde" not in text and "Ciro Renovó" not in text
    assert text.index("Dora Vencida") < text.index("Ana Pronto")  # soonest first
    hidden = sup.get("/documents/expiring/?expired=0").content.decode()
    assert "Dora Vencida" not in hidden and "Ana Pronto" in hidden


def test_the_expiring_csv_is_formula_safe(sup, make_driver, licence):
    give(make_driver(full_name="=HYPERLINK(1)"), licence, 5, "N1")
    response = sup.get("/documents/expiring/?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response)
    assert rows[1][0] == "'=HYPERLINK(1)" and rows[1][3] == "Licencia federal" and rows[1][6] == "5"


def visit(driver, station, minutes, *, route=None, left=None):
    left = left or timezone.now() - timedelta(hours=1)
    return Visit.objects.create(driver=driver, entered_at=left - timedelta(minutes=minutes), left_at=left,
                                entry_station=station, last_station=station, last_seen_at=left, route=route)


def test_turnaround_gives_median_p90_and_longest_per_company(make_driver, stations):
    norte = make_driver(company="Norte")
    sur = make_driver(company="Sur")
    for minutes in (10, 20, 30, 40, 50, 60, 70, 80, 90, 100):
        visit(norte, stations["entry"], minutes)
    visit(sur, stations["gate"], 45)
    now = timezone.now()
    rows = {r["label"]: r for r in selectors.turnaround(now - timedelta(days=1), now, "company")}
    assert rows["Norte"]["visits"] == 10
    assert round(rows["Norte"]["median"]) == 50 * 60  # nearest rank: the 5th of 10
    assert round(rows["Norte"]["p90"]) == 90 * 60  # the 9th of 10
    assert round(rows["Norte"]["longest"]) == 100 * 60
    assert rows["Sur"]["visits"] == 1 and round(rows["Sur"]["median"]) == 45 * 60


def test_turnaround_by_route_and_station_and_only_visits_that_left_in_the_range(make_driver, stations):
    route = Route.objects.create(code="DESC", name="Descarga")
    d = make_driver()
    visit(d, stations["entry"], 30, route=route)
    visit(d, stations["gate"], 60, left=timezone.now() - timedelta(days=10))  # outside the range
    Visit.objects.create(driver=make_driver(), entered_at=timezone.now(), last_seen_at=timezone.now())  # open
    now = timezone.now()
    by_route = selectors.turnaround(now - timedelta(days=1), now, "route")
    assert [(r["label"], r["visits"]) for r in by_route] == [("Descarga", 1)]
    by_station = selectors.turnaround(now - timedelta(days=1), now, "station")
    assert [(r["label"], r["visits"]) for r in by_station] == [("Entrada 1", 1)]


def test_turnaround_counts_an_evening_visit_in_its_plant_day(make_driver, stations):
    """A truck that left at 19:30 in Mexico City (01:30 UTC the next day) belongs to that
    plant day, whatever the hour the report is read at."""
    plant = ZoneInfo("America/Mexico_City")
    start = datetime(2026, 3, 10, tzinfo=plant)
    visit(make_driver(company="Tarde"), stations["entry"], 30, left=datetime(2026, 3, 10, 19, 30, tzinfo=plant))
    visit(make_driver(company="Mañana"), stations["entry"], 30, left=datetime(2026, 3, 11, 0, 30, tzinfo=plant))
    rows = selectors.turnaround(start, start + timedelta(days=1), "company")
    assert [(r["label"], r["visits"]) for r in rows] == [("Tarde", 1)]


def test_the_turnaround_page_and_its_csv(sup, make_driver, stations):
    d = make_driver(company="Fletes Norte")
    visit(d, stations["entry"], 90)
    today = timezone.localdate()
    page = sup.get(f"/reports/turnaround/?date_from={today - timedelta(days=2)}&date_to={today}")
    text = page.content.decode()
    assert page.status_code == 200 and "Fletes Norte" in text and "1 h 30 min" in text
    rows = csv_rows(sup.get(f"/reports/turnaround/?date_from={today}&date_to={today}&format=csv"))
    assert ["Fletes Norte", "1", "90.0", "90.0", "90.0"] == rows[1][1:]
    assert rows[-1][0] in ("Visits per day", "Visitas por día") and rows[-1][2] == "1"


def test_the_turnaround_page_refuses_a_backwards_range_without_a_500(sup):
    page = sup.get("/reports/turnaround/?date_from=2026-05-10&date_to=2026-05-01")
    assert page.status_code == 400
    assert sup.get("/reports/turnaround/?date_from=hola&date_to=").status_code == 400


def test_the_default_turnaround_is_the_last_30_days(sup):
    assert sup.get("/reports/turnaround/").status_code == 200


def test_the_dashboard_shows_the_documents_about_to_expire(sup, make_driver, licence):
    give(make_driver(full_name="Ana Pronto"), licence, 3)
    give(make_driver(full_name="Beto Tarde"), licence, 60)
    page = sup.get("/dashboard/").content.decode()
    part = page[page.index('id="expiring-documents"'):]
    assert "Ana Pronto" in part and "Beto Tarde" not in part and "/documents/expiring/" in part


def test_visits_per_day_count_by_the_plants_day(make_driver, stations, settings):
    settings.TIME_ZONE = "America/Mexico_City"  # UTC-6
    d = make_driver()
    for left in (datetime(2026, 12, 2, 3, 30, tzinfo=UTC),   # 21:30 on 1 December in the plant
                 datetime(2026, 12, 2, 7, 0, tzinfo=UTC),    # 01:00 on 2 December
                 datetime(2026, 12, 2, 20, 0, tzinfo=UTC)):
        visit(d, stations["entry"], 30, left=left)
    rows = selectors.visits_per_day(datetime(2026, 11, 30, tzinfo=UTC), datetime(2026, 12, 4, tzinfo=UTC))
    assert [(r["day"].isoformat(), r["visits"]) for r in rows] == [("2026-12-01", 1), ("2026-12-02", 2)]
