"""The evacuation roll call in a real Chromium: two marshals on phones at two muster points,
one of them offline for a while, badges read by a scanner and by the (fake) camera; the
board's missing count goes to zero and the report says who was found where and when."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from drivers.services import record_scan
from musters import services as musters
from musters.models import Accounting, Mark
from stations.models import Station, StationKind

from .conftest import CHROMIUM, CHROMIUM_ARGS
from .fakecam import qr_video

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"locale": "es-MX", "viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
SCANNER_KEY_DELAY_MS = 5


def log_in(page, url, user):
    page.goto(f"{url}/login/?next=/muster/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-" + user.username + "-123")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/muster/$"))


def scan(page, code):
    page.locator("#muster-input").focus()
    page.keyboard.type(code, delay=SCANNER_KEY_DELAY_MS)
    page.keyboard.press("Enter")


def expect_result(page, level, timeout=5000):
    result = page.locator("#muster-result")
    expect(result).to_have_class(re.compile(rf"\blevel-{level}\b"), timeout=timeout)
    expect(result).to_be_visible()
    return result


@pytest.fixture
def camera_browser(browser_type, browser_type_launch_args, tmp_path, request):
    """A Chromium whose camera shows the badge of request.param's driver (set by the test)."""
    browsers = []

    def launch(code):
        video = qr_video(tmp_path / "badge.y4m", code)
        b = browser_type.launch(**{
            **browser_type_launch_args, "executable_path": CHROMIUM,
            "args": CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                                     f"--use-file-for-fake-video-capture={video}"],
        })
        browsers.append(b)
        return b

    yield launch
    for b in browsers:
        b.close()


def test_two_marshals_one_offline_account_everyone_once_and_the_report_says_where_and_when(
    browser, camera_browser, live_server, caseta, supervisor, stations, make_driver, screenshot_dir
):
    north = Station.objects.create(name="Estacionamiento norte", code="M1", kind=StationKind.MUSTER)
    first, second, third, by_camera = (make_driver(full_name=f"Chofer Adentro {i}") for i in range(4))
    for d in (first, second, third, by_camera):
        record_scan(code=d.badge_code, station=stations["entry"], operator=caseta)
    stranger = make_driver(full_name="Visitante Sin Registro")  # never scanned in at the gate
    roll_call = musters.start_roll_call(by=supervisor)
    url = live_server.url

    board_ctx = browser.new_context(locale="es-MX", viewport={"width": 1280, "height": 900})
    board = board_ctx.new_page()
    log_in(board, url, supervisor)
    board.goto(f"{url}/muster/{roll_call.pk}/")
    expect(board.locator("#muster-missing")).to_have_text("4")
    # Read across the room: the count of the missing large, on a red-edged card.
    assert board.eval_on_selector("#muster-missing", "e => parseFloat(getComputedStyle(e).fontSize)") >= 32
    edge = board.eval_on_selector("#muster-missing", "e => getComputedStyle(e.parentElement).borderLeftColor")
    assert edge == "rgb(185, 28, 28)"  # --refused

    # Marshal A (the booth's guard) at the car park, with a scanner and the phone's camera.
    a_ctx = camera_browser(by_camera.badge_code).new_context(**PHONE)
    a = a_ctx.new_page()
    log_in(a, url, caseta)
    expect(a.locator("#muster-picker")).to_be_visible()
    a.screenshot(path=screenshot_dir / "marshal_choose_point.png")
    a.get_by_role("button", name="Estacionamiento norte").click()
    expect(a.locator("#muster-point-name")).to_have_text("Estacionamiento norte")
    expect(a.locator("#muster-head")).to_contain_text("EVACUACIÓN")
    scan(a, first.badge_code)
    expect(expect_result(a, "safe")).to_contain_text("Chofer Adentro 0")
    expect(a.locator("#muster-accounted")).to_have_text("1")
    expect(a.locator("#muster-missing")).to_have_text("3")
    a.screenshot(path=screenshot_dir / "marshal_safe.png")

    # Marshal B (the supervisor) behind the warehouse, a place with no station: he types it.
    b_ctx = browser.new_context(**PHONE)
    b = b_ctx.new_page()
    log_in(b, url, supervisor)
    b.fill("#muster-point-input", "Patio trasero")
    b.get_by_role("button", name="Usar").click()
    expect(b.locator("#muster-point-name")).to_have_text("Patio trasero")
    b_ctx.set_offline(True)  # no Wi-Fi out there
    for d in (second, third, first):
        scan(b, d.badge_code)
        expect_result(b, "pending")
    expect(b.locator("#muster-pending .muster-pending-item")).to_have_count(3)
    expect(b.locator("#muster-net")).to_have_text("Sin red")
    b.screenshot(path=screenshot_dir / "marshal_offline_pending.png")
    offline_until = timezone.now()
    assert not Mark.objects.filter(by=supervisor).exists()

    # A counts the first driver again, finds someone who was not on the list, and a bad code.
    scan(a, first.badge_code)
    duplicate = expect_result(a, "duplicate")
    expect(duplicate).to_contain_text("YA CONTADO")
    expect(duplicate).to_contain_text("Estacionamiento norte")
    a.screenshot(path=screenshot_dir / "marshal_duplicate.png")
    scan(a, stranger.badge_code)
    expect(expect_result(a, "unexpected")).to_contain_text("Visitante Sin Registro")
    a.screenshot(path=screenshot_dir / "marshal_not_expected.png")
    scan(a, "NO-ES-UN-GAFETE")
    expect(expect_result(a, "refused")).to_contain_text("NO VÁLIDO")
    a.screenshot(path=screenshot_dir / "marshal_invalid.png")

    # The last one shows his badge to A's camera.
    a.locator("#muster-camera-toggle").click()
    expect(expect_result(a, "safe", timeout=15000)).to_contain_text("Chofer Adentro 3")
    a.screenshot(path=screenshot_dir / "marshal_camera.png")
    a.locator("#muster-camera-toggle").click()
    expect(board.locator("#muster-missing")).to_have_text("2", timeout=5000)

    # B's phone finds the network again: its scans go by themselves, each counted once.
    b_ctx.set_offline(False)
    expect(b.locator("#muster-pending")).to_be_hidden(timeout=10000)
    expect(b.locator("#muster-recent-list li")).to_have_count(3)
    # The last one sent was the driver A had counted already: the panel says so, and by whom.
    expect(expect_result(b, "duplicate")).to_contain_text("por caseta1")
    expect(b.locator("#muster-missing")).to_have_text("0")
    b.screenshot(path=screenshot_dir / "marshal_sent_after_offline.png")
    expect(board.locator("#muster-missing")).to_have_text("0", timeout=5000)
    board.screenshot(path=screenshot_dir / "muster_board_all_safe.png", full_page=True)

    assert roll_call.missing().count() == 0
    assert Mark.objects.filter(roll_call=roll_call, driver=first).count() == 3  # all logged...
    counted = Accounting.objects.get(roll_call=roll_call, driver=first)   # ...counted once, first scan
    assert (counted.station, counted.by) == (north, caseta)
    late = Accounting.objects.get(roll_call=roll_call, driver=second)
    assert late.point_name == "Patio trasero" and late.by == supervisor
    assert late.at < offline_until  # the time it was scanned, not the time it reached the server
    assert Accounting.objects.get(roll_call=roll_call, driver=stranger).expected is False
    assert Mark.objects.filter(roll_call=roll_call).exclude(nonce__isnull=False).count() == 0

    musters.close_roll_call(roll_call=roll_call, by=supervisor)
    board.goto(f"{url}/muster/{roll_call.pk}/report/")
    report = board.locator("main")
    for name, where in [("Chofer Adentro 0", "Estacionamiento norte"), ("Chofer Adentro 1", "Patio trasero"),
                        ("Chofer Adentro 3", "Estacionamiento norte"), ("Visitante Sin Registro", "Estacionamiento norte")]:
        row = report.locator("tr", has_text=name).first
        expect(row).to_contain_text(where)
        expect(row).to_contain_text(re.compile(r"\d\d:\d\d"))
    board.screenshot(path=screenshot_dir / "muster_report.png", full_page=True)
    for ctx in (a_ctx, b_ctx, board_ctx):
        ctx.close()


