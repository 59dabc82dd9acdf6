"""POST /api/scan/ and /api/scan/annul/: every status code and field, and nothing written on errors."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from drivers import services
from drivers.models import Direction, Movement, RefusedScan, ScanReason, Visit

pytestmark = pytest.mark.django_db

@pytest.fixture(autouse=True)
def english(settings):
    # These tests read the English messages; the Spanish catalogue is tested elsewhere.
    settings.LANGUAGE_CODE = "en"


API = "/api/scan/"
ANNUL = "/api/scan/annul/"


def post(client, url, payload, **extra):
    body = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return client.post(url, body, content_type="application/json", **extra)


def nothing_written():
    return not Movement.objects.exists() and not RefusedScan.objects.exists() and not Visit.objects.exists()


@pytest.fixture
def booth(client, caseta):
    client.force_login(caseta)
    return client


def test_the_urls_are_stable():
    assert reverse("drivers:api_scan") == API
    assert reverse("drivers:api_annul") == ANNUL
    assert reverse("drivers:scan") == "/scan/"


def test_it_records_an_entry_and_answers_every_field(booth, driver, stations, caseta):
    r = post(booth, API, {"code": driver.badge_code, "station": "G1"})
    assert r.status_code == 200 and r["Content-Type"] == "application/json"
    data = r.json()
    movement = Movement.objects.get()
    assert data["accepted"] is True
    assert data["reason"] == "ok" and data["direction"] == "in" and data["level"] == "entry"
    assert data["replayed"] is False and data["forcible"] is False
    assert data["movement_id"] == movement.pk
    assert "José Ramírez" in data["message"]
    assert data["driver"]["id"] == driver.pk
    assert data["driver"]["name"] == "José Ramírez" and data["driver"]["company"] == "Fletes Ramírez"
    assert data["driver"]["plate"] == driver.plate
    assert data["driver"]["photo_url"] is None  # no photo
    since = timezone.localtime(movement.at).strftime("%Y-%m-%dT%H:%M")
    assert data["driver"]["inside_since"].startswith(since)
    assert movement.operator == caseta and movement.station == stations["gate"]


def test_a_two_way_gate_records_the_exit_with_the_time_inside(booth, driver, stations):
    post(booth, API, {"code": driver.badge_code, "station": "G1"})
    Movement.objects.update(at=timezone.now() - timedelta(hours=2, minutes=5))
    Visit.objects.update(entered_at=timezone.now() - timedelta(hours=2, minutes=5))
    data = post(booth, API, {"code": driver.badge_code.lower(), "station": "g1"}).json()
    assert data["accepted"] and data["direction"] == "out" and data["level"] == "exit"
    assert data["driver"]["time_inside"] == "2 h 05 min"
    assert not Visit.objects.filter(left_at__isnull=True).exists()


def test_a_banned_driver_is_refused_with_the_reason(booth, driver, stations, supervisor):
    services.ban(driver=driver, reason="Robo de diésel", by=supervisor)
    r = post(booth, API, {"code": driver.badge_code, "station": "E1"})
    data = r.json()
    assert r.status_code == 200
    assert data["accepted"] is False and data["reason"] == "banned" and data["level"] == "refused"
    assert "Robo de diésel" in data["message"] and data["movement_id"] is None
    assert data["driver"]["name"] == "José Ramírez"
    assert RefusedScan.objects.get().reason == ScanReason.BANNED and not Movement.objects.exists()


def test_an_unknown_or_garbage_code_is_a_refusal_not_an_error(booth, stations):
    for code in ["NOPE", "A" * 26, "ñ☃\u202e" * 20, "x" * 10000]:
        r = post(booth, API, {"code": code, "station": "E1"})
        assert r.status_code == 200 and r.json()["accepted"] is False and r.json()["driver"] is None
    assert set(RefusedScan.objects.values_list("reason", flat=True)) == {"invalid", "unknown"}


def test_anti_passback_is_forcible_only_for_a_user_with_the_permission(
    client, driver, stations, caseta, supervisor
):
    services.record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    Movement.objects.update(at=timezone.now() - timedelta(minutes=5))  # past the double-read window
    client.force_login(caseta)
    data = post(client, API, {"code": driver.badge_code, "station": "E1"}).json()
    assert data["reason"] == "already_inside" and data["forcible"] is False
    client.force_login(supervisor)
    data = post(client, API, {"code": driver.badge_code, "station": "E1"}).json()
    assert data["reason"] == "already_inside" and data["forcible"] is True and data["direction"] == "in"
    data = post(client, API, {"code": driver.badge_code, "station": "E1", "force": True,
                              "note": "Sensor falló", "direction": "in"}).json()
    assert data["accepted"] and data["level"] == "warning"
    forced = Movement.objects.get(pk=data["movement_id"])
    assert forced.forced and forced.force_reason == "Sensor falló" and forced.operator == supervisor


def test_a_booth_cannot_force(booth, driver, stations):
    data = post(booth, API, {"code": driver.badge_code, "station": "S1", "force": True, "note": "x"}).json()
    assert data["accepted"] is False and data["reason"] == "forbidden"
    assert not Movement.objects.exists()


def test_the_same_nonce_twice_replays_the_first_answer(booth, driver, stations):
    first = post(booth, API, {"code": driver.badge_code, "station": "G1", "nonce": "abc-1"}).json()
    again = post(booth, API, {"code": driver.badge_code, "station": "G1", "nonce": "abc-1"}).json()
    assert again["replayed"] is True and again["movement_id"] == first["movement_id"]
    assert Movement.objects.count() == 1


def test_a_late_upload_keeps_the_time_of_the_scan(booth, driver, stations):
    scanned = timezone.now() - timedelta(minutes=20)
    data = post(booth, API, {"code": driver.badge_code, "station": "E1", "nonce": "q-1",
                             "scanned_at": scanned.isoformat()}).json()
    movement = Movement.objects.get(pk=data["movement_id"])
    assert abs((movement.at - scanned).total_seconds()) < 1 and movement.is_late and data["late"]


def test_a_scan_claimed_three_days_ago_is_recorded_now_marked_late_and_undoable(booth, driver, stations):
    scanned = timezone.now() - timedelta(hours=71)
    data = post(booth, API, {"code": driver.badge_code, "station": "E1", "nonce": "q-2",
                             "scanned_at": scanned.isoformat()}).json()
    movement = Movement.objects.get(pk=data["movement_id"])
    assert abs((movement.at - timezone.now()).total_seconds()) < 5 and movement.is_late
    assert data["late"] is True and data["annullable"] is True
    assert Visit.objects.get().entered_at == movement.at
    r = post(booth, ANNUL, {"movement_id": movement.pk, "station": "E1", "reason": "Hora falsa"})
    assert r.status_code == 200


def test_a_nonce_sent_again_with_another_badge_is_a_409_and_records_nothing(booth, make_driver, stations):
    first, other = make_driver(full_name="Ana Primera"), make_driver(full_name="Beto Segundo")
    post(booth, API, {"code": first.badge_code, "station": "E1", "nonce": "abc-9"})
    r = post(booth, API, {"code": other.badge_code, "station": "E1", "nonce": "abc-9"})
    assert r.status_code == 409 and r["Content-Type"] == "application/json"
    assert r.json()["code"] == "nonce_conflict" and "nonce" in r.json()["error"]
    assert "Ana Primera" not in r.content.decode() and "driver" not in r.json()
    assert Movement.objects.count() == 1 and not RefusedScan.objects.exists()
    assert not Visit.objects.filter(driver=other).exists()


def test_a_nonce_sent_again_by_another_booth_user_is_a_409(client, driver, stations, caseta, supervisor):
    client.force_login(caseta)
    post(client, API, {"code": driver.badge_code, "station": "E1", "nonce": "abc-10"})
    client.force_login(supervisor)
    r = post(client, API, {"code": driver.badge_code, "station": "E1", "nonce": "abc-10"})
    assert r.status_code == 409 and r.json()["code"] == "nonce_conflict"
    assert Movement.objects.count() == 1


def test_a_nonce_sent_again_for_another_station_is_a_409(booth, driver, stations):
    post(booth, API, {"code": driver.badge_code, "station": "E1", "nonce": "abc-11"})
    r = post(booth, API, {"code": driver.badge_code, "station": "C1", "nonce": "abc-11"})
    assert r.status_code == 409 and Movement.objects.count() == 1


def test_a_double_read_is_a_warning_and_records_nothing_new(booth, driver, stations):
    post(booth, API, {"code": driver.badge_code, "station": "E1"})
    data = post(booth, API, {"code": driver.badge_code, "station": "E1"}).json()
    assert data["accepted"] and data["reason"] == "duplicate" and data["level"] == "warning"
    assert Movement.objects.count() == 1


def test_an_inactive_station_refuses(booth, driver, stations):
    stations["entry"].is_active = False
    stations["entry"].save()
    data = post(booth, API, {"code": driver.badge_code, "station": "E1"}).json()
    assert data["accepted"] is False and data["reason"] == "station_inactive"


@pytest.mark.parametrize("body", [
    "not json",
    "{",
    b"\xff\xfe\x00",
    "[1, 2]",
    '"G1"',
    "null",
    "1" * 5000,
    "[" * 100000,
    {},
    {"station": "G1"},
    {"code": "X"},
    {"code": "", "station": "G1"},
    {"code": "   ", "station": "G1"},
    {"code": 12345678, "station": "G1"},
    {"code": None, "station": "G1"},
    {"code": ["A"], "station": "G1"},
    {"code": {"a": 1}, "station": "G1"},
    {"code": True, "station": "G1"},
    {"code": "ABC", "station": 1},
    {"code": "ABC", "station": "NOPE"},
    {"code": "ABC", "station": "G1\x00"},
    {"code": "ABC", "station": "x" * 500},
    {"code": "ABC", "station": ""},
    {"code": "ABC", "station": "G1", "nonce": 5},
    {"code": "ABC", "station": "G1", "nonce": "bad nonce!"},
    {"code": "ABC", "station": "G1", "nonce": "n" * 65},
    {"code": "ABC", "station": "G1", "direction": "sideways"},
    {"code": "ABC", "station": "G1", "direction": 1},
    {"code": "ABC", "station": "G1", "force": "yes"},
    {"code": "ABC", "station": "G1", "force": True},
    {"code": "ABC", "station": "G1", "force": True, "note": "   "},
    {"code": "ABC", "station": "G1", "note": 7},
    {"code": "ABC", "station": "G1", "scanned_at": "yesterday"},
    {"code": "ABC", "station": "G1", "scanned_at": "2024-13-45T99:00:00"},
    {"code": "ABC", "station": "G1", "scanned_at": 1700000000},
])
def test_a_malformed_request_is_a_400_with_a_message_and_writes_nothing(booth, stations, body):
    r = post(booth, API, body)
    assert r.status_code == 400
    assert r["Content-Type"] == "application/json"
    assert isinstance(r.json()["error"], str) and r.json()["error"]
    assert isinstance(r.json()["code"], str) and r.json()["code"]
    assert nothing_written()


def test_hostile_but_well_formed_input_is_never_a_500(booth, driver, stations, supervisor):
    hostile = ["\x00", "A\x00" * 13, "' OR 1=1 --", "<script>alert(1)</script>", "\ud7ff" * 30,
               " " + driver.badge_code + "\n"]
    for code in hostile:
        assert post(booth, API, {"code": code, "station": "C1"}).status_code == 200
    booth.force_login(supervisor)
    r = post(booth, API, {"code": driver.badge_code, "station": "S1", "force": True, "note": "a\x00b" * 300})
    assert r.status_code == 200 and r.json()["accepted"]
    assert Movement.objects.get().force_reason == "ab" * 166 + "a"


@pytest.mark.parametrize("station, direction", [("G1", "pass"), ("E1", "out"), ("C1", "in")])
def test_a_direction_the_station_cannot_record_is_a_400(booth, driver, stations, station, direction):
    r = post(booth, API, {"code": driver.badge_code, "station": station, "direction": direction})
    assert r.status_code == 400 and r.json()["error"]
    assert nothing_written()


def test_an_anonymous_call_is_a_401_in_json(client, driver, stations):
    r = post(client, API, {"code": driver.badge_code, "station": "G1"})
    assert r.status_code == 401 and "error" in r.json()
    assert nothing_written()


def test_a_chofer_gets_a_403_in_json(client, chofer, driver, stations):
    client.force_login(chofer)
    r = post(client, API, {"code": driver.badge_code, "station": "G1"})
    assert r.status_code == 403 and "error" in r.json()
    assert nothing_written()


def test_get_is_a_405(booth):
    r = booth.get(API)
    assert r.status_code == 405 and r["Allow"] == "POST" and "error" in r.json()


def test_csrf_is_enforced_for_the_session(caseta, driver, stations):
    client = Client(enforce_csrf_checks=True)
    client.force_login(caseta)
    r = post(client, API, {"code": driver.badge_code, "station": "G1"})
    assert r.status_code == 403 and "CSRF" in r.json()["error"]
    assert nothing_written()
    client.get("/scan/")  # the page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    r = post(client, API, {"code": driver.badge_code, "station": "G1"}, HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 200 and r.json()["accepted"]


def test_the_photo_url_points_at_the_media_view_when_there_is_one(booth, make_driver, stations):
    d = make_driver()
    d.photo.name = "drivers/abc.jpg"
    d.save()
    data = post(booth, API, {"code": d.badge_code, "station": "E1"}).json()
    try:
        expected = reverse("drivers:media", args=["drivers/abc.jpg"])
    except Exception:
        expected = None
    assert data["driver"]["photo_url"] == expected


# --- annul ---------------------------------------------------------------------------------


def test_the_station_undoes_its_last_scan_and_presence_is_restored(booth, driver, stations, caseta):
    data = post(booth, API, {"code": driver.badge_code, "station": "G1"}).json()
    assert data["annullable"] is True
    r = post(booth, ANNUL, {"movement_id": data["movement_id"], "station": "G1", "reason": "Se equivocó"})
    assert r.status_code == 200 and r.json()["annulled"] is True and "José Ramírez" in r.json()["message"]
    movement = Movement.objects.get()
    assert movement.annulled_at and movement.annulled_by == caseta and movement.annul_reason == "Se equivocó"
    assert not Visit.objects.filter(left_at__isnull=True).exists()


def test_undo_without_a_reason_uses_a_default_one(booth, driver, stations):
    data = post(booth, API, {"code": driver.badge_code, "station": "G1"}).json()
    assert post(booth, ANNUL, {"movement_id": data["movement_id"], "station": "G1"}).status_code == 200
    assert Movement.objects.get().annul_reason


def test_another_station_cannot_undo_the_scan(booth, driver, stations):
    data = post(booth, API, {"code": driver.badge_code, "station": "E1"}).json()
    r = post(booth, ANNUL, {"movement_id": data["movement_id"], "station": "G1", "reason": "x"})
    assert r.status_code == 400 and not Movement.objects.get().annulled_at


def test_it_is_too_late_to_undo_after_the_window(booth, driver, stations, settings):
    data = post(booth, API, {"code": driver.badge_code, "station": "E1"}).json()
    Movement.objects.update(recorded_at=timezone.now() - timedelta(minutes=settings.SCAN_ANNUL_WINDOW_MINUTES + 1))
    r = post(booth, ANNUL, {"movement_id": data["movement_id"], "station": "E1", "reason": "x"})
    assert r.status_code == 400 and "late" in r.json()["error"].lower()
    assert r.json()["code"] == "annul_too_late"
    assert not Movement.objects.get().annulled_at


def test_an_annulled_scan_cannot_be_undone_twice(booth, driver, stations):
    data = post(booth, API, {"code": driver.badge_code, "station": "E1"}).json()
    post(booth, ANNUL, {"movement_id": data["movement_id"], "station": "E1", "reason": "x"})
    again = post(booth, ANNUL, {"movement_id": data["movement_id"], "station": "E1", "reason": "x"})
    assert again.status_code == 400 and again.json()["code"] == "already_annulled"


@pytest.mark.parametrize("body", [
    "nope", "[]", {}, {"movement_id": "1", "station": "E1"}, {"movement_id": True, "station": "E1"},
    {"movement_id": 10**30, "station": "E1"}, {"movement_id": -1, "station": "E1"},
    {"movement_id": 999999, "station": "E1"}, {"movement_id": 1, "station": "ZZ"},
    {"movement_id": 1, "station": "E1", "reason": 5},
])
def test_a_malformed_undo_is_a_400(booth, stations, body):
    r = post(booth, ANNUL, body)
    assert r.status_code == 400 and r.json()["error"]


def test_a_booth_is_not_offered_and_may_not_undo_another_users_scan(
    client, driver, stations, caseta, supervisor
):
    from conftest import make_user

    other = make_user("caseta2", "Caseta")
    client.force_login(other)
    first = post(client, API, {"code": driver.badge_code, "station": "E1"}).json()
    assert first["annullable"] is True
    client.force_login(caseta)
    # The same badge read again at once at the same station: a double read showing the other's scan.
    again = post(client, API, {"code": driver.badge_code, "station": "E1"}).json()
    assert again["reason"] == "duplicate" and again["movement_id"] == first["movement_id"]
    assert again["annullable"] is False
    r = post(client, ANNUL, {"movement_id": first["movement_id"], "station": "E1", "reason": "x"})
    assert r.status_code == 403 and r.json()["code"] == "annul_forbidden"
    assert not Movement.objects.get().annulled_at
    client.force_login(supervisor)
    r = post(client, ANNUL, {"movement_id": first["movement_id"], "station": "E1", "reason": "x"})
    assert r.status_code == 200 and Movement.objects.get().annulled_by == supervisor


def test_a_booth_may_not_undo_a_forced_movement_from_the_api(client, driver, stations, caseta, supervisor):
    client.force_login(supervisor)
    data = post(client, API, {"code": driver.badge_code, "station": "S1", "force": True, "note": "Sin escanear"}).json()
    assert data["accepted"] and data["annullable"] is True
    client.force_login(caseta)
    r = post(client, ANNUL, {"movement_id": data["movement_id"], "station": "S1", "reason": "x"})
    assert r.status_code == 403 and r.json()["code"] == "annul_forbidden"
    assert not Movement.objects.get().annulled_at


def test_an_older_late_scan_that_is_not_the_latest_is_not_offered_for_undo(booth, driver, stations):
    post(booth, API, {"code": driver.badge_code, "station": "E1"})
    late = post(booth, API, {"code": driver.badge_code, "station": "C1",
                             "scanned_at": (timezone.now() - timedelta(hours=1)).isoformat()}).json()
    # Accepted (he is inside), but the entry just made is newer: this pass is not his latest.
    assert late["accepted"] and late["late"] and late["annullable"] is False
    r = post(booth, ANNUL, {"movement_id": late["movement_id"], "station": "C1", "reason": "x"})
    assert r.status_code == 400 and r.json()["code"] == "annul_not_latest"


def test_undo_needs_the_permission(client, chofer, driver, stations, caseta):
    result = services.record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    movement = result.movement
    assert post(client, ANNUL, {"movement_id": movement.pk, "station": "E1"}).status_code == 401
    client.force_login(chofer)
    assert post(client, ANNUL, {"movement_id": movement.pk, "station": "E1"}).status_code == 403
    movement.refresh_from_db()
    assert movement.annulled_at is None and movement.direction == Direction.IN


# --- cost ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_accepted_scan_costs_at_most_ten_sql_statements(client, caseta, make_driver, stations, settings):
    """Steady state at a two-way gate: a warm session, the station and the drivers exist.
    Counted in a real transaction (BEGIN/COMMIT included), entries and exits alike."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    drivers = [make_driver() for _ in range(3)]
    client.force_login(caseta)
    post(client, API, {"code": drivers[0].badge_code, "station": "G1", "nonce": "warm-0"})
    counts = []
    for n, (driver, expected) in enumerate([(drivers[1], "in"), (drivers[0], "out"), (drivers[2], "in")]):
        with CaptureQueriesContext(connection) as queries:
            data = post(client, API, {"code": driver.badge_code, "station": "G1", "nonce": f"cost-{n}"}).json()
        assert data["accepted"] and data["direction"] == expected and data["annullable"]
        counts.append(len(queries))
    assert max(counts) <= 10, [q["sql"][:80] for q in queries.captured_queries]
