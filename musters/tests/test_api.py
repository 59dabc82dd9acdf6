"""POST /api/muster/<id>/mark/: the marshal page's JSON API, its statuses and errors."""

import json

import pytest
from django.test import Client

from musters import services
from musters.models import Mark


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def roll_call(inside, supervisor):
    return services.start_roll_call(by=supervisor, drill=True)


@pytest.fixture
def marshal(client, caseta):
    client.force_login(caseta)
    return client


def post(client, roll_call, payload, **extra):
    body = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
    return client.post(f"/api/muster/{roll_call.pk}/mark/", body, content_type="application/json", **extra)


def test_a_scan_answers_the_driver_and_the_counts(marshal, roll_call, inside, point):
    r = post(marshal, roll_call, {"code": inside[0].badge_code, "station": "m1", "nonce": "x-1"})
    data = r.json()
    assert r.status_code == 200 and data["accepted"] and data["reason"] == "ok"
    assert data["driver"]["id"] == inside[0].pk and data["driver"]["name"] == inside[0].full_name
    assert (data["accounted"], data["expected"], data["missing"]) == (1, 3, 2)
    assert data["first"] is None and inside[0].full_name in data["message"]


def test_a_second_scan_answers_duplicate_with_the_first(marshal, roll_call, inside, point, caseta):
    post(marshal, roll_call, {"code": inside[0].badge_code, "station": "M1", "nonce": "x-1"})
    data = post(marshal, roll_call, {"code": inside[0].badge_code, "point_name": "Patio", "nonce": "x-2"}).json()
    assert data["reason"] == "duplicate" and data["accepted"]
    assert data["first"]["point"] == "Punto A" and data["first"]["by"] == caseta.username
    assert data["accounted"] == 1


def test_the_same_nonce_is_idempotent_and_another_code_a_409(marshal, roll_call, inside, point):
    a = post(marshal, roll_call, {"code": inside[0].badge_code, "station": "M1", "nonce": "x-1"}).json()
    b = post(marshal, roll_call, {"code": inside[0].badge_code, "station": "M1", "nonce": "x-1"}).json()
    assert a["reason"] == b["reason"] == "ok" and b["replayed"]
    r = post(marshal, roll_call, {"code": inside[1].badge_code, "station": "M1", "nonce": "x-1"})
    assert r.status_code == 409 and r.json()["code"] == "nonce_conflict"
    assert Mark.objects.count() == 1


@pytest.mark.parametrize("payload", [
    "not json",
    [1, 2],
    {"station": "M1"},
    {"code": "", "station": "M1"},
    {"code": "X", "station": "M1", "point_name": "Patio"},
    {"code": "X"},
    {"code": "X", "station": "G1"},
    {"code": "X", "station": "M1", "scanned_at": "yesterday"},
    {"code": "X", "station": "M1", "nonce": "bad nonce!"},
    {"code": 5, "station": "M1"},
])
def test_bad_requests_are_400_and_write_nothing(marshal, roll_call, point, stations, payload):
    r = post(marshal, roll_call, payload)
    assert r.status_code == 400 and r.json()["error"] and r.json()["code"]
    assert not Mark.objects.exists()


def test_an_unknown_roll_call_is_a_404(marshal, roll_call, point):
    r = marshal.post("/api/muster/999999/mark/", "{}", content_type="application/json")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_a_lapsed_session_is_a_401_and_a_driver_a_403(client, roll_call, inside, point, chofer):
    r = post(client, roll_call, {"code": inside[0].badge_code, "station": "M1"})
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"
    client.force_login(chofer)
    r = post(client, roll_call, {"code": inside[0].badge_code, "station": "M1"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert not Mark.objects.exists()


def test_csrf_is_enforced(caseta, roll_call, inside, point):
    client = Client(enforce_csrf_checks=True)
    client.force_login(caseta)
    r = post(client, roll_call, {"code": inside[0].badge_code, "station": "M1"})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    client.get("/muster/")
    token = client.cookies["csrftoken"].value
    r = post(client, roll_call, {"code": inside[0].badge_code, "station": "M1"}, HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 200 and r.json()["reason"] == "ok"


def test_a_closed_roll_call_answers_closed(marshal, roll_call, inside, point, supervisor):
    services.close_roll_call(roll_call=roll_call, by=supervisor)
    data = post(marshal, roll_call, {"code": inside[0].badge_code, "station": "M1"}).json()
    assert data["reason"] == "closed" and not data["accepted"]
