"""The history: movements and refused scans in one table, its filters and its pages."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from drivers.models import Movement, RefusedScan
from drivers.services import record_scan

pytestmark = pytest.mark.django_db


@pytest.fixture
def sup(client, supervisor):
    client.force_login(supervisor)
    return client


@pytest.fixture
def story(make_driver, stations, caseta, supervisor, settings):
    """Ana enters at E1 (caseta), passes C1, leaves at S1; Beto is refused at C1; an invalid scan at G1."""
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    ana = make_driver(full_name="Ana Ruiz", company="Fletes Sur")
    beto = make_driver(full_name="Beto Lara", company="Carga Norte")
    record_scan(code=ana.badge_code, station=stations["entry"], operator=caseta)
    record_scan(code=ana.badge_code, station=stations["checkpoint"], operator=caseta)
    record_scan(code=ana.badge_code, station=stations["exit"], operator=supervisor)
    record_scan(code=beto.badge_code, station=stations["checkpoint"], operator=caseta)
    record_scan(code="HOLA", station=stations["gate"], operator=caseta)
    return {"ana": ana, "beto": beto}


def rows(client, **params):
    html = client.get("/history/", params).content.decode()
    return html.count('data-kind="movement"'), html.count('data-kind="refused"')


def test_it_shows_movements_and_refused_scans_in_one_table(sup, story):
    assert rows(sup) == (3, 2)


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"driver": "ana"}, (3, 0)),
        ({"company": "norte"}, (0, 1)),
        ({"direction": "in"}, (1, 0)),
        ({"direction": "pass"}, (1, 1)),
        ({"result": "accepted"}, (3, 0)),
        ({"result": "refused"}, (0, 2)),
        ({"result": "invalid"}, (0, 1)),
        ({"result": "not_inside"}, (0, 1)),
        ({"forced": "yes"}, (0, 0)),
        ({"forced": "no"}, (3, 2)),
    ],
)
def test_each_filter_keeps_exactly_its_rows(sup, story, params, expected):
    assert rows(sup, **params) == expected


def test_station_and_operator_filters(sup, story, stations, supervisor):
    assert rows(sup, station=stations["checkpoint"].pk) == (1, 1)
    assert rows(sup, operator=supervisor.pk) == (1, 0)


def test_the_date_range_is_in_the_plant_time_zone(sup, story):
    old = Movement.objects.order_by("id").first()
    old.at = timezone.now() - timedelta(days=40)
    old.save()
    today = timezone.localdate()
    assert rows(sup, date_from=today.isoformat(), date_to=today.isoformat()) == (2, 2)
    day = timezone.localtime(old.at).date().isoformat()
    assert rows(sup, date_from=day, date_to=day) == (1, 0)


@pytest.mark.parametrize("params", [
    {"date_from": "ayer"}, {"station": "x"}, {"operator": "999999"}, {"result": "nope"},
    {"sort": "nonexistent"}, {"page": "abc"}, {"page": "-3"}, {"page": "999"},
])
def test_bad_filter_input_is_an_error_on_the_page_never_a_500(sup, story, params):
    response = sup.get("/history/", params)
    assert response.status_code in (200, 404)


def test_it_sorts_by_driver(sup, story):
    html = sup.get("/history/", {"sort": "driver_name"}).content.decode()
    assert html.index("Ana Ruiz") < html.index("Beto Lara")
    html = sup.get("/history/", {"sort": "-driver_name"}).content.decode()
    assert html.index("Beto Lara") < html.index("Ana Ruiz")


def test_pages_of_50_without_counting_the_whole_history(
    sup, make_driver, stations, caseta, settings, django_assert_max_num_queries
):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    for _ in range(40):
        d = make_driver()
        record_scan(code=d.badge_code, station=stations["entry"], operator=caseta)
        record_scan(code=d.badge_code, station=stations["entry"], operator=caseta)  # refused: inside
    with CaptureQueriesContext(connection) as ctx, django_assert_max_num_queries(12):
        response = sup.get("/history/")
    html = response.content.decode()
    assert html.count("data-kind=") == 50 and 'rel="next"' in html
    assert not any("COUNT(" in q["sql"].upper() for q in ctx.captured_queries)
    page2 = sup.get("/history/", {"page": 2}).content.decode()
    assert page2.count("data-kind=") == 30 and 'rel="next"' not in page2


def test_a_booth_operator_may_not_open_the_history(client, caseta):
    client.force_login(caseta)
    assert client.get("/history/").status_code == 403


def test_refused_scans_never_show_a_drivers_badge_code(sup, story):
    html = sup.get("/history/").content.decode()
    assert story["beto"].badge_code not in html
    assert RefusedScan.objects.filter(driver=story["beto"]).exists()
