"""The token API /api/v1/: tokens, scopes, pagination, rate limits, the OpenAPI schema."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from openapi_spec_validator import validate

from accounts.models import Role
from accounts.services import create_api_token, revoke_api_token
from conftest import make_user
from drivers.models import Movement
from drivers.services import record_scan

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_counts():
    cache.clear()
    yield
    cache.clear()


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.fixture
def read_key(supervisor):
    return create_api_token(user=supervisor, name="ERP", scope="read")[1]


@pytest.fixture
def write_key(supervisor):
    return create_api_token(user=supervisor, name="Barrier PLC", scope="write")[1]


def test_a_read_token_lists_the_drivers_inside(client, read_key, make_driver, stations, caseta):
    inside = make_driver(full_name="Ana Dentro")
    make_driver(full_name="Beto Fuera")  # registered, never scanned in
    record_scan(code=inside.badge_code, station=stations["entry"], operator=caseta)
    answer = client.get("/api/v1/presence/", **bearer(read_key))
    assert answer.status_code == 200
    rows = answer.json()
    assert [r["driver"]["name"] for r in rows] == ["Ana Dentro"]
    assert rows[0]["entry_station"] == "E1" and rows[0]["driver"]["id"] == inside.pk
    assert "sessionid" not in answer.cookies


def test_a_call_without_a_token_is_401_even_with_a_session(client, supervisor):
    assert client.get("/api/v1/presence/").status_code == 401
    client.force_login(supervisor)  # a session is not a token
    answer = client.get("/api/v1/presence/")
    assert answer.status_code == 401 and answer["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_or_revoked_token_is_401(client, supervisor):
    token, key = create_api_token(user=supervisor, name="ERP")
    assert client.get("/api/v1/drivers/", **bearer(key)).status_code == 200
    revoke_api_token(token=token)
    assert client.get("/api/v1/drivers/", **bearer(key)).status_code == 401
    assert client.get("/api/v1/drivers/", **bearer("qrg_" + "x" * 43)).status_code == 401


def test_a_token_acts_within_its_users_permissions(client, db):
    booth = make_user("caseta-api", Role.BOOTH)
    _, key = create_api_token(user=booth, name="script", scope="read")
    assert client.get("/api/v1/presence/", **bearer(key)).status_code == 200
    assert client.get("/api/v1/movements/", **bearer(key)).status_code == 403  # booths do not read history


def test_movements_page_by_a_cursor_that_skips_and_repeats_nothing(client, read_key, make_driver, stations,
                                                                    caseta, settings):
    settings.API_SETTLE_SECONDS = 0
    drivers = [make_driver() for _ in range(5)]
    for d in drivers[:3]:
        record_scan(code=d.badge_code, station=stations["entry"], operator=caseta)
    first = client.get("/api/v1/movements/?page_size=2", **bearer(read_key)).json()
    assert len(first["results"]) == 2
    for d in drivers[3:]:  # inserted while the client pages
        record_scan(code=d.badge_code, station=stations["entry"], operator=caseta)
    seen = [m["id"] for m in first["results"]]
    url = first["next"]
    while url:
        page = client.get(url, **bearer(read_key)).json()
        seen += [m["id"] for m in page["results"]]
        url = page["next"]
    assert seen == sorted(Movement.objects.values_list("pk", flat=True))


def test_movements_since_a_time_and_a_bad_time_is_a_400(client, read_key, make_driver, stations, caseta,
                                                        settings):
    settings.API_SETTLE_SECONDS = 0
    old = record_scan(code=make_driver().badge_code, station=stations["entry"], operator=caseta).movement
    Movement.objects.filter(pk=old.pk).update(recorded_at=timezone.now() - timedelta(days=2))
    new = record_scan(code=make_driver().badge_code, station=stations["entry"], operator=caseta).movement
    since = (timezone.now() - timedelta(days=1)).isoformat()
    answer = client.get("/api/v1/movements/", {"since": since}, **bearer(read_key))
    assert [m["id"] for m in answer.json()["results"]] == [new.pk]
    assert client.get("/api/v1/movements/?since=yesterday", **bearer(read_key)).status_code == 400


def test_a_movement_still_settling_is_handed_out_on_the_next_call(client, read_key, driver, stations, caseta,
                                                                   settings):
    settings.API_SETTLE_SECONDS = 60
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    assert client.get("/api/v1/movements/", **bearer(read_key)).json()["results"] == []


def rates(settings, token, address):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"token": token, "address": address}}


def test_too_many_calls_of_one_token_are_answered_429(client, read_key, supervisor, settings):
    rates(settings, token="3/minute", address="100/minute")
    codes = [client.get("/api/v1/drivers/", **bearer(read_key)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    _, other = create_api_token(user=supervisor, name="other")
    assert client.get("/api/v1/drivers/", **bearer(other)).status_code == 200  # per token


def test_too_many_calls_from_one_address_are_answered_429_whatever_the_token(client, supervisor, settings):
    rates(settings, token="100/minute", address="2/minute")
    keys = [create_api_token(user=supervisor, name=f"t{i}")[1] for i in range(3)]
    codes = [client.get("/api/v1/drivers/", **bearer(key)).status_code for key in keys]
    assert codes == [200, 200, 429]
    assert client.get("/api/v1/drivers/", REMOTE_ADDR="127.0.0.2", **bearer(keys[0])).status_code == 200


def test_the_schema_is_valid_openapi_3(client):
    answer = client.get("/api/v1/schema/?format=json")
    assert answer.status_code == 200
    schema = answer.json()
    assert schema["openapi"].startswith("3.")
    validate(schema)
    assert {"/api/v1/presence/", "/api/v1/movements/", "/api/v1/drivers/"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_docs_page_loads_its_assets_from_this_server(client):
    page = client.get("/api/v1/docs/")
    html = page.content.decode()
    assert page.status_code == 200 and "swagger-ui-bundle.js" in html
    assert "http://" not in html and "https://" not in html and "<script>" not in html
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and "/api/v1/schema/" in script.content.decode()


def test_a_write_token_records_a_scan_with_the_booths_answer(client, write_key, driver, stations, supervisor):
    answer = client.post("/api/v1/scans/", {"code": driver.badge_code, "station": "E1", "nonce": "erp-1"},
                         content_type="application/json", **bearer(write_key))
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert data["accepted"] and data["direction"] == "in" and data["driver"]["name"] == driver.full_name
    movement = Movement.objects.get()
    assert movement.operator == supervisor and movement.nonce == "erp-1"
    again = client.post("/api/v1/scans/", {"code": driver.badge_code, "station": "E1", "nonce": "erp-1"},
                        content_type="application/json", **bearer(write_key))
    assert again.json()["replayed"] and Movement.objects.count() == 1


def test_scans_refuses_a_read_token_a_missing_token_and_bad_input(client, read_key, write_key, driver, stations):
    body = {"code": driver.badge_code, "station": "E1"}
    assert client.post("/api/v1/scans/", body, content_type="application/json", **bearer(read_key)).status_code == 403
    assert client.post("/api/v1/scans/", body, content_type="application/json").status_code == 401
    bad = client.post("/api/v1/scans/", {"code": driver.badge_code, "station": "NOPE"},
                      content_type="application/json", **bearer(write_key))
    assert bad.status_code == 400 and bad.json()["code"] == "unknown_station"
    assert client.post("/api/v1/scans/", "not json", content_type="application/json",
                       **bearer(write_key)).status_code == 400
    assert not Movement.objects.exists()


def test_the_schema_documents_post_scans(client):
    schema = client.get("/api/v1/schema/?format=json").json()
    assert "post" in schema["paths"]["/api/v1/scans/"]
    validate(schema)
