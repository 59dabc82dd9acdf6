"""Follow a driver: search, where he is now, his route with the time between stations."""

import pytest

from drivers import services
from drivers.services import record_scan

pytestmark = pytest.mark.django_db


def test_it_finds_drivers_by_name_licence_company_or_plate(sup, make_driver):
    d = make_driver(full_name="Ramón Ortiz", company="Fletes Sur", plate="QRS-123", license_number="LIC-OR-1")
    for text in ("ramón", "LIC-OR", "fletes sur", "qrs-1"):
        assert f"?driver={d.pk}" in sup.get("/follow/", {"q": text}).content.decode(), text


def test_it_shows_where_he_is_and_his_route_with_the_time_between_stations(
    sup, driver, stations, caseta, settings
):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    record_scan(code=driver.badge_code, station=stations["checkpoint"], operator=caseta)
    html = sup.get(f"/follow/?driver={driver.pk}").content.decode()
    assert driver.full_name in html
    assert 'class="status status-in"' in html
    assert stations["entry"].name in html and stations["checkpoint"].name in html
    assert 'class="gap"' in html  # the time from the entry to the checkpoint


def test_it_shows_his_refused_attempts_and_his_ban(sup, driver, stations, caseta, supervisor):
    services.ban(driver=driver, reason="Exceso de velocidad", by=supervisor)
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    html = sup.get(f"/follow/?driver={driver.pk}").content.decode()
    assert "Exceso de velocidad" in html and "row-refused" in html


def test_it_links_to_his_badge(sup, driver):
    html = sup.get(f"/follow/?driver={driver.pk}").content.decode()
    assert f"/drivers/{driver.pk}/badge/" in html


@pytest.mark.parametrize("bad", ["abc", "999999", "1 OR 1=1"])
def test_a_bad_driver_number_is_a_clear_404_not_a_500(sup, bad):
    response = sup.get("/follow/", {"driver": bad})
    assert response.status_code == 404
    assert 'class="alert alert-error"' in response.content.decode()


def test_the_route_costs_a_bounded_number_of_queries_with_50_rows(
    sup, driver, stations, caseta, settings, django_assert_max_num_queries
):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    for _ in range(48):
        record_scan(code=driver.badge_code, station=stations["checkpoint"], operator=caseta)
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)  # refused
    with django_assert_max_num_queries(16):
        response = sup.get(f"/follow/?driver={driver.pk}")
    assert response.content.decode().count('class="step step-') == 49


def test_a_late_movement_is_marked_on_his_route_with_when_it_was_recorded(sup, driver, stations, caseta, settings):
    from datetime import timedelta

    from django.utils import timezone

    from drivers.models import Movement

    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta,
                scanned_at=timezone.now() - timedelta(hours=3))
    record_scan(code=driver.badge_code, station=stations["checkpoint"], operator=caseta)
    late = Movement.objects.get(is_late=True)
    html = sup.get(f"/follow/?driver={driver.pk}").content.decode()
    assert html.count("pill-late") == 1 and "Tardío" in html
    assert "registrado " + timezone.localtime(late.recorded_at).strftime("%d/%m %H:%M:%S") in html
