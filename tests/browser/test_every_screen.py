"""Every screen, as every role, in Chromium, on a database built by `migrate` alone.

The plant is seeded through the services (stations of every kind, drivers inside, outside
and banned, forced, annulled and refused scans, roll calls open and closed, imports, saved
filters with a sent report, webhooks, documents), so the pages render their full branches.
Then each URL of the permission table (tests/test_url_permissions.py), a few variants of
them, every htmx fragment they poll and every page of the admin are opened in Chromium as
anonymous, Chofer, Caseta, Supervisor and Administrador, each role in its own browser
context; every link a role is shown is followed too. A problem names the URL and the role:
any response of 500 or more (the page, its fragments and requests, its static files), a
role the table refuses that gets the page, a role it allows that does not, a link into a
refusal, and any JavaScript error or failed load in the console.
"""

import io
import re
import time
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.test import Client, RequestFactory
from django.test.testcases import _MediaFilesHandler
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Error as PlaywrightError

from accounts import services as account_services
from drivers import importjobs
from drivers import services as driver_services
from drivers.importing import parse
from drivers.models import DocumentType, Movement
from musters import services as muster_services
from reports.models import ReportRun
from reports import services as report_services
from stations import outbox
from stations import services as station_services
from stations.models import Delivery, Route, RouteStop, Station, StationKind, Webhook
from tests.test_url_permissions import (
    ADMIN,
    ALL_URLS,
    ANON,
    BOOTH,
    DRIVER,
    POST_ONLY,
    QUERY,
    ROLES_ALLOWED,
    SPECIAL,
    SUPERVISOR,
    fill,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = [ANON, DRIVER, BOOTH, SUPERVISOR, ADMIN]
LOGIN = "login"  # expected: a redirect to the login page

# The URLs the table leaves to their own tests, as the seeded plant makes them: the
# Supervisor owns the shared saved filter and receives its report; the Administrador
# uploaded the imports.
SPECIAL_EXPECTED = {
    "accounts:login": {ANON: 200, DRIVER: 302, BOOTH: 302, SUPERVISOR: 302, ADMIN: 302},
    "api:presence": {role: 401 for role in ROLES},  # tokens only: a session is not enough
    "api:movements": {role: 401 for role in ROLES},
    "api:drivers": {role: 401 for role in ROLES},
    "api:scans": {role: 401 for role in ROLES},
    "drivers:import_job": {ANON: LOGIN, DRIVER: 403, BOOTH: 403, SUPERVISOR: 403, ADMIN: 200},
    "drivers:import_job_report": {ANON: LOGIN, DRIVER: 403, BOOTH: 403, SUPERVISOR: 403, ADMIN: 200},
    # a redirect to the history with the filter; shared, so the Administrador may use it too
    "reports:apply_filter": {ANON: LOGIN, DRIVER: 403, BOOTH: 403, SUPERVISOR: 302, ADMIN: 302},
    "reports:schedule": {ANON: LOGIN, DRIVER: 403, BOOTH: 403, SUPERVISOR: 200, ADMIN: 404},
    # the link was signed for the Supervisor
    "reports:download": {ANON: LOGIN, DRIVER: 403, BOOTH: 403, SUPERVISOR: 200, ADMIN: 404},
}

# The same screens in their other states: (name in the table, URL with <values>).
VARIANTS = [
    ("drivers:follow", "/follow/?driver=<inside_pk>"),
    ("drivers:follow", "/follow/?driver=<banned_pk>"),
    ("drivers:follow", "/follow/"),
    ("drivers:badge", "/drivers/<banned_pk>/badge/"),
    ("drivers:badge_sheet", "/drivers/badges/?ids=<pk>,<inside_pk>,<banned_pk>"),
    ("drivers:driver_documents", "/drivers/<inside_pk>/documents/"),
    ("drivers:edit", "/drivers/<inside_pk>/edit/"),
    ("drivers:active", "/active/?q=Ram"),
    ("drivers:driver_list", "/drivers/?q=Ram"),
    ("drivers:history", "/history/?direction=in&forced=yes"),
    ("drivers:history", "/history/?result=refused"),
    ("drivers:history", "/history/?date_from=2026-01-01&date_to=2025-01-01"),  # a refused filter
    ("drivers:history", "/history/?saved=<saved_pk>"),
    ("drivers:history_export", "/history/export/?format=xlsx"),
    ("drivers:scan", "/scan/?station=G1"),
    ("drivers:scan", "/scan/?station=S1"),
    ("drivers:scan", "/scan/?station=M1"),
    ("drivers:scan_recent", "/scan/recent/?station=E1"),
    ("drivers:import_job", "/drivers/import/<queued_job_pk>/"),
    ("musters:board", "/muster/<closed_roll_call_id>/"),
    ("musters:report", "/muster/<closed_roll_call_id>/report/"),
    ("stations:station_qr", "/stations/E1/qr/"),
]

# The console of a page opened as a role that may not see it shows the browser's own
# "Failed to load resource: 403"; any other is a problem. So is any failed load but the
# browser's own ask for /favicon.ico beside a page that is no HTML (the health check, JSON).
EXPECTED_REFUSAL = "Failed to load resource: the server responded with a status of"

# Screens the booth and the supervisor live on, photographed (test-screenshots/) on the way.
SCREENSHOTS = {
    (BOOTH, "/"): "walk-caseta-menu",
    (BOOTH, "/scan/"): "walk-caseta-scan",
    (BOOTH, "/scan/?station=G1"): "walk-caseta-scan-g1",
    (BOOTH, "/active/"): "walk-caseta-active",
    (BOOTH, "/drivers/new/"): "walk-caseta-register",
    (BOOTH, "/muster/<roll_call_id>/"): "walk-caseta-muster",
    (BOOTH, "/drivers/"): "walk-caseta-drivers",
    (BOOTH, "/active/evacuation/"): "walk-caseta-evacuation",
    (BOOTH, "/stations/C1/kiosk/"): "walk-caseta-kiosk",
    (DRIVER, "/my-badge/"): "walk-chofer-badge",
    (BOOTH, "/dashboard/"): "walk-caseta-dashboard-refused",
    (SUPERVISOR, "/dashboard/"): "walk-supervisor-dashboard",
}

# Ask every htmx element of the page for its fragment now, with a marker it never showed
# (so the server answers the fragment, not a 204), and swap it in as htmx would.
FRAGMENTS = """
async () => {
  if (!window.htmx) return [];
  const asked = [];
  for (const el of [...document.querySelectorAll('[hx-get]')]) {
    const url = el.getAttribute('hx-get').replace(/([?&]since=)[^&]*/, '$1stale');
    asked.push(url);
    if (el.id) await htmx.ajax('GET', url, {source: el, target: '#' + el.id, swap: 'outerHTML'});
    else await htmx.ajax('GET', url, {source: el, target: el, swap: 'outerHTML'});
  }
  return asked;
}
"""


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (480, 640), (90, 120, 160)).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def media_through_the_app(monkeypatch):
    """Django's live server answers MEDIA_URL itself, from MEDIA_ROOT, to anyone; the plant's
    server sends /media/ to the app's view (drivers:media), which checks who asks."""
    monkeypatch.setattr(_MediaFilesHandler, "_should_handle", lambda self, path: False)