def test_a_lapsed_session_keeps_the_scans_and_one_the_server_refuses_is_set_aside(
    page, live_server, caseta, supervisor, stations, make_driver, screenshot_dir
):
    from django.contrib.sessions.models import Session

    Station.objects.create(name="Comedor", code="M1", kind=StationKind.MUSTER)
    Station.objects.create(name="Caseta vieja", code="M2", kind=StationKind.MUSTER)
    first, second = make_driver(full_name="Chofer Turno 1"), make_driver(full_name="Chofer Turno 2")
    for d in (first, second):
        record_scan(code=d.badge_code, station=stations["entry"], operator=caseta)
    roll_call = musters.start_roll_call(by=supervisor, drill=True)
    page.set_viewport_size({"width": 360, "height": 740})
    log_in(page, live_server.url, caseta)
    expect(page.locator("#muster-head")).to_contain_text("SIMULACRO")

    page.route("**/api/muster/**", lambda route: route.abort())
    page.get_by_role("button", name="Caseta vieja").click()
    scan(page, first.badge_code)
    expect_result(page, "pending")
    page.get_by_role("button", name="Cambiar").click()
    page.get_by_role("button", name="Comedor").click()
    scan(page, second.badge_code)
    expect_result(page, "pending")
    expect(page.locator("#muster-pending .muster-pending-item")).to_have_count(2)

    Station.objects.filter(code="M2").delete()  # removed meanwhile: the server refuses that scan
    Session.objects.all().delete()              # and the marshal's session has ended
    page.unroute("**/api/muster/**")
    banner = page.locator("#muster-login")
    expect(banner).to_be_visible(timeout=10000)
    expect(banner).to_contain_text("Inicie sesión de nuevo")
    expect(page.locator("#muster-pending .muster-pending-item")).to_have_count(2)  # nothing dropped
    page.screenshot(path=screenshot_dir / "marshal_log_in_again.png")
    assert not Mark.objects.exists()

    banner.locator("a").click()
    page.fill("#id_username", caseta.username)
    page.fill("#id_password", "pw-caseta1-123")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/muster/$"))
    expect(page.locator("#muster-pending")).to_be_hidden(timeout=10000)
    not_sent = page.locator("#muster-not-sent")
    expect(not_sent.locator(".muster-not-sent-item")).to_have_count(1)
    expect(not_sent).to_contain_text("M2")  # the server's own message, never blocking the scan behind it
    page.screenshot(path=screenshot_dir / "marshal_not_sent.png")
    counted = Accounting.objects.get(roll_call=roll_call)
    assert (counted.driver, counted.station.code, counted.by) == (second, "M1", caseta)
    assert roll_call.missing().get() == first
