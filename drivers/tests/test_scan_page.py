"""The scan page and its recent-scans fragment: permissions, station choice, what is listed."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from drivers import services
from drivers.models import Movement

pytestmark = pytest.mark.django_db


def config(response):
    html = response.content.decode()
    start = html.index('<script id="scan-config" type="application/json">') + len(
        '<script id="scan-config" type="application/json">')
    return json.loads(html[start:html.index("</script>", start)])


@pytest.mark.parametrize("url", ["/scan/", "/scan/recent/?station=G1"])
def test_anonymous_users_are_sent_to_the_login(client, url):
    r = client.get(url)
    assert r.status_code == 302 and r["Location"].startswith("/login/")


@pytest.mark.parametrize("url", ["/scan/", "/scan/recent/?station=G1"])
def test_a_chofer_may_not_open_the_scan_screen(client, chofer, url):
    client.force_login(chofer)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("role", ["Caseta", "Supervisor", "Administrador"])
def test_booth_supervisor_and_admin_open_the_scan_screen(client, role_users, stations, role):
    client.force_login(role_users[role])
    r = client.get("/scan/")
    assert r.status_code == 200
    assert b'id="scan-input"' in r.content and b"vendor/jsqr/jsQR.js" in r.content
    assert {s["code"] for s in config(r)["stations"]} == {"E1", "S1", "G1", "C1"}


def test_the_users_default_station_is_preselected(client, caseta, stations):
    caseta.default_station = stations["exit"]
    caseta.save()
    client.force_login(caseta)
    cfg = config(client.get("/scan/"))
    assert cfg["station"] == "S1" and cfg["stationFromUrl"] is False


def test_a_station_in_the_url_wins_and_binds_the_device(client, caseta, stations):
    caseta.default_station = stations["exit"]
    caseta.save()
    client.force_login(caseta)
    cfg = config(client.get("/scan/?station=g1"))
    assert cfg["station"] == "G1" and cfg["stationFromUrl"] is True
    assert config(client.get("/scan/?station=%00NOPE"))["station"] == "S1"


def test_only_a_supervisor_is_told_he_may_force(client, caseta, supervisor, stations):
    client.force_login(caseta)
    assert config(client.get("/scan/"))["canForce"] is False
    client.force_login(supervisor)
    assert config(client.get("/scan/"))["canForce"] is True


def test_the_recent_list_shows_this_stations_scans_only(client, caseta, make_driver, stations):
    here, there = make_driver(full_name="Aquí Pérez"), make_driver(full_name="Allá López")
    services.record_scan(code=here.badge_code, station=stations["gate"], operator=caseta)
    services.record_scan(code=there.badge_code, station=stations["entry"], operator=caseta)
    services.record_scan(code="BASURA", station=stations["gate"], operator=caseta)
    client.force_login(caseta)
    html = client.get("/scan/recent/?station=G1").content.decode()
    assert "Aquí Pérez" in html and "Allá López" not in html
    assert "BASURA" in html  # the refused scan is listed too
    assert "data-undo=" in html


def test_an_old_scan_has_no_undo_button(client, caseta, driver, stations, settings):
    services.record_scan(code=driver.badge_code, station=stations["gate"], operator=caseta)
    long_ago = timezone.now() - timedelta(minutes=settings.SCAN_ANNUL_WINDOW_MINUTES + 1)
    Movement.objects.update(at=long_ago, recorded_at=long_ago)
    client.force_login(caseta)
    html = client.get("/scan/recent/?station=G1").content.decode()
    assert "José Ramírez" in html and "data-undo=" not in html


def test_the_recent_list_of_an_unknown_station_is_empty_not_an_error(client, caseta, stations):
    client.force_login(caseta)
    for station in ["", "NOPE", "%00", "x" * 300]:
        assert client.get(f"/scan/recent/?station={station}").status_code == 200


def test_the_recent_list_costs_a_fixed_number_of_queries(client, caseta, make_driver, stations,
                                                        django_assert_max_num_queries):
    for _ in range(8):
        d = make_driver()
        services.record_scan(code=d.badge_code, station=stations["gate"], operator=caseta)
        services.record_scan(code="X" + d.badge_code, station=stations["gate"], operator=caseta)
    client.force_login(caseta)
    with django_assert_max_num_queries(12):
        assert client.get("/scan/recent/?station=G1").status_code == 200


def recent_marker(html: str) -> str:
    return re.search(r'data-marker="([0-9a-f]+)"', html).group(1)


def test_the_recent_list_answers_204_while_nothing_changed(client, caseta, driver, stations):
    client.force_login(caseta)
    first = client.get("/scan/recent/?station=G1", HTTP_HX_REQUEST="true")
    marker = recent_marker(first.content.decode())
    again = client.get(f"/scan/recent/?station=G1&since={marker}", HTTP_HX_REQUEST="true")
    assert again.status_code == 204 and again.content == b""

    services.record_scan(code=driver.badge_code, station=stations["gate"], operator=caseta)
    changed = client.get(f"/scan/recent/?station=G1&since={marker}", HTTP_HX_REQUEST="true")
    assert changed.status_code == 200 and "José Ramírez" in changed.content.decode()
    assert recent_marker(changed.content.decode()) != marker


def test_the_recent_list_changes_when_an_undo_button_goes(client, caseta, driver, stations, settings):
    services.record_scan(code=driver.badge_code, station=stations["gate"], operator=caseta)
    client.force_login(caseta)
    html = client.get("/scan/recent/?station=G1", HTTP_HX_REQUEST="true").content.decode()
    assert "data-undo=" in html
    Movement.objects.update(at=timezone.now() - timedelta(minutes=settings.SCAN_ANNUL_WINDOW_MINUTES + 1),
                            recorded_at=timezone.now() - timedelta(minutes=settings.SCAN_ANNUL_WINDOW_MINUTES + 1))
    later = client.get(f"/scan/recent/?station=G1&since={recent_marker(html)}", HTTP_HX_REQUEST="true")
    assert later.status_code == 200 and "data-undo=" not in later.content.decode()


def test_the_recent_poll_of_an_ended_session_is_a_401_not_the_login_page(client, stations):
    r = client.get("/scan/recent/?station=G1", HTTP_HX_REQUEST="true")
    assert r.status_code == 401 and b"id_password" not in r.content


def test_a_booth_is_offered_undo_on_its_own_scans_only(client, caseta, make_driver, stations):
    from conftest import make_user

    other_booth = make_user("caseta2", "Caseta")
    theirs, mine = make_driver(full_name="Chofer De Otro"), make_driver(full_name="Chofer Mío")
    theirs_move = services.record_scan(code=theirs.badge_code, station=stations["gate"], operator=other_booth)
    mine_move = services.record_scan(code=mine.badge_code, station=stations["gate"], operator=caseta)
    client.force_login(caseta)
    html = client.get("/scan/recent/?station=G1").content.decode()
    assert f'data-undo="{mine_move.movement.pk}"' in html
    assert f'data-undo="{theirs_move.movement.pk}"' not in html


def test_a_station_qr_printed_with_the_public_address_may_rebind_the_booth(client, caseta, stations, settings):
    settings.PUBLIC_URL = "https://gate.plant.lan"
    client.force_login(caseta)
    cfg = config(client.get("/scan/", HTTP_HOST="10.0.0.7:5000"))
    assert cfg["stationQrOrigins"] == ["http://10.0.0.7:5000", "https://gate.plant.lan"]
    assert cfg["scanPath"] == "/scan/"