@pytest.fixture
def plant(role_users, settings, tmp_path):
    """A plant in the middle of a working day, made through the services."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_DIR = tmp_path
    settings.REPORT_ATTACH_MAX_BYTES = 0  # the report goes as a link: its download page exists
    users = role_users
    booth, sup, boss, chofer = users[BOOTH], users[SUPERVISOR], users[ADMIN], users[DRIVER]
    now = timezone.now()

    route = Route.objects.create(code="DESCARGA", name="Descarga")
    stations = {
        code: Station.objects.create(name=name, code=code, kind=kind, sort_order=i, **extra)
        for i, (code, name, kind, extra) in enumerate([
            ("E1", "Entrada principal", StationKind.ENTRY, {"asks_vehicle": True}),
            ("G1", "Puerta norte", StationKind.GATE, {"default_route": route}),
            ("C1", "Caseta de autoservicio", StationKind.CHECKPOINT, {"self_check_in": True}),
            ("C2", "Andén de carga", StationKind.CHECKPOINT, {}),
            ("S1", "Salida principal", StationKind.EXIT, {"checks_seals": True}),
            ("M1", "Punto de reunión norte", StationKind.MUSTER, {}),
            ("X9", "Báscula vieja", StationKind.CHECKPOINT, {"is_active": False}),
        ])
    }
    RouteStop.objects.create(route=route, station=stations["C2"], position=1)
    booth.default_station = stations["E1"]
    booth.save()
    Webhook.objects.create(name="Barrera", url="http://127.0.0.1:9/barrera", station=stations["E1"],
                           events=["scan.accepted"])
    Webhook.objects.create(name="ERP", url="http://127.0.0.1:9/erp",
                           events=["scan.refused", "driver.banned_attempt", "movement.forced"])
    licence = DocumentType.objects.create(code="licencia_federal", name="Licencia federal", warn_days=30)
    insurance = DocumentType.objects.create(code="seguro", name="Seguro", blocks_entry=False)
    account_services.set_alerts(user=sup, email="super@planta.example", events=["driver.banned_attempt"],
                                digest=False)
    account_services.create_api_token(user=boss, name="ERP")
    account_services.record_event("login_failed", username="caseta-norte")

    def register(name, licence_number, company, **extra):
        return driver_services.register_driver(
            by=booth, full_name=name, license_number=licence_number, company=company, phone="8112345678",
            plate="JAL-123-A", **extra)

    def scan(driver_or_code, code, **extra):
        code_text = getattr(driver_or_code, "badge_code", driver_or_code)
        return driver_services.record_scan(code=code_text, station=stations[code], operator=booth, **extra)

    ana = register("Ana Ramírez López", "LIC-100", "Fletes Ramírez", photo=jpeg())
    beto = register("Beto Hernández", "LIC-101", "Transportes del Norte")
    carlos = register("Carlos Ramírez Soto", "LIC-102", "Logística Occidente")
    own = register("Chofer Propio", "LIC-103", "Fletes Ramírez", user=chofer)
    dario = register("Darío Vetado", "LIC-104", "Autolíneas del Golfo")
    eva = register("Eva Reexpedida", "LIC-105", "Express Querétaro")
    fito = register("Fito Manual", "LIC-106", "Express Querétaro")
    gabi = register("Gabi Forzada", "LIC-107", "Transportes del Norte")
    hugo = register("Hugo Anulado", "LIC-108", "Transportes del Norte")

    # A whole visit: in with the vehicle and seals, through the dock, out with the same seals.
    scan(ana, "E1", vehicle={"plate": "JAL-123-A", "trailers": ["CAJA-1"], "seals": ["S-100"]})
    scan(ana, "C2")
    scan(ana, "S1", seals=["S-100"])
    # Inside: on a route, past the allowed stay (entered 11 h ago), and the Chofer himself.
    scan(beto, "G1")
    scan(beto, "C2")
    scan(carlos, "E1", scanned_at=now - timedelta(hours=11))
    scan(own, "E1")
    scan(own, "C1", source="self")
    # Banned: the ban, then his refused attempt.
    driver_services.ban(driver=dario, reason="Exceso de velocidad dentro de la planta.", by=sup)
    scan(dario, "E1")
    # A reissued badge, and the old one refused.
    old = eva.badge_code
    driver_services.reissue_badge(driver=eva, by=sup, reason="Gafete extraviado")
    scan(old, "E1")
    # Checked out by hand; forced in twice; a mistaken entry annulled.
    scan(fito, "E1")
    driver_services.check_out(driver=fito, by=sup, reason="Salió por la puerta de emergencia")
    scan(gabi, "E1")
    driver_services.record_scan(code=gabi.badge_code, station=stations["G1"], operator=sup, direction="in",
                                force=True, note="Lector de la caseta sin conexión")
    scan(hugo, "E1")
    driver_services.annul_movement(movement=Movement.objects.filter(driver=hugo).latest("at"), by=sup,
                                   reason="Se escaneó el gafete equivocado")
    scan("HOLA MUNDO!", "E1")  # invalid
    scan("Z" * 26, "G1")  # unknown
    scan(ana, "G1", direction="out")  # not inside
    # Documents: one about to expire, one expired.
    driver_services.add_documents(driver=ana, by=sup, documents=[
        {"doc_type": licence, "number": "lf-1", "expires_on": (now + timedelta(days=10)).date()}])
    driver_services.add_documents(driver=beto, by=sup, documents=[
        {"doc_type": insurance, "number": "sg-2", "expires_on": (now - timedelta(days=3)).date()}])

    # The webhooks' deliveries, as the worker queues them; one receiver did not answer.
    outbox.fan_out()
    outbox.record_result(Delivery.objects.filter(webhook__name="ERP").first(), error="Connection refused")

    # Roll calls: one closed (a mark, one by hand, one not expected), one still open.
    closed = muster_services.start_roll_call(by=sup, drill=True)
    muster_services.mark_safe(roll_call=closed, code=beto.badge_code, point=stations["M1"], by=booth)
    muster_services.mark_safe(roll_call=closed, code=ana.badge_code, point="Estacionamiento", by=booth)
    muster_services.account_manually(roll_call=closed, driver=carlos, by=sup,
                                     reason="Salió por la puerta sur")
    muster_services.close_roll_call(roll_call=closed, by=sup)
    open_call = muster_services.start_roll_call(by=sup)
    muster_services.mark_safe(roll_call=open_call, code=own.badge_code, point=stations["M1"], by=booth)

    # Imports: one done with a refused row, one waiting for the worker.
    data = "nombre;licencia;empresa\nIsa Importada;LIC-200;Fletes Ramírez\nSin Licencia;;Fletes\n".encode()
    done_job = importjobs.start_import(data=data, filename="lunes.csv", total_rows=len(parse(data).rows),
                                       by=boss)
    importjobs.run_once()
    data = "nombre;licencia;empresa\nJuan Espera;LIC-300;Fletes Ramírez\n".encode()
    queued_job = importjobs.start_import(data=data, filename="martes.csv", total_rows=1, by=boss)

    # A shared saved filter, scheduled, and one report sent as a link.
    saved = report_services.save_filter(by=sup, name="Entradas de hoy", query={"direction": "in"},
                                        period="today", shared=True)
    report_services.schedule_report(saved=saved, by=sup, frequency="daily", hour=6, subscribers=[sup])
    summary = report_services.run_due_reports(now=now + timedelta(days=2))
    assert summary.sent, f"the scheduled report was not sent: {summary}"
    run = ReportRun.objects.get()

    values = {
        "pk": ana.pk,
        "driver_id": ana.pk,
        "inside_pk": beto.pk,
        "banned_pk": dario.pk,
        "code": "C1",
        "token": "fresh-for-each-visit",
        "path": ana.photo.name,
        "roll_call_id": open_call.pk,
        "closed_roll_call_id": closed.pk,
        "queued_job_pk": queued_job.pk,
        "saved_pk": saved.pk,
    }
    specials = {
        "drivers:import_job": done_job.pk,
        "drivers:import_job_report": done_job.pk,
        "reports:apply_filter": saved.pk,
        "reports:schedule": saved.pk,
        "reports:download": run.pk,
    }
    download = "?t=" + report_services.download_token(run, sup)
    return {"users": users, "values": values, "specials": specials, "download_query": download,
            "kiosk": stations["C1"]}


def screens(plant):
    """(name, URL, is a variant) of every GET screen: the permission table's, then the variants."""
    found = []
    for name, route in ALL_URLS:
        values = dict(plant["values"])
        if name in plant["specials"]:
            values["pk"] = plant["specials"][name]
        query = plant["download_query"] if name == "reports:download" else QUERY.get(name, "")
        found.append((name, fill(route + query, values), False))
    found += [(name, fill(url, plant["values"]), True) for name, url in VARIANTS]
    return found


