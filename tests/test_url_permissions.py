"""Every URL of the project, walked as every role: a new view without a check fails here.

ROLES_ALLOWED is the permission table of the README in code. A URL name missing from it
fails the test: add it, with the roles that may open it, when you add a view.
Allowed roles must get 200 on GET; the others a redirect to the login page (anonymous)
or a 403. POST-only endpoints must answer a GET with 405 or a permission response,
never a 500. Of the admin, only its index is checked (staff only); Django tests the rest.
"""

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from drivers.models import Driver
from musters import services as muster_services
from stations import services as station_services

ANON, ADMIN, BOOTH, SUPERVISOR, DRIVER = "anonymous", "Administrador", "Caseta", "Supervisor", "Chofer"
EVERYONE = {ANON, ADMIN, BOOTH, SUPERVISOR, DRIVER}
LOGGED_IN = {ADMIN, BOOTH, SUPERVISOR, DRIVER}
STAFF = {ADMIN, BOOTH, SUPERVISOR}  # the plant's staff roles (view_driver, view_station, ...)
MANAGERS = {ADMIN, SUPERVISOR}
POST_ONLY = "POST only"
SPECIAL = "checked by its own test"

ROLES_ALLOWED = {
    "healthz": EVERYONE,
    "home": LOGGED_IN,
    "admin:index": {ADMIN},
    # token API: tokens only, a session gets a 401 (drivers/tests/test_api_v1.py)
    "api:presence": SPECIAL,
    "api:movements": SPECIAL,
    "api:drivers": SPECIAL,
    "api:scans": SPECIAL,  # a `write` token only (drivers/tests/test_api_v1.py)
    "api:schema": EVERYONE,  # the API's description, nothing of the plant's data
    "api:docs": EVERYONE,
    # accounts
    "accounts:login": SPECIAL,  # anonymous 200, logged in: redirected to his landing page
    "accounts:logout": POST_ONLY,
    "accounts:password_change": LOGGED_IN,
    "accounts:language": LOGGED_IN,
    "accounts:alerts": MANAGERS,  # e-mail alerts
    # stations, kiosk and self check-in
    "stations:station_qr": STAFF,
    "stations:kiosk": STAFF,
    "stations:kiosk_code": STAFF,
    # The administrator holds the permission but no driver profile: a friendly 403 page.
    "drivers:self_checkin": {DRIVER},
    # scan screen and API
    "drivers:scan": STAFF,
    "drivers:scan_recent": STAFF,
    "drivers:api_scan": POST_ONLY,
    "drivers:api_annul": POST_ONLY,
    "drivers:api_vehicle": POST_ONLY,
    # monitoring screens
    "drivers:dashboard": MANAGERS,
    "drivers:active": STAFF,
    "drivers:evacuation": STAFF,
    "drivers:check_out": POST_ONLY,
    "drivers:follow": MANAGERS,
    "drivers:banned": MANAGERS,
    "drivers:ban": POST_ONLY,
    "drivers:unban": POST_ONLY,
    "drivers:history": MANAGERS,
    "drivers:history_export": MANAGERS,
    # registration, badges, import, media
    "drivers:driver_list": STAFF,
    "drivers:register": STAFF,
    "drivers:edit": MANAGERS,
    "drivers:badge": STAFF,
    "drivers:badge_sheet": STAFF,
    "drivers:reissue": POST_ONLY,
    "drivers:import": {ADMIN},
    # an import job's page and report: the uploader, or any administrator (drivers/tests/test_import_jobs.py)
    "drivers:import_job": SPECIAL,
    "drivers:import_job_report": SPECIAL,
    "drivers:my_badge": {ADMIN, DRIVER},  # the administrator's group holds every permission
    "drivers:media": STAFF,  # a Chofer sees only his own photo (tested in the media tests)
    # documents and turnaround
    "drivers:documents_expiring": MANAGERS,
    "drivers:driver_documents": MANAGERS,
    "drivers:turnaround": MANAGERS,
    # saved filters and scheduled reports: owner / subscriber checks in reports/tests
    "reports:save_filter": POST_ONLY,
    "reports:apply_filter": SPECIAL,  # a redirect to the history, for the owner or when shared
    "reports:delete_filter": POST_ONLY,
    "reports:schedule": SPECIAL,  # the filter's owner only (404 for anyone else)
    "reports:download": SPECIAL,  # only with a link signed for the logged-in subscriber
    # evacuation roll call: marshals (mark_muster) see, managers start/close/account
    "musters:index": STAFF,
    "musters:start": POST_ONLY,
    "musters:board": STAFF,
    "musters:board_live": STAFF,
    "musters:close": POST_ONLY,
    "musters:account_manual": POST_ONLY,
    "musters:report": STAFF,
    "musters:mark": POST_ONLY,
}

# A query string that makes the GET a real page view (values filled like path parameters).
QUERY = {
    "drivers:badge_sheet": "?ids=<pk>",
    "drivers:follow": "?driver=<pk>",
    "drivers:history_export": "?format=csv",
}


