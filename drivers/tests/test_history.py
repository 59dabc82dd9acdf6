"""The history: movements and refused scans in one table, its filters and its pages."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from drivers.models import Movement, RefusedScan
from conftest import query_plan
from drivers.services import record_scan

pytestmark = pytest.mark.django_db


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


def test_it_sorts_by_time_either_way(sup, story):
    html = sup.get("/history/").content.decode()
    assert html.index("Beto Lara") < html.index("Ana Ruiz")  # newest first
    html = sup.get("/history/", {"sort": "at"}).content.decode()
    assert html.index("Ana Ruiz") < html.index("Beto Lara")


@pytest.mark.parametrize("column", ["driver_name", "-station_code", "operator_name", "direction"])
def test_it_ignores_a_sort_no_index_serves_and_shows_newest_first(sup, story, column):
    # Sorting millions of rows by a name took seconds: only the time is sortable.
    html = sup.get("/history/", {"sort": column}).content.decode()
    assert html.index("Beto Lara") < html.index("Ana Ruiz")
    assert f"sort={column.lstrip('-')}" not in html  # no header offers that sort


def test_paging_stops_at_the_cap_and_says_how_to_see_the_rest(sup, story, monkeypatch):
    from drivers.views import history

    monkeypatch.setattr(history, "PER_PAGE", 2)
    monkeypatch.setattr(history.HistoryPaginator, "max_pages", 2)
    assert 'class="msg-info"' not in sup.get("/history/", {"page": 1}).content.decode()
    html = sup.get("/history/", {"page": 2}).content.decode()
    assert html.count("data-kind=") == 2 and 'rel="next"' not in html
    assert 'class="msg-info"' in html  # narrow the dates, or export
    # A deeper page is the last one allowed, never an OFFSET walk further down.
    assert sup.get("/history/", {"page": 40}).content.decode().count("data-kind=") == 2


def test_the_audit_filters_find_annulled_and_forced_movements(sup, story, make_driver, stations, caseta,
                                                              supervisor):
    from drivers.services import annul_movement, check_out

    carla, dani = make_driver(full_name="Carla Paz"), make_driver(full_name="Dani Sol")
    record_scan(code=carla.badge_code, station=stations["entry"], operator=caseta)
    check_out(driver=carla, by=supervisor, reason="Salió a pie")
    dani_in = record_scan(code=dani.badge_code, station=stations["entry"], operator=caseta).movement
    annul_movement(movement=dani_in, by=supervisor, reason="Leyó el gafete equivocado")
    assert rows(sup, forced="yes") == (1, 0)
    assert "Carla Paz" in sup.get("/history/", {"forced": "yes"}).content.decode()
    assert rows(sup, result="annulled") == (1, 0)
    assert "Dani Sol" in sup.get("/history/", {"result": "annulled"}).content.decode()


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


@pytest.mark.parametrize("params, index", [
    ({"station": "checkpoint"}, "drivers_move_station_at_idx"),
    ({"result": "annulled"}, "drivers_move_annulled_idx"),
    ({"forced": "yes"}, "drivers_move_forced_idx"),
])
def test_a_filtered_page_is_read_from_an_index_in_time_order(stations, params, index):
    from django.http import QueryDict

    from drivers import selectors
    from drivers.filters import history_querysets

    if "station" in params:
        params = {"station": stations[params["station"]].pk}
    query = QueryDict(mutable=True)
    query.update(params)
    _, movements, refused = history_querysets(query)
    page = selectors.history_rows(movements, refused).queryset(limit=51)[:51]  # what page 1 reads
    sql, sql_params = page.query.sql_with_params()
    plan = query_plan(sql, sql_params)
    assert index in plan
    if connection.vendor == "sqlite":
        assert "TEMP B-TREE" not in plan  # no sort of the matching rows


def test_a_huge_page_size_in_the_address_is_capped_not_a_500(client, supervisor):
    client.force_login(supervisor)
    response = client.get("/history/", {"per_page": "9" * 40})
    assert response.status_code == 200


@pytest.mark.parametrize("zone", ["America/Mexico_City", "Pacific/Kiritimati", "Etc/GMT+12", "UTC"])
@pytest.mark.parametrize("params, expected", [
    ({"date_from": "0001-01-01"}, (3, 2)),
    ({"date_to": "9999-12-31"}, (3, 2)),
    ({"date_from": "0001-01-01", "date_to": "9999-12-31"}, (3, 2)),
    ({"date_from": "9999-12-31"}, (0, 0)),
    ({"date_to": "0001-01-01"}, (0, 0)),
    ({"date_from": "9999-12-31", "date_to": "0001-01-01"}, (0, 0)),
])
def test_the_first_and_last_possible_dates_filter_in_any_time_zone(sup, story, settings, zone, params, expected):
    # 0001-01-01 at midnight in UTC+14, or the day after 9999-12-31, do not fit in a
    # datetime: that was an OverflowError (a 500) on the history and the export.
    settings.TIME_ZONE = zone
    response = sup.get("/history/", params)
    assert response.status_code == 200
    assert rows(sup, **params) == expected
    export = sup.get("/history/export/", {"format": "csv", **params})
    assert export.status_code == 200
    lines = b"".join(export.streaming_content if export.streaming else [export.content]).decode().splitlines()
    assert len(lines) == 1 + sum(expected)


def test_a_late_movement_shows_when_it_was_recorded_beside_when_it_was_scanned(sup, make_driver, stations, caseta):
    driver = make_driver(full_name="Tardío Pérez")
    scanned = timezone.now() - timedelta(hours=2)
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta, scanned_at=scanned)
    record_scan(code=make_driver(full_name="A Tiempo").badge_code, station=stations["entry"], operator=caseta)
    movement = Movement.objects.get(driver=driver)
    assert movement.is_late
    html = sup.get("/history/").content.decode()
    assert html.count("pill-late") == 1 and "Tardío" in html
    assert timezone.localtime(scanned).strftime("%Y-%m-%d %H:%M:%S") in html
    assert "registrado " + timezone.localtime(movement.recorded_at).strftime("%Y-%m-%d %H:%M:%S") in html