def expected(name, role):
    """What `role` must get on a GET of `name`: a status, LOGIN, or a set of statuses."""
    allowed = ROLES_ALLOWED[name]
    if allowed == SPECIAL:
        return SPECIAL_EXPECTED[name][role]
    if allowed == POST_ONLY:
        return {401, 403, 405} | ({302} if role == ANON else set())
    if role in allowed:
        return 200
    if role == ANON or name == "admin:index":
        return LOGIN
    return 403


def admin_screens(user):
    """(URL, expected status for `user`) of each registered model's changelist, add form
    and change form of its first row."""
    request = RequestFactory().get("/admin/")
    request.user = user
    found, empty = [("/admin/", 200)], []
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"/admin/{opts.app_label}/{opts.model_name}/"
        may_view = 200 if model_admin.has_view_or_change_permission(request) else 403
        found.append((base, may_view))
        found.append((base + "add/", 200 if model_admin.has_add_permission(request) else 403))
        first = model._default_manager.order_by("pk").first()
        if first is None:
            empty.append(opts.label)
        else:
            found.append((f"{base}{first.pk}/change/", may_view))
    return found, empty


def session_cookie(live_server, user):
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}


class Walker:
    """One browser context (one logged-in role) and one page that opens URL after URL,
    holding every problem found against the URL and role it was found on."""

    def __init__(self, browser, live_server, role, user, shots=None):
        self.base = live_server.url
        self.role = role
        self.context = browser.new_context(locale="es-MX", viewport={"width": 1280, "height": 800})
        if user is not None:
            self.context.add_cookies([session_cookie(live_server, user)])
        self.where = ""
        self.refusing = False  # the page itself was refused: its own "failed to load" is expected
        self.problems = []
        self.times = []
        self.refusals_rendered = []
        self.navigations = 0
        # Links shown on the screens, one of each kind (the same path but for its numbers, the
        # same query keys: /drivers/3/badge/ stands for every badge): link -> screen it was on.
        self.links = {}
        self.link_kinds = set()
        self.shots = shots or {}
        self.context.on("response", self._response)
        self._new_page()

    def problem(self, text):
        self.problems.append(f"{self.where} as {self.role}: {text}")

    def _response(self, response):
        if response.status >= 500:
            self.problem(f"{response.request.method} {response.url.removeprefix(self.base)} answered "
                         f"{response.status}")

    def _console(self, message):
        if message.type != "error":
            return
        if message.text.startswith(EXPECTED_REFUSAL) and (
            self.refusing or message.location.get("url", "").endswith("/favicon.ico")
        ):
            return
        self.problem(f"console error: {message.text} ({message.location.get('url', '')})")

    def _new_page(self):
        self.page = self.context.new_page()
        self.page.set_default_timeout(15000)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problem(f"JavaScript error: {error}"))

    def get(self, url, want):
        """A GET checked by its answer alone (a POST-only endpoint, a refusal already seen
        rendered, a download), through the same session as the browser's."""
        self.where = url
        answer = self.context.request.get(self.base + url, max_redirects=0)
        self.check_status(answer.status, answer.headers.get("location", ""), want)

    def open(self, url, want, *, fragments=True):
        """Open `url`, check its first answer against `want` and, when it is the page, ask
        for its htmx fragments. A refusal of a kind this role's browser already rendered
        (the login page, the 403 page) is checked by its answer alone."""
        if want != 200 and want in self.refusals_rendered:
            self.get(url, want)
            return
        if want != 200:
            self.refusals_rendered.append(want)
        self.where = url
        self.refusing = want != 200
        self.navigations += 1
        started = time.monotonic()
        try:
            response = self.page.goto(self.base + url, wait_until="load")
        except PlaywrightError as error:
            if "Download is starting" not in str(error):
                self.problem(f"did not open: {error.message.splitlines()[0]}")
                self.page.close()
                self._new_page()
                return
            # An export or a report: no page to render; its answer through the same session.
            answer = self.context.request.get(self.base + url, max_redirects=0)
            self.check_status(answer.status, answer.headers.get("location", ""), want)
            return
        first = response.request
        while first.redirected_from is not None:
            first = first.redirected_from
        first = first.response()
        self.check_status(first.status, first.headers.get("location", ""), want)
        if want == 200 and first.status == 200 and fragments:
            for link in self.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
                link = link.split("#")[0]
                if link.startswith(self.base + "/"):
                    link = link.removeprefix(self.base)
                    path, _, query = link.partition("?")
                    kind = (re.sub(r"\d+", "N", path), tuple(sorted(parse_qs(query, keep_blank_values=True))))
                    if kind not in self.link_kinds:
                        self.link_kinds.add(kind)
                        self.links[link] = url
            try:
                self.page.evaluate(FRAGMENTS)
            except PlaywrightError as error:
                self.problem(f"htmx fragment failed: {error.message.splitlines()[0]}")
        self.times.append((time.monotonic() - started, url))
        if url in self.shots:
            self.page.screenshot(path=self.shots[url], full_page=True)

    def check_status(self, status, location, want):
        if want == LOGIN:
            if status != 302 or "/login/" not in location:
                self.problem(f"should be sent to the login page, got {status} {location}".rstrip())
        elif isinstance(want, set):
            if status not in want:
                self.problem(f"got {status}, expected one of {sorted(want)}")
        elif status != want:
            self.problem(f"got {status}, expected {want}")

    def follow_links(self, seen):
        """Every link the role was shown leads somewhere it may go: no 403, 404 or login."""
        for link, page in self.links.items():
            if link in seen or link.startswith("/checkin/"):  # the kiosk's QR: for a driver's phone
                continue
            self.where = f"link {link} on {page}"
            answer = self.context.request.get(self.base + link, max_redirects=0)
            location = answer.headers.get("location", "")
            if answer.status >= 400 or "/login/" in location:
                self.problem(f"answers {answer.status} {location}".rstrip())

    def close(self):
        self.context.close()


