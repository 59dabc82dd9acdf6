"""Every endpoint that takes input, fed hostile values: a 4xx or a form error, never a 500.

Hypothesis generates the values (wrong JSON types, huge and binary text, control
characters, SQL, script tags, emoji, URLs); each test asserts the status and what was (not)
written. The last tests show a driver named <script>alert(1)</script> on every screen that
shows drivers and check it is escaped.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, reverse
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from drivers import services
from drivers.models import Ban, Driver, Movement, RefusedScan, Visit

pytestmark = pytest.mark.django_db

HOSTILE_STRINGS = [
    "", " ", "\x00", "a\x00b", "A" * 10_000, "🚚" * 2500, "'; DROP TABLE drivers_driver; --",
    "\" OR 1=1 --", "<script>alert(1)</script>", "https://example.com/?a=<b>&c=%00",
    "javascript:alert(1)", "\r\n\t\x1b[31m", "\u202e\u200b\ufeff", "NaN", "-1", "0", "1e309",
    "9" * 40, "2024-13-45", "../../etc/passwd", "%s%s%s%n", "{{ 7*7 }}", "null", "[]", "{}",
]
hostile_text = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.text(max_size=200),
    st.binary(max_size=100).map(lambda b: b.decode("latin-1")),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4),
    max_leaves=12,
)
SETTINGS = hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def url(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        pytest.skip(f"{name} is not installed yet")


def counts():
    return (Movement.objects.count(), RefusedScan.objects.count(), Visit.objects.count(),
            Ban.objects.count(), Driver.objects.count())


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


# --- POST /api/scan/ ---------------------------------------------------------------------

scan_payloads = st.one_of(
    json_values,
    st.fixed_dictionaries({}, optional={
        key: json_values for key in ("code", "station", "nonce", "direction", "force", "note", "scanned_at")
    }),
    st.fixed_dictionaries({"code": hostile_text, "station": st.sampled_from(["E1", "S1", "G1", "C1"])},
                          optional={"direction": json_values, "force": json_values, "note": hostile_text,
                                    "nonce": hostile_text, "scanned_at": hostile_text}),
)


@SETTINGS
@given(payload=scan_payloads)
def test_the_scan_api_answers_hostile_json_with_a_result_or_a_400_and_never_a_movement(
        payload, admin_user, stations, driver):
    client = logged_in(admin_user)
    before = counts()
    response = client.post(url("drivers:api_scan"), json.dumps(payload), content_type="application/json")
    assert response.status_code in (200, 400), response.content[:300]
    body = response.json()
    assert Movement.objects.count() == before[0]
    if response.status_code == 400:
        assert body["error"] and counts() == before
    else:
        assert body["accepted"] is False and body["reason"] in ("invalid", "unknown")


@SETTINGS
@given(body=st.binary(max_size=2000), content_type=st.sampled_from(
    ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]))
def test_the_scan_api_answers_a_body_that_is_not_json_with_a_400(body, content_type, caseta, stations):
    client = logged_in(caseta)
    before = counts()
    response = client.post(url("drivers:api_scan"), body, content_type=content_type)
    assert response.status_code == 400 and response.json()["error"]
    assert counts() == before


# --- GET /history/ and its export ----------------------------------------------------------

HISTORY_KEYS = ["date_from", "date_to", "driver", "company", "station", "direction", "operator", "result",
                "forced", "page", "sort", "per_page", "format", "q", "driver[]"]


@SETTINGS
@given(params=st.dictionaries(st.sampled_from(HISTORY_KEYS) | hostile_text, hostile_text, max_size=6))
def test_the_history_and_its_export_take_hostile_filters_without_a_500(params, supervisor, stations, driver):
    services.record_scan(code=driver.badge_code, station=stations["entry"], operator=supervisor)
    client = logged_in(supervisor)
    params = {k.replace("\x00", ""): v for k, v in params.items()}
    before = counts()
    response = client.get(url("drivers:history"), params)
    assert response.status_code in (200, 400, 404)
    export = client.get(url("drivers:history_export"), {**params, "format": params.get("format", "csv")})
    assert export.status_code in (200, 400, 404)
    if export.status_code == 200:
        b"".join(export.streaming_content) if export.streaming else export.content
    assert counts() == before


# --- the ban form, the check-out form, follow ------------------------------------------------

@SETTINGS
@given(reason=hostile_text, until=hostile_text)
def test_the_ban_form_refuses_bad_values_with_a_message_and_writes_only_a_valid_ban(
        reason, until, supervisor, driver):
    client = logged_in(supervisor)
    Ban.objects.all().delete()
    response = client.post(url("drivers:ban", driver.pk), {"reason": reason, "until": until})
    assert response.status_code in (302, 400)
    ban = Ban.objects.first()
    if ban is not None:
        assert ban.reason == reason.strip() and "\x00" not in ban.reason and len(ban.reason) <= 500


@SETTINGS
@given(reason=hostile_text, driver_id=st.sampled_from(["0", "-1", "99999999999999999999", "x"]))
def test_the_check_out_form_and_the_follow_page_take_hostile_values_without_a_500(
        reason, driver_id, supervisor, driver):
    client = logged_in(supervisor)
    before = counts()
    response = client.post(url("drivers:check_out", driver.pk), {"reason": reason})
    assert response.status_code in (302, 400)  # he is not inside: an error message, nothing written
    assert counts() == before
    response = client.get(url("drivers:follow"), {"driver": driver_id + reason[:20], "q": reason})
    assert response.status_code in (200, 400, 404)
    assert counts() == before


# --- registration and import ---------------------------------------------------------------

@SETTINGS
@given(fields=st.fixed_dictionaries({}, optional={
    "full_name": hostile_text, "license_number": hostile_text, "company": hostile_text,
    "phone": hostile_text, "plate": hostile_text, "notes": hostile_text, "photo_data": hostile_text,
    "confirm_duplicate": hostile_text}))
def test_the_registration_form_answers_hostile_values_with_form_errors(fields, caseta):
    client = logged_in(caseta)
    before = Driver.objects.count()
    response = client.post(url("drivers:register"), fields)
    assert response.status_code in (200, 302, 400)
    if response.status_code == 302:
        created = Driver.objects.order_by("-id").first()
        assert "\x00" not in created.full_name + created.license_number + created.company + created.notes
    else:
        assert Driver.objects.count() == before


@SETTINGS
@given(content=st.binary(max_size=3000), name=st.sampled_from(["drivers.csv", "drivers.xlsx", "x.txt", "x.exe"]))
def test_the_import_refuses_a_hostile_file_with_a_clear_error_and_imports_nothing(content, name, admin_user):
    client = logged_in(admin_user)
    before = Driver.objects.count()
    response = client.post(url("drivers:import"), {"file": SimpleUploadedFile(name, content)})
    assert response.status_code in (200, 302, 400)
    if response.status_code != 302:
        assert Driver.objects.count() == before


# --- escaping on every screen that shows drivers --------------------------------------------

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_a_driver_named_like_a_script_is_shown_escaped_on_every_screen(admin_user, stations, make_driver):
    inside = make_driver(full_name=SCRIPT, company=SCRIPT, plate="XSS-1", notes=SCRIPT)
    banned = make_driver(full_name=SCRIPT + " 2", company=SCRIPT, plate="XSS-2")
    services.record_scan(code=inside.badge_code, station=stations["entry"], operator=admin_user)
    services.ban(driver=banned, reason=SCRIPT, by=admin_user)
    services.record_scan(code=banned.badge_code, station=stations["entry"], operator=admin_user)
    client = logged_in(admin_user)

    screens = [
        ("drivers:dashboard", (), {}),
        ("drivers:active", (), {}),
        ("drivers:banned", (), {}),
        ("drivers:history", (), {}),
        ("drivers:follow", (), {"driver": inside.pk}),
        ("drivers:follow", (), {"q": "script"}),
        ("drivers:driver_list", (), {}),
        ("drivers:badge", (inside.pk,), {}),
        ("drivers:edit", (inside.pk,), {}),
        ("drivers:scan_recent", (), {"station": "E1"}),
    ]
    checked = 0
    for name, args, params in screens:
        try:
            path = reverse(name, args=args)
        except NoReverseMatch:
            continue
        response = client.get(path, params)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert SCRIPT not in html, f"{path} shows the name unescaped"
        assert ESCAPED in html or "\\u003Cscript\\u003E" in html, f"{path} does not show the driver"
        checked += 1
    assert checked >= 5
