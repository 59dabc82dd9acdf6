"""The live dashboard: its figures, the cheap "nothing new" poll, the banned-driver alert."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from drivers import selectors, services
from drivers.models import Visit
from conftest import query_plan
from drivers.services import record_scan

pytestmark = pytest.mark.django_db


def marker_of(response) -> str:
    return re.search(r'data-marker="(\w+)"', response.content.decode()).group(1)


def poll(client, marker):
    return client.get(f"/dashboard/?since={marker}", HTTP_HX_REQUEST="true")


def test_it_shows_inside_now_and_todays_entries_exits_and_refusals(sup, make_driver, stations, caseta):
    a, b = make_driver(), make_driver()
    record_scan(code=a.badge_code, station=stations["entry"], operator=caseta)
    record_scan(code=b.badge_code, station=stations["entry"], operator=caseta)
    record_scan(code=b.badge_code, station=stations["exit"], operator=caseta)
    record_scan(code="NOT-A-BADGE", station=stations["gate"], operator=caseta)
    html = sup.get("/dashboard/").content.decode()
    assert re.search(r'id="fig-inside">1<', html)
    assert re.search(r'id="fig-entries">2<', html)
    assert re.search(r'id="fig-exits">1<', html)
    assert re.search(r'id="fig-refused">1<', html)
    assert a.full_name in html and "<svg" in html


def test_a_poll_with_an_unchanged_marker_answers_nothing_new_in_one_query(
    sup, driver, stations, caseta, django_assert_max_num_queries
):
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    marker = marker_of(sup.get("/dashboard/"))
    # Session, user, his permissions (2), the session renewal (3 with its savepoint), and
    # one query of the dashboard's own: the marker. Nothing is rendered.
    with django_assert_max_num_queries(8):
        response = poll(sup, marker)
    assert response.status_code == 204 and response.content == b""


def test_a_new_scan_anywhere_changes_the_marker_and_the_poll_sends_it(sup, driver, stations, caseta):
    marker = marker_of(sup.get("/dashboard/"))
    # Refused (he is not inside): still something new on the dashboard.
    record_scan(code=driver.badge_code, station=stations["checkpoint"], operator=caseta)
    response = poll(sup, marker)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="dashboard-live"' in html and "<html" not in html
    assert marker_of(response) != marker and driver.full_name in html


@pytest.mark.parametrize("change", ["ban", "unban", "annul"])
def test_bans_and_annulments_change_the_marker_too(sup, driver, stations, caseta, supervisor, change):
    result = record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    if change == "unban":
        services.ban(driver=driver, reason="x", by=supervisor)
    marker = selectors.live_marker()
    if change == "ban":
        services.ban(driver=driver, reason="x", by=supervisor)
    elif change == "unban":
        services.unban(driver=driver, by=supervisor)
    else:
        services.annul_movement(movement=result.movement, by=caseta, reason="wrong driver")
    assert selectors.live_marker() != marker


def test_a_banned_driver_at_the_gate_raises_the_alert(sup, driver, stations, caseta, supervisor):
    services.ban(driver=driver, reason="Robo de combustible", by=supervisor)
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    html = sup.get("/dashboard/").content.decode()
    assert 'class="ban-alert"' in html and "Robo de combustible" in html
    assert re.search(r'data-alert-id="[1-9]\d*"', html)


def test_station_cards_show_the_last_scan_who_and_the_idle_ones(sup, driver, stations, caseta, settings):
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    cards = {c.station.code: c for c in selectors.station_cards()}
    assert cards["E1"].last.driver == driver and cards["E1"].last.operator == caseta
    assert cards["E1"].last_hour == 1 and not cards["E1"].idle
    assert cards["S1"].last is None and cards["S1"].idle
    html = sup.get("/dashboard/").content.decode()
    assert "caseta1" in html


def test_each_stations_last_scan_is_read_from_the_station_index(driver, stations, caseta):
    # Ordered by (at, id): with an index on (station, at) only, SQLite walked the whole
    # refused-scans table for a station without a recent refusal (795 ms at 2 M rows);
    # so did PostgreSQL when the station came from a correlated subquery.
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    with CaptureQueriesContext(connection) as ctx:
        selectors.station_cards()
    newest = next(q["sql"] for q in ctx.captured_queries if "LIMIT 1" in q["sql"])
    assert "drivers_refusedscan" in newest and "drivers_movement" in newest
    plan = query_plan(newest)
    assert "drivers_move_station_at_idx" in plan and "drivers_refused_station_at_idx" in plan
    assert "drivers_refused_at_idx" not in plan and "drivers_movement_at_idx" not in plan


def test_over_stay_and_stay_figures(sup, make_driver, stations, caseta, settings):
    settings.OVERSTAY_HOURS = 8
    long_stay, short_stay, gone = make_driver(), make_driver(), make_driver()
    now = timezone.now()
    Visit.objects.create(driver=long_stay, entered_at=now - timedelta(hours=9), last_seen_at=now)
    Visit.objects.create(driver=short_stay, entered_at=now - timedelta(hours=1), last_seen_at=now)
    Visit.objects.create(driver=gone, entered_at=now - timedelta(minutes=40), left_at=now, last_seen_at=now)
    assert [v.driver for v in selectors.overstaying()] == [long_stay]
    stays = selectors.stays_today()
    assert stays["longest"] == timedelta(minutes=40)
    html = sup.get("/dashboard/").content.decode()
    assert long_stay.full_name in html


def test_the_dashboard_costs_a_bounded_number_of_queries_with_50_rows(
    sup, make_driver, stations, caseta, supervisor, django_assert_max_num_queries
):
    for _ in range(50):
        d = make_driver()
        record_scan(code=d.badge_code, station=stations["entry"], operator=caseta)
        record_scan(code=d.badge_code + "X", station=stations["gate"], operator=supervisor)
    # A constant number whatever the rows: about twenty reads, plus the shared cache's
    # write of the past days' chart on the first view of the day (on PostgreSQL inside the
    # test's transaction, a savepoint around each of the two cache calls: qrgate.sharedcache).
    with django_assert_max_num_queries(32 if connection.vendor == "sqlite" else 36):
        response = sup.get("/dashboard/")
    assert response.status_code == 200
    assert response.content.decode().count('class="event ev-') == 15


def test_only_dashboard_viewers_may_open_it(client, caseta):
    assert client.get("/dashboard/").status_code == 302
    client.force_login(caseta)
    assert client.get("/dashboard/").status_code == 403
