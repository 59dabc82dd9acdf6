"""Active drivers, the evacuation list and the manual check-out."""

from datetime import timedelta

import pytest
from django.utils import timezone

from drivers.models import Direction, Movement, Source, Visit
from drivers.services import record_scan

pytestmark = pytest.mark.django_db


def enter(driver, stations, operator):
    return record_scan(code=driver.badge_code, station=stations["entry"], operator=operator)


def test_it_lists_everyone_inside_with_since_and_last_station(client, caseta, make_driver, stations):
    inside, outside = make_driver(full_name="Ana Dentro"), make_driver(full_name="Luis Fuera")
    enter(inside, stations, caseta)
    client.force_login(caseta)
    html = client.get("/active/").content.decode()
    assert "Ana Dentro" in html and "Luis Fuera" not in html
    assert stations["entry"].name in html


def test_a_name_links_to_his_route_only_for_who_may_follow_him(client, caseta, supervisor, driver, stations):
    enter(driver, stations, caseta)
    follow = f'href="/follow/?driver={driver.pk}"'
    client.force_login(caseta)  # the booth may not open the follow screen: no link into a 403
    html = client.get("/active/").content.decode()
    assert driver.full_name in html and follow not in html
    client.force_login(supervisor)
    assert follow in client.get("/active/").content.decode()


def test_it_searches_by_company_or_plate(client, caseta, make_driver, stations):
    a = make_driver(full_name="Ana", company="Fletes Sur", plate="XYZ-900")
    b = make_driver(full_name="Beto", company="Carga Norte")
    enter(a, stations, caseta)
    enter(b, stations, caseta)
    client.force_login(caseta)
    html = client.get("/active/?q=xyz-9").content.decode()
    assert "Ana" in html and "Beto" not in html
    html = client.get("/active/?q=norte").content.decode()
    assert "Beto" in html and "Fletes Sur" not in html


def test_it_highlights_over_stay(client, supervisor, make_driver, settings):
    settings.OVERSTAY_HOURS = 8
    d = make_driver()
    now = timezone.now()
    Visit.objects.create(driver=d, entered_at=now - timedelta(hours=9), last_seen_at=now)
    client.force_login(supervisor)
    html = client.get("/active/").content.decode()
    assert 'class="overstay"' in html


def test_a_supervisor_checks_a_driver_out_by_hand_with_a_reason(client, supervisor, driver, stations, caseta):
    enter(driver, stations, caseta)
    client.force_login(supervisor)
    response = client.post(f"/active/{driver.pk}/check-out/", {"reason": "Salió a pie"})
    assert response.status_code == 302
    visit = Visit.objects.get(driver=driver)
    assert visit.left_at is not None
    m = Movement.objects.get(driver=driver, direction=Direction.OUT)
    assert (m.source, m.forced, m.force_reason, m.operator, m.station) == (
        Source.MANUAL, True, "Salió a pie", supervisor, None)


def test_a_check_out_without_a_reason_writes_nothing(client, supervisor, driver, stations, caseta):
    enter(driver, stations, caseta)
    client.force_login(supervisor)
    response = client.post(f"/active/{driver.pk}/check-out/", {"reason": "  "}, follow=True)
    assert response.status_code == 200
    assert Visit.objects.get(driver=driver).left_at is None
    assert not Movement.objects.filter(direction=Direction.OUT).exists()


def test_checking_out_a_driver_who_is_not_inside_says_so(client, supervisor, driver):
    client.force_login(supervisor)
    response = client.post(f"/active/{driver.pk}/check-out/", {"reason": "x"}, follow=True)
    assert driver.full_name in response.content.decode()
    assert not Movement.objects.exists()


def test_a_booth_operator_sees_the_list_but_may_not_check_out(client, caseta, driver, stations):
    enter(driver, stations, caseta)
    client.force_login(caseta)
    assert "check-out/" not in client.get("/active/").content.decode()
    assert client.post(f"/active/{driver.pk}/check-out/", {"reason": "x"}).status_code == 403
    assert Visit.objects.get(driver=driver).left_at is None


def test_the_evacuation_list_prints_everyone_inside(client, caseta, make_driver, stations):
    a = make_driver(full_name="Ana Dentro", plate="PLT-1")
    enter(a, stations, caseta)
    client.force_login(caseta)
    html = client.get("/active/evacuation/?print").content.decode()
    assert "Ana Dentro" in html and "PLT-1" in html and "data-autoprint" in html


def test_the_active_poll_answers_nothing_new_cheaply(client, caseta, driver, stations):
    enter(driver, stations, caseta)
    client.force_login(caseta)
    import re

    marker = re.search(r'data-marker="(\w+)"', client.get("/active/").content.decode()).group(1)
    assert client.get(f"/active/?since={marker}", HTTP_HX_REQUEST="true").status_code == 204


def test_active_and_evacuation_cost_a_bounded_number_of_queries_with_50_rows(
    client, supervisor, make_driver, stations, caseta, django_assert_max_num_queries
):
    for _ in range(50):
        enter(make_driver(), stations, caseta)
    client.force_login(supervisor)
    with django_assert_max_num_queries(12):
        assert client.get("/active/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/active/evacuation/").status_code == 200
