"""The kiosk's rotating code and the printable station QR."""

import time

import pytest
from django.urls import reverse

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


def checkin_url(station, token):
    return reverse("drivers:self_checkin", args=[station.code, token])


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
