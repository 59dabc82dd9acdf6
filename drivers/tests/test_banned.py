"""Banned drivers: list, ban with a reason, unban, and the history of bans."""

from datetime import timedelta

import pytest
from django.utils import timezone

from drivers import services
from drivers.models import Ban, ScanReason
from drivers.services import record_scan

pytestmark = pytest.mark.django_db


def test_it_lists_bans_in_force_with_reason_since_and_by_whom(sup, driver, supervisor):
    services.ban(driver=driver, reason="Robo de diésel", by=supervisor)
    html = sup.get("/banned/").content.decode()
    assert "Robo de diésel" in html and driver.full_name in html and "super1" in html


def test_a_supervisor_bans_a_driver_and_his_next_scan_is_refused(sup, driver, stations, caseta, supervisor):
    response = sup.post(f"/banned/{driver.pk}/ban/", {"reason": "Conducción temeraria"})
    assert response.status_code == 302
    ban = Ban.objects.get(driver=driver)
    assert (ban.reason, ban.banned_by, ban.lifted_at) == ("Conducción temeraria", supervisor, None)
    result = record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    assert not result.accepted and result.reason == ScanReason.BANNED


def test_a_ban_may_end_on_a_date(sup, driver):
    until = (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    sup.post(f"/banned/{driver.pk}/ban/", {"reason": "Una semana", "until": until})
    assert Ban.objects.get(driver=driver).until is not None


def test_a_ban_without_a_reason_is_refused_and_nothing_written(sup, driver):
    response = sup.post(f"/banned/{driver.pk}/ban/", {"reason": ""}, follow=True)
    assert response.status_code == 200
    assert not Ban.objects.exists()


def test_a_ban_ending_in_the_past_is_refused(sup, driver):
    past = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    sup.post(f"/banned/{driver.pk}/ban/", {"reason": "x", "until": past})
    assert not Ban.objects.exists()


def test_unban_lifts_the_ban_and_keeps_it_in_the_history(sup, driver, supervisor):
    services.ban(driver=driver, reason="Pelea", by=supervisor)
    assert sup.post(f"/banned/{driver.pk}/unban/").status_code == 302
    ban = Ban.objects.get(driver=driver)
    assert ban.lifted_at is not None and ban.lifted_by == supervisor
    html = sup.get("/banned/").content.decode()
    assert 'id="bans-past"' in html and "Pelea" in html and 'id="bans-in-force"' not in html


def test_searching_offers_drivers_to_ban(sup, make_driver):
    d = make_driver(full_name="Pedro Páramo")
    html = sup.get("/banned/", {"q": "páramo"}).content.decode()
    assert f"/banned/{d.pk}/ban/" in html


def test_a_booth_operator_may_neither_see_nor_ban(client, caseta, driver):
    client.force_login(caseta)
    assert client.get("/banned/").status_code == 403
    assert client.post(f"/banned/{driver.pk}/ban/", {"reason": "x"}).status_code == 403
    assert not Ban.objects.exists()


def test_ban_and_unban_only_by_post(sup, driver):
    assert sup.get(f"/banned/{driver.pk}/ban/").status_code == 405
    assert sup.get(f"/banned/{driver.pk}/unban/").status_code == 405


def test_the_banned_list_costs_a_bounded_number_of_queries_with_50_rows(
    sup, make_driver, supervisor, django_assert_max_num_queries
):
    for i in range(50):
        d = make_driver()
        services.ban(driver=d, reason=f"motivo {i}", by=supervisor)
        if i % 2:
            services.unban(driver=d, by=supervisor)
    with django_assert_max_num_queries(10):
        assert sup.get("/banned/").status_code == 200
