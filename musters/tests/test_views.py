"""The board, its live fragment, the report and its downloads, the forms, and where muster
points must not appear (gate screens)."""

import csv
import io
import re

import pytest
from django.db import connection
from openpyxl import load_workbook

from drivers.services import record_scan
from musters import services
from musters.models import Accounting, RollCall


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


def marker_of(html: str) -> str:
    return re.search(r"live/\?since=(\w+)", html).group(1)


def test_a_supervisor_starts_a_drill_and_lands_on_the_board(sup, inside):
    r = sup.post("/muster/start/", {"drill": "on"})
    rc = RollCall.objects.get()
    assert rc.drill and r.status_code == 302 and r["Location"] == f"/muster/{rc.pk}/"
    html = sup.get(r["Location"]).content.decode()
    assert "DRILL" in html and "0/3" in html
    r = sup.post("/muster/start/", follow=True)
    assert RollCall.objects.count() == 1 and "already open" in r.content.decode()


def test_a_booth_operator_may_mark_but_not_start(client, caseta, inside):
    client.force_login(caseta)
    assert client.post("/muster/start/").status_code == 403
    assert client.get("/muster/").status_code == 200


def test_the_board_lists_the_missing_with_last_station_and_phone(sup, inside, point, caseta, supervisor, stations):
    rc = services.start_roll_call(by=supervisor)
    services.mark_safe(roll_call=rc, code=inside[0].badge_code, point=point, by=caseta)
    record_scan(code=inside[1].badge_code, station=stations["exit"], operator=caseta)
    html = sup.get(f"/muster/{rc.pk}/").content.decode()
    missing = html[html.index('id="muster-missing-list"'):html.index('id="muster-points"')]
    assert inside[2].full_name in missing and inside[0].full_name not in missing
    assert "555 123 4567" in missing and stations["entry"].name in missing
    assert "2/3" in html and "Punto A: <strong>1</strong>" in html