def project_urls():
    """(name, route pattern) of every named URL outside the admin, plus the admin index."""
    found = []

    def walk(resolver, prefix, namespace):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                ns = entry.namespace
                full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
                walk(entry, prefix + str(entry.pattern), full_ns)
            elif isinstance(entry, URLPattern):
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                if (namespace or "").startswith("admin"):
                    if name == "admin:index":
                        found.append((name, prefix + str(entry.pattern)))
                    continue
                found.append((name, prefix + str(entry.pattern)))

    walk(get_resolver(), "/", None)
    return found


ALL_URLS = project_urls()


def test_every_url_of_the_project_is_in_the_permission_table():
    missing = sorted(str(name or route) for name, route in ALL_URLS if name not in ROLES_ALLOWED)
    assert not missing, (
        f"URLs without an entry in tests/test_url_permissions.py ROLES_ALLOWED: {missing}. "
        "Add each with the set of roles that may open it (and a permission check in the view)."
    )


def test_the_table_has_no_stale_entries():
    names = {name for name, _ in ALL_URLS}
    assert not set(ROLES_ALLOWED) - names, f"Remove from ROLES_ALLOWED: {set(ROLES_ALLOWED) - names}"


@pytest.fixture
def world(db, role_users, stations, make_driver, settings, tmp_path):
    """One of each thing a path may name: a driver (with a photo), a station, a kiosk token."""
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "drivers").mkdir()
    (tmp_path / "drivers" / "face.jpg").write_bytes(b"\xff\xd8\xff\xe0fake-jpeg")
    driver = make_driver(full_name="Ruta Prueba")
    Driver.objects.filter(pk=driver.pk).update(photo="drivers/face.jpg")
    make_driver(full_name="Chofer Propio", user=role_users[DRIVER])
    kiosk = stations["gate"]
    kiosk.self_check_in = True
    kiosk.save()
    values = {
        "pk": driver.pk,
        "driver_id": driver.pk,
        "code": kiosk.code,
        "token": station_services.kiosk_token(kiosk),
        "path": "drivers/face.jpg",
        "roll_call_id": muster_services.start_roll_call(by=role_users[SUPERVISOR]).pk,
    }
    return {"values": values, "users": role_users}


def fill(route: str, values: dict) -> str:
    def replace(match):
        name = match.group(2)
        assert name in values, f"No value for the path parameter <{name}> in {route}: add it to world()"
        return str(values[name])

    return re.sub(r"<(?:(\w+):)?(\w+)>", replace, route)


def get_as(client, users, role, url):
    client.logout()
    if role != ANON:
        client.force_login(users[role])
    return client.get(url)


@pytest.mark.parametrize("name, route", ALL_URLS, ids=[str(n) for n, _ in ALL_URLS])
def test_each_role_gets_exactly_what_the_table_allows(client, world, name, route):
    allowed = ROLES_ALLOWED.get(name)
    if allowed is None:
        pytest.fail(f"{name} is missing from ROLES_ALLOWED")
    url = fill(route + QUERY.get(name, ""), world["values"])
    for role in [ANON, DRIVER, BOOTH, SUPERVISOR, ADMIN]:
        response = get_as(client, world["users"], role, url)
        status = response.status_code
        where = f"{name} ({url}) as {role}"
        assert status < 500, f"{where}: {status}"
        if allowed == SPECIAL:
            continue
        if allowed == POST_ONLY:
            assert status in (302, 401, 403, 405), f"{where}: GET answered {status}"
            continue
        if role in allowed:
            assert status == 200, f"{where} should be allowed, got {status}"
        elif role == ANON:
            assert status == 302, f"{where} should redirect to the login page, got {status}"
            assert "login" in response["Location"], f"{where} redirected to {response['Location']}"
        elif name == "admin:index":
            assert status == 302 and "login" in response["Location"], f"{where}: got {status}"
        else:
            assert status == 403, f"{where} should be forbidden, got {status}"


def test_the_login_page_opens_for_anonymous_and_sends_the_logged_in_away(client, world):
    assert client.get("/login/").status_code == 200
    client.force_login(world["users"][SUPERVISOR])
    assert client.get("/login/").status_code == 302


def test_no_page_breaks_when_the_cache_fails(world):
    """The shared cache's table gone (a database restored without it, a failing cache): every
    URL still answers each role, none with a server error."""
    from django.db import connection
    from django.test import Client

    client = Client(raise_request_exception=False)  # a 500 is reported with its URL and role
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE qrgate_cache")  # the test's transaction brings it back
    for name, route in ALL_URLS:
        url = fill(route + QUERY.get(name, ""), world["values"])
        for role in [ANON, DRIVER, BOOTH, SUPERVISOR, ADMIN]:
            status = get_as(client, world["users"], role, url).status_code
            assert status < 500, f"{name} ({url}) as {role} without a cache: {status}"
