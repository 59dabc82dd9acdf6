"""PUBLIC_URL: every printed or displayed QR link uses it, whatever Host the request carries."""

import pytest
from django.urls import reverse

from stations import services
from stations.views import _qr_svg

pytestmark = pytest.mark.django_db

PUBLIC = "https://gate.plant.lan"


@pytest.fixture
def kiosk_station(stations):
    station = stations["gate"]
    station.self_check_in = True
    station.save()
    return station


def test_the_station_qr_carries_the_public_url_whatever_the_host_header(client, administrador, stations, settings):
    settings.PUBLIC_URL = PUBLIC
    client.force_login(administrador)
    html = client.get("/stations/S1/qr/", HTTP_HOST="evil.example").content.decode()
    expected = PUBLIC + "/scan/?station=S1"
    assert expected in html and _qr_svg(expected) in html
    assert "evil.example" not in html


def test_the_kiosk_and_self_check_in_links_carry_the_public_url(client, caseta, kiosk_station, settings):
    settings.PUBLIC_URL = PUBLIC
    client.force_login(caseta)
    html = client.get("/stations/G1/kiosk/", HTTP_HOST="192.168.1.77:5000").content.decode()
    data = client.get("/stations/G1/kiosk/code/?format=json", HTTP_HOST="192.168.1.77:5000").json()
    link = PUBLIC + reverse("drivers:self_checkin", args=["G1", data["token"]])
    assert data["url"] == link
    assert PUBLIC + reverse("drivers:self_checkin", args=["G1", services.kiosk_token(kiosk_station)]) in html
    assert "192.168.1.77" not in html


def test_without_public_url_the_links_follow_the_address_the_page_was_opened_by(client, administrador, stations, settings):
    settings.PUBLIC_URL = ""
    client.force_login(administrador)
    html = client.get("/stations/S1/qr/", HTTP_HOST="192.168.1.50:5000").content.decode()
    assert "http://192.168.1.50:5000/scan/?station=S1" in html
