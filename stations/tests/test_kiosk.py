"""The kiosk's rotating code, the printable station QR, and a driver's self check-in."""

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
    return reverse("stations:self_checkin", args=[station.code, token])


# --- the rotating code ----------------------------------------------------------------------


def test_the_code_changes_every_slot_and_differs_per_station(stations, settings):
    settings.KIOSK_CODE_SECONDS = 30
    t = 1_700_000_010.0
    a = services.kiosk_token(stations["gate"], now=t)
    assert a == services.kiosk_token(stations["gate"], now=t + 5)
    assert a != services.kiosk_token(stations["gate"], now=t + 30)
    assert a != services.kiosk_token(stations["entry"], now=t)
    assert len(a) == services.TOKEN_LENGTH and a.isalnum() and a == a.upper()


def test_the_previous_code_is_valid_for_the_grace_time_only(stations, settings):
    settings.KIOSK_CODE_SECONDS = 30
    settings.KIOSK_GRACE_SECONDS = 15
    station = stations["gate"]
    start = 1_700_000_010.0 - (1_700_000_010.0 % 30)  # the start of a slot
    token = services.kiosk_token(station, now=start + 1)
    assert services.token_is_valid(station, token, now=start + 29)
    assert services.token_is_valid(station, token, now=start + 30 + 14)   # next slot, in grace
    assert not services.token_is_valid(station, token, now=start + 30 + 16)  # grace over
    assert not services.token_is_valid(station, token, now=start + 300)
    assert not services.token_is_valid(station, token, now=start - 1)     # not before its slot
    assert services.token_is_valid(station, token.lower(), now=start + 2)


def test_a_grace_longer_than_a_slot_still_expires(stations, settings):
    settings.KIOSK_CODE_SECONDS = 10
    settings.KIOSK_GRACE_SECONDS = 25
    station = stations["gate"]
    start = 1_700_000_000.0
    token = services.kiosk_token(station, now=start)
    assert services.token_is_valid(station, token, now=start + 10 + 24)
    assert not services.token_is_valid(station, token, now=start + 10 + 26)


@pytest.mark.parametrize("token", ["", "short", "A" * 16, None, 123, "Ñ" * 16])
def test_garbage_tokens_are_invalid(stations, token):
    assert not services.token_is_valid(stations["gate"], token)


def test_a_new_kiosk_secret_invalidates_the_codes(stations):
    station = stations["gate"]
    token = services.kiosk_token(station)
    station.kiosk_secret = "0" * 64
    assert not services.token_is_valid(station, token)


# --- kiosk and station QR pages ------------------------------------------------------------


def test_the_kiosk_shows_a_qr_of_the_current_checkin_link(client, caseta, kiosk_station):
    client.force_login(caseta)
    r = client.get(reverse("stations:kiosk", args=["G1"]))
    assert r.status_code == 200
    token = services.kiosk_token(kiosk_station)
    html = r.content.decode()
    assert "<svg" in html and checkin_url(kiosk_station, token) in html
    data = client.get(reverse("stations:kiosk_code", args=["G1"]) + "?format=json").json()
    assert data["url"].endswith(checkin_url(kiosk_station, data["token"]))
    assert 0 < data["refresh_in"] <= 31


def test_a_station_without_self_check_in_has_no_kiosk(client, caseta, stations):
    client.force_login(caseta)
    r = client.get(reverse("stations:kiosk", args=["E1"]))
    assert r.status_code == 404 and "not enabled" in r.content.decode()
    assert client.get(reverse("stations:kiosk_code", args=["E1"])).status_code == 404


def test_kiosk_and_station_qr_need_a_staff_role(client, chofer, kiosk_station):
    for name in ("stations:kiosk", "stations:kiosk_code", "stations:station_qr"):
        url = reverse(name, args=["G1"])
        assert client.get(url).status_code == 302
        client.force_login(chofer)
        assert client.get(url).status_code == 403
        client.logout()


def test_the_station_qr_binds_the_scan_screen(client, administrador, stations):
    client.force_login(administrador)
    r = client.get(reverse("stations:station_qr", args=["s1"]))
    assert r.status_code == 200
    assert "http://testserver/scan/?station=S1" in r.content.decode() and "<svg" in r.content.decode()
    assert client.get(reverse("stations:station_qr", args=["NOPE"])).status_code == 404


def test_the_station_admin_links_the_printables(client, admin_user, kiosk_station):
    client.force_login(admin_user)
    html = client.get("/admin/stations/station/").content.decode()
    assert reverse("stations:station_qr", args=["G1"]) in html
    assert reverse("stations:kiosk", args=["G1"]) in html


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

    ban(chofer_driver, reason="Documentos falsos", by=supervisor)
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