def test_the_live_fragment_is_a_204_until_something_changes(sup, inside, point, caseta, supervisor):
    rc = services.start_roll_call(by=supervisor)
    marker = marker_of(sup.get(f"/muster/{rc.pk}/").content.decode())
    live = f"/muster/{rc.pk}/live/?since={marker}"
    r = sup.get(live, HTTP_HX_REQUEST="true")
    assert r.status_code == 204 and r.content == b""
    services.mark_safe(roll_call=rc, code=inside[0].badge_code, point=point, by=caseta)
    r = sup.get(live, HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "1/3" in r.content.decode() and "<html" not in r.content.decode()


def test_the_board_costs_a_fixed_number_of_queries_with_50_people(
    sup, make_driver, stations, point, caseta, supervisor, django_assert_max_num_queries
):
    drivers = [make_driver() for _ in range(50)]
    for d in drivers:
        record_scan(code=d.badge_code, station=stations["entry"], operator=caseta)
    rc = services.start_roll_call(by=supervisor)
    for d in drivers[:20]:
        services.mark_safe(roll_call=rc, code=d.badge_code, point=point, by=caseta)
    for d in drivers[20:30]:
        record_scan(code=d.badge_code, station=stations["exit"], operator=caseta)
    with django_assert_max_num_queries(16):
        r = sup.get(f"/muster/{rc.pk}/live/", HTTP_HX_REQUEST="true")
    assert "30/50" in r.content.decode()


def test_a_supervisor_accounts_a_missing_driver_by_hand(sup, inside, supervisor):
    rc = services.start_roll_call(by=supervisor)
    sup.post(f"/muster/{rc.pk}/account/", {"driver": inside[0].pk, "reason": ""})
    assert not Accounting.objects.exists()
    sup.post(f"/muster/{rc.pk}/account/", {"driver": "x", "reason": "y"})
    r = sup.post(f"/muster/{rc.pk}/account/", {"driver": inside[0].pk, "reason": "Left by the back gate"})
    assert r.status_code == 302
    assert Accounting.objects.get().reason == "Left by the back gate"


def test_closing_then_the_report_lists_who_where_when_and_the_unexpected(
    sup, inside, point, caseta, supervisor, make_driver, stations
):
    rc = services.start_roll_call(by=supervisor, drill=True)
    services.mark_safe(roll_call=rc, code=inside[0].badge_code, point=point, by=caseta)
    record_scan(code=inside[1].badge_code, station=stations["exit"], operator=caseta)
    services.account_manually(roll_call=rc, driver=inside[2], by=supervisor, reason="=En la enfermería")
    newcomer = make_driver(full_name="=HYPERLINK(1)")
    services.mark_safe(roll_call=rc, code=newcomer.badge_code, point="Patio", by=caseta)
    r = sup.post(f"/muster/{rc.pk}/close/")
    assert r["Location"] == f"/muster/{rc.pk}/report/"
    html = sup.get(r["Location"]).content.decode()
    assert "DRILL" in html and "3/3" in html and "MISSING" not in html
    assert "Punto A" in html and stations["exit"].name in html and "En la enfermería" in html
    unexpected = html[html.index("Found, not expected"):]
    assert "Patio" in unexpected
    assert re.search(r'id="full-after">\d+ min \d\d s<', html)

    text = b"".join(sup.get(r["Location"] + "?format=csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 5
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name[inside[0].full_name][8] == "Punto A" and by_name[inside[0].full_name][9] == caseta.username
    assert by_name[inside[1].full_name][7] == "Exit through a gate"
    assert by_name[inside[2].full_name][10] == "'=En la enfermería"
    assert by_name["'=HYPERLINK(1)"][3] == "No"

    data = b"".join(sup.get(r["Location"] + "?format=xlsx").streaming_content)
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(values) == 5 and values[0][0] == "Name"
    names = {row[0] for row in values[1:]}
    assert "=HYPERLINK(1)" in names and inside[0].full_name in names


def test_the_dashboard_shows_an_open_roll_call_at_the_top(sup, inside, supervisor):
    assert "muster-banner" not in sup.get("/dashboard/").content.decode()
    rc = services.start_roll_call(by=supervisor, drill=True)
    html = sup.get("/dashboard/").content.decode()
    assert "muster-banner" in html and f"/muster/{rc.pk}/" in html and "DRILL" in html
    services.close_roll_call(roll_call=rc, by=supervisor)
    assert "muster-banner" not in sup.get("/dashboard/").content.decode()


def test_muster_points_are_not_offered_to_the_gate_screens(client, point, stations, caseta, supervisor):
    client.force_login(caseta)
    scan = client.get("/scan/").content.decode()
    assert '"M1"' not in scan and '"G1"' in scan
    assert client.get("/scan/?station=M1").context["station"] is None
    client.force_login(supervisor)
    history = client.get("/history/").content.decode()
    assert "Punto A" not in history and stations["gate"].name in history
    assert "Punto A" not in client.get("/dashboard/").content.decode()


def test_the_marshal_page_lists_the_muster_points(client, caseta, point, inside, supervisor):
    rc = services.start_roll_call(by=supervisor)
    client.force_login(caseta)
    r = client.get("/muster/")
    assert r.context["roll_call"] == rc and r.context["points"] == [point]
    assert r.context["mark_url"] == f"/api/muster/{rc.pk}/mark/" and not r.context["can_manage"]


def test_a_muster_point_has_no_kiosk(client, caseta, point):
    from django.core.exceptions import ValidationError

    point.self_check_in = True
    with pytest.raises(ValidationError):
        point.full_clean()
    point.save()  # a shell slipped it past the form: the kiosk still refuses it
    client.force_login(caseta)
    r = client.get(f"/stations/{point.code}/kiosk/")
    assert r.status_code == 404 and "not enabled" in r.content.decode()