def test_a_plain_migrate_makes_every_table_the_app_uses():
    """Nothing but `migrate` built this database (conftest.py keeps Django's test setup
    from adding the cache table): the cache table is there, made by the migration."""
    table = settings.CACHES["default"]["LOCATION"]
    assert table in connection.introspection.table_names(), f"`migrate` made no {table} table"


def test_every_screen_as_every_role_answers_without_a_server_error(browser, live_server, plant, admin_user,
                                                                    screenshot_dir):
    started = time.monotonic()
    users = plant["users"]
    all_screens = screens(plant)
    admin_pages, empty_models = admin_screens(users[ADMIN])
    assert not empty_models, f"Seed a row of {empty_models} in plant(): their change forms go unchecked"
    problems, opened, navigations = [], 0, 0
    for role in ROLES:
        shots = {fill(url, plant["values"]): screenshot_dir / f"{shot}.png"
                 for (shot_role, url), shot in SCREENSHOTS.items() if shot_role == role}
        walker = Walker(browser, live_server, role, users.get(role), shots)
        for name, url, variant in all_screens:
            if variant and expected(name, role) != 200:
                continue  # the same view as the table's URL: its refusal is checked there
            if name == "drivers:self_checkin":  # its code lives seconds: a fresh one
                token = station_services.kiosk_token(plant["kiosk"])
                url = reverse(name, kwargs={"code": "C1", "token": token})
            if ROLES_ALLOWED[name] == POST_ONLY:
                walker.get(url, expected(name, role))
            else:
                walker.open(url, expected(name, role))
            opened += 1
        walker.follow_links(seen={url for _, url, _ in all_screens})
        if role == ADMIN:
            for url, want in admin_pages:
                walker.open(url, want, fragments=False)
                opened += 1
        walker.close()
        problems += walker.problems
        navigations += walker.navigations
        slowest = ", ".join(f"{url} {t:.2f}" for t, url in sorted(walker.times, reverse=True)[:5])
        print(f"{role}: {time.monotonic() - started:.1f} s, {len(walker.links)} links; slowest {slowest}")
    # The admin pages the Administrador's group may not open (saved filters, reports), as a
    # superuser: every model's change form is rendered once.
    walker = Walker(browser, live_server, "superuser", admin_user)
    refused = {url for url, want in admin_pages if want != 200}
    for url, want in admin_screens(admin_user)[0]:
        if url in refused:
            walker.open(url, want, fragments=False)
            opened += 1
    walker.close()
    problems += walker.problems
    navigations += walker.navigations
    elapsed = time.monotonic() - started
    print(f"\n{opened} URLs as {len(ROLES)} roles ({navigations} opened in Chromium) in {elapsed:.1f} s "
          f"({connection.vendor})")
    assert opened > 5 * len(ALL_URLS)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_the_pages_name_their_tab_icon_so_the_browser_asks_for_no_missing_favicon(page, live_server):
    """Without an icon of its own, the browser asks /favicon.ico for every page: a 404 in the
    console and the log, and a blank tab among the booth's tabs."""
    for url in ["/login/", "/no-such-page/"]:
        page.goto(live_server.url + url)
        icon = page.eval_on_selector("link[rel=icon]", "link => link.href")
        answer = page.request.get(icon)
        assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml"), url
