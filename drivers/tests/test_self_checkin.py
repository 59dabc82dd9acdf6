"""A driver's self check-in at a kiosk station, through the page behind the kiosk's QR."""

import time

import pytest
from django.urls import reverse

from drivers.models import Movement, RefusedScan, Source
from stations import services

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings):
    # These tests read the English messages; the Spanish catalogue is tested elsewhere.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def kiosk_station(stations):
    station = stations["gate"]
    station.self_check_in = True
    station.save()
    return station


@pytest.fixture
def chofer_driver(chofer, make_driver):
    return make_driver(full_name="Pedro Chofer", user=chofer)


def checkin_url(station, token):
    return reverse("drivers:self_checkin", args=[station.code, token])


# --- self check-in ---------------------------------------------------------------------------


def test_a_driver_checks_himself_in_with_the_current_code(client, chofer, chofer_driver, kiosk_station):
    client.force_login(chofer)
    url = checkin_url(kiosk_station, services.kiosk_token(kiosk_station))
    r = client.get(url)
    assert r.status_code == 200 and "Pedro Chofer" in r.content.decode()
    nonce = r.context["nonce"]
    r = client.post(url, {"nonce": nonce})
    assert r.status_code == 200 and r.context["result"].accepted
    movement = Movement.objects.get()
    assert (movement.driver, movement.station, movement.source, movement.operator, movement.direction) == (
        chofer_driver, kiosk_station, Source.SELF, chofer, "in")
    # Pressing the button twice (a re-sent form) records nothing more.
    client.get(url)
    client.post(url, {"nonce": nonce})
    assert Movement.objects.count() == 1


def test_an_expired_code_is_refused_with_a_clear_message(client, chofer, chofer_driver, kiosk_station):
    client.force_login(chofer)
    old = services.kiosk_token(kiosk_station, now=time.time() - 600)
    for method in (client.get, client.post):
        r = method(checkin_url(kiosk_station, old))
        assert r.status_code == 403 and "expired" in r.content.decode()
    assert not Movement.objects.exists() and not RefusedScan.objects.exists()


def test_a_driver_who_must_log_in_first_keeps_his_right_to_check_in(
    client, chofer, chofer_driver, kiosk_station
):
    url = checkin_url(kiosk_station, services.kiosk_token(kiosk_station))
    r = client.get(url)
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    client.post("/login/", {"username": "chofer1", "password": "pw-chofer1-123"})
    # The code may have rotated while he typed his password: the pass from the first visit holds.
    old_url = checkin_url(kiosk_station, "A" * services.TOKEN_LENGTH)
    assert client.get(old_url).status_code == 200
    r = client.post(old_url, {"nonce": "n-1"})
    assert r.status_code == 200 and Movement.objects.filter(source=Source.SELF).count() == 1


def test_a_station_without_self_check_in_refuses(client, chofer, chofer_driver, stations):
    client.force_login(chofer)
    station = stations["entry"]
    r = client.post(checkin_url(station, services.kiosk_token(station)), {"nonce": "n-2"})
    assert r.status_code == 403 and "not enabled" in r.content.decode()
    assert not Movement.objects.exists()


def test_a_chofer_account_without_a_driver_is_refused(client, chofer, kiosk_station):
    client.force_login(chofer)
    r = client.post(checkin_url(kiosk_station, services.kiosk_token(kiosk_station)), {"nonce": "n-3"})
    assert r.status_code == 403 and "not linked" in r.content.decode()
    assert not Movement.objects.exists()


def test_a_booth_account_may_not_self_check_in(client, caseta, kiosk_station):
    client.force_login(caseta)
    r = client.get(checkin_url(kiosk_station, services.kiosk_token(kiosk_station)))
    assert r.status_code == 403


def test_a_banned_driver_is_refused_at_the_kiosk(client, chofer, chofer_driver, kiosk_station, supervisor):
    from drivers.services import ban

    ban(driver=chofer_driver, reason="Documentos falsos", by=supervisor)
    client.force_login(chofer)
    url = checkin_url(kiosk_station, services.kiosk_token(kiosk_station))
    client.get(url)
    r = client.post(url, {"nonce": "n-4"})
    html = r.content.decode()
    assert "REFUSED" in html and "Your access is blocked. Ask at the gate." in html
    assert "Documentos falsos" not in html and not Movement.objects.exists()
    # The guard and the supervisors still see why (history, dashboard).
    refused = RefusedScan.objects.get()
    assert refused.source == Source.SELF and refused.detail == "Documentos falsos"


def test_a_driver_never_gets_the_result_of_a_booth_scan_that_used_the_same_nonce(
    client, chofer, chofer_driver, kiosk_station, caseta, make_driver
):
    from drivers.services import record_scan

    other = make_driver(full_name="Otro Chofer")
    record_scan(code=other.badge_code, station=kiosk_station, operator=caseta, nonce="shared-1")
    client.force_login(chofer)
    url = checkin_url(kiosk_station, services.kiosk_token(kiosk_station))
    client.get(url)
    r = client.post(url, {"nonce": "shared-1"})
    assert r.status_code == 200 and "Otro Chofer" not in r.content.decode()
    assert r.context["result"].accepted and r.context["result"].driver == chofer_driver
    assert Movement.objects.filter(driver=chofer_driver, source=Source.SELF).count() == 1


def test_two_drivers_sending_the_same_nonce_each_get_their_own_check_in(
    client, chofer, chofer_driver, kiosk_station, make_driver
):
    from conftest import make_user

    second_user = make_user("chofer2", "Chofer")
    second = make_driver(full_name="Segundo Chofer", user=second_user)
    for user, driver in ((chofer, chofer_driver), (second_user, second)):
        client.force_login(user)
        url = checkin_url(kiosk_station, services.kiosk_token(kiosk_station))
        client.get(url)
        r = client.post(url, {"nonce": "same-nonce"})
        assert r.context["result"].driver == driver and not r.context["result"].replayed
    assert Movement.objects.filter(source=Source.SELF).count() == 2


def test_a_bad_nonce_is_a_clear_400(client, chofer, chofer_driver, kiosk_station):
    client.force_login(chofer)
    url = checkin_url(kiosk_station, services.kiosk_token(kiosk_station))
    r = client.post(url, {"nonce": "no spaces allowed!"})
    assert r.status_code == 400 and not Movement.objects.exists()
