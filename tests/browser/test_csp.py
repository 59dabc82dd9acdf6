"""The Content-Security-Policy holds on every page: each page of the permission walk
(tests/test_url_permissions.py) and the admin's, opened in Chromium as a role that may
open it, runs with no CSP violation (inline script, eval, inline style, foreign source).
"""

import pytest
from django.test import Client
from playwright.sync_api import Error as PlaywrightError

from drivers.models import Driver
from stations import services as station_services
from stations.models import Station
from tests.test_url_permissions import (  # noqa: F401  (world is a fixture)
    ADMIN,
    ALL_URLS,
    ANON,
    BOOTH,
    DRIVER,
    POST_ONLY,
    QUERY,
    ROLES_ALLOWED,
    SUPERVISOR,
    fill,
    world,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The least privileged role first: the pages a booth sees are the ones used most.
ROLE_ORDER = [BOOTH, DRIVER, SUPERVISOR, ADMIN, ANON]
ADMIN_PAGES = [
    "/admin/",
    "/admin/drivers/driver/",
    "/admin/drivers/driver/add/",
    "/admin/drivers/driver/{pk}/change/",
    "/admin/accounts/user/",
    "/admin/accounts/user/{admin_pk}/change/",
    "/admin/accounts/authevent/",
    "/admin/stations/station/add/",
]
LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " at " +
                              (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


def pages_to_open(world):
    """(role, url) of every HTML page of the permission table."""
    # The kiosk token lives seconds: take a fresh one for the self check-in page.
    world["values"]["token"] = station_services.kiosk_token(Station.objects.get(code=world["values"]["code"]))
    pages = [(ANON, "/login/")]
    for name, route in ALL_URLS:
        allowed = ROLES_ALLOWED[name]
        if allowed in (POST_ONLY,) or isinstance(allowed, str):
            continue
        role = next(r for r in ROLE_ORDER if r in allowed)
        pages.append((role, fill(route + QUERY.get(name, ""), world["values"])))
    return pages


def session_cookie(live_server, user):
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}


def open_and_collect(context, live_server, url):
    page = context.new_page()
    console = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    page.add_init_script(LISTEN)
    try:
        response = page.goto(live_server.url + url)
    except PlaywrightError as error:  # an export downloads: not a page
        page.close()
        if "Download is starting" in str(error):
            return 200, False, "", [], []
        raise
    page.wait_for_timeout(700)  # let the page's modules run
    violations = page.evaluate("window.__cspViolations")
    html = (response.headers.get("content-type") or "").startswith("text/html")
    header = response.headers.get("content-security-policy", "")
    page.close()
    return response.status, html, header, violations, [c for c in console if "Content Security Policy" in c
                                                        or "pageerror" in c]


def check(context, live_server, url, role, problems):
    status, html, header, violations, console = open_and_collect(context, live_server, url)
    if not html:
        return
    where = f"{url} as {role}"
    if status >= 400:
        problems.append(f"{where}: status {status}")
    if "script-src 'self'" not in header or "unsafe" in header:
        problems.append(f"{where}: CSP header {header!r}")
    problems.extend(f"{where}: {v}" for v in violations + console)


def test_every_page_of_the_permission_walk_runs_without_a_csp_violation(browser, live_server, world):
    users = world["users"]
    problems = []
    opened = 0
    for role in ROLE_ORDER:
        context = browser.new_context(locale="es-MX")
        if role != ANON:
            context.add_cookies([session_cookie(live_server, users[role])])
        for page_role, url in pages_to_open(world):
            if page_role == role:
                check(context, live_server, url, role, problems)
                opened += 1
        context.close()
    assert opened >= 25
    assert not problems, "\n".join(problems)


def test_the_admin_pages_run_without_a_csp_violation(browser, live_server, world, admin_user):
    context = browser.new_context(locale="es-MX")
    context.add_cookies([session_cookie(live_server, admin_user)])
    values = {"pk": Driver.objects.first().pk, "admin_pk": admin_user.pk}
    problems = []
    for url in ADMIN_PAGES:
        check(context, live_server, url.format(**values), ADMIN, problems)
    context.close()
    assert not problems, "\n".join(problems)
