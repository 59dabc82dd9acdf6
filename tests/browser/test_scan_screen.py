"""The scan screen in a real Chromium: scanner, camera, offline queue, self check-in kiosk."""

import re
import time

import pytest
from PIL import Image, ImageDraw
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from conftest import make_user
from drivers import services as driver_services
from drivers.models import Movement, RefusedScan, Source
from stations import services as kiosk
from stations.models import Station

from .conftest import CHROMIUM, CHROMIUM_ARGS, wait_for_js
from .fakecam import qr_frame, qr_video, write_y4m

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCANNER_KEY_DELAY_MS = 8  # a USB scanner types a 26-character badge in about 0.2 s


def scan_with_scanner(page, code):
    page.keyboard.type(code, delay=SCANNER_KEY_DELAY_MS)
    page.keyboard.press("Enter")


def expect_result(page, level, timeout=5000):
    result = page.locator("#scan-result")
    expect(result).to_be_visible(timeout=timeout)
    expect(result).to_have_class(re.compile(rf"\blevel-{level}\b"), timeout=timeout)
    return result


@pytest.fixture
def booth_page(page, login, live_server, caseta, stations, settings):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0  # the test scans the same badge again at once
    login(page, caseta)
    page.goto(f"{live_server.url}/scan/?station=G1")
    expect(page.locator("#scan-station-name")).to_contain_text("G1")
    return page


def test_a_scanner_records_an_entry_then_an_exit_on_a_two_way_gate(booth_page, driver, screenshot_dir):
    page = booth_page
    expect(page.locator("#scan-input")).to_be_focused()
    started = time.monotonic()
    scan_with_scanner(page, driver.badge_code)
    result = expect_result(page, "entry")
    assert time.monotonic() - started < 3
    expect(result).to_contain_text("José Ramírez")
    expect(result).to_contain_text("Fletes Ramírez")
    assert page.evaluate("document.body.dataset.lastSound") == "accepted"
    page.screenshot(path=screenshot_dir / "scan_entry.png")

    # The field is ready at once: the next scan replaces the result on screen.
    expect(page.locator("#scan-input")).to_be_focused()
    scan_with_scanner(page, driver.badge_code.lower())
    result = expect_result(page, "exit")
    expect(result).to_contain_text("José Ramírez")
    page.screenshot(path=screenshot_dir / "scan_exit.png")

    directions = list(Movement.objects.order_by("at", "id").values_list("direction", flat=True))
    assert directions == ["in", "out"]
    expect(page.locator("#scan-recent .recent-movement")).to_have_count(2, timeout=5000)

    # The result clears itself and the screen is ready again.
    expect(page.locator("#scan-result")).to_be_hidden(timeout=10000)
    expect(page.locator("#scan-input")).to_be_focused()


def test_the_field_takes_the_focus_back_after_a_click(booth_page, driver):
    page = booth_page
    page.locator(".scan-recent h2").click()
    page.locator("#scan-camera-toggle").focus()
    page.mouse.click(5, 700)
    expect(page.locator("#scan-input")).to_be_focused()
    scan_with_scanner(page, driver.badge_code)
    expect_result(page, "entry")


def put_photo(driver, media_root):
    (media_root / "drivers").mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (300, 300), (120, 90, 60))
    ImageDraw.Draw(image).ellipse((70, 40, 230, 240), fill=(225, 185, 150))
    image.save(media_root / "drivers" / "face.jpg")
    driver.photo.name = "drivers/face.jpg"
    driver.save()


def test_a_banned_driver_is_shown_in_red_with_the_reason(booth_page, driver, supervisor, screenshot_dir,
                                                         settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    put_photo(driver, tmp_path)
    driver_services.ban(driver=driver, reason="Exceso de velocidad en patio", by=supervisor)
    page = booth_page
    scan_with_scanner(page, driver.badge_code)
    result = expect_result(page, "refused")
    expect(result).to_contain_text("Exceso de velocidad en patio")
    expect(result).to_contain_text("José Ramírez")
    # The guard compares the face with the driver's photo.
    photo = page.locator("#result-photo")
    expect(photo).to_be_visible()
    wait_for_js(page, "document.getElementById('result-photo').naturalWidth > 0")
    assert page.evaluate("document.body.dataset.lastSound") == "refused"
    page.screenshot(path=screenshot_dir / "scan_refused_banned.png")
    assert not Movement.objects.exists()
    assert RefusedScan.objects.get().reason == "banned"


def test_a_supervisor_forces_an_entry_and_undoes_it(page, login, live_server, supervisor, driver, stations,
                                                    screenshot_dir):
    driver_services.record_scan(code=driver.badge_code, station=stations["entry"], operator=supervisor)
    Movement.objects.update(at=Movement.objects.get().at.replace(year=2000))  # long ago
    login(page, supervisor)
    page.goto(f"{live_server.url}/scan/?station=E1")
    scan_with_scanner(page, driver.badge_code)
    result = expect_result(page, "refused")
    page.screenshot(path=screenshot_dir / "scan_refused_already_inside.png")
    page.locator("#result-force").click()
    page.locator("#result-form-input").fill("El sensor de la pluma falló")
    page.locator("#result-form-submit").click()
    expect_result(page, "warning")
    page.screenshot(path=screenshot_dir / "scan_forced.png")
    forced = Movement.objects.get(forced=True)
    assert forced.force_reason == "El sensor de la pluma falló" and forced.operator == supervisor

    page.locator("#result-undo").click()
    page.locator("#result-form-submit").click()
    expect_result(page, "undone")
    expect(result).to_contain_text("José Ramírez")
    page.screenshot(path=screenshot_dir / "scan_undone.png")
    forced.refresh_from_db()
    assert forced.annulled_at and forced.annulled_by == supervisor


def test_a_scan_is_undone_from_the_recent_list_through_a_big_dialog(booth_page, caseta, driver, make_driver,
                                                                    screenshot_dir):
    page = booth_page
    strings = page.evaluate("JSON.parse(document.getElementById('scan-strings').textContent)")
    scan_with_scanner(page, driver.badge_code)
    expect_result(page, "entry")
    movement = Movement.objects.get()
    row = page.locator(f"#scan-recent tr[data-movement='{movement.pk}']")
    expect(row.locator("[data-undo]")).to_have_count(1, timeout=5000)
    page.keyboard.press("Escape")
    expect(page.locator("#scan-result")).to_be_hidden()

    # Cancel with Escape: nothing happens, the scanner field is ready again.
    dialog = page.locator("#undo-dialog")
    row.locator("[data-undo]").click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(page.locator("#scan-input")).to_be_focused()

    row.locator("[data-undo]").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("José Ramírez")
    expect(dialog).to_contain_text(strings["undoReason"])
    reason = page.locator("#undo-dialog-reason")
    expect(reason).to_have_value(strings["undoDefault"])
    expect(reason).to_be_focused()
    page.wait_for_timeout(1300)  # the scanner field's once-a-second focus check leaves the dialog alone
    expect(reason).to_be_focused()

    # A badge scanned while the dialog is open records nothing and does not confirm the undo.
    other = make_driver(full_name="Otro Chofer")
    scan_with_scanner(page, other.badge_code)
    expect(dialog).to_be_visible()
    assert Movement.objects.count() == 1 and not RefusedScan.objects.exists()

    reason.fill("Se escaneó el gafete equivocado")
    page.screenshot(path=screenshot_dir / "scan_undo_dialog.png")
    page.locator("#undo-dialog-confirm").click()
    expect(dialog).to_be_hidden()
    expect_result(page, "undone")
    movement.refresh_from_db()
    assert movement.annulled_at and movement.annulled_by == caseta
    assert movement.annul_reason == "Se escaneó el gafete equivocado"
    expect(row).to_have_class(re.compile(r"\bis-annulled\b"), timeout=5000)
    expect(row).to_contain_text("Se escaneó el gafete equivocado")
    expect(row.locator("[data-undo]")).to_have_count(0)
    expect(page.locator("#scan-input")).to_be_focused()
    assert Movement.objects.count() == 1


def test_the_camera_reads_a_badge_once_while_it_stays_in_front(
    browser_type, browser_type_launch_args, live_server, caseta, driver, stations, tmp_path, screenshot_dir
):
    video = qr_video(tmp_path / "badge.y4m", driver.badge_code)
    browser = browser_type.launch(**{
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS + [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    })
    try:
        context = browser.new_context(locale="es-MX", viewport={"width": 1280, "height": 800})
        page = context.new_page()
        api_calls = []
        page.on("request", lambda r: api_calls.append(r) if r.url.endswith("/api/scan/") else None)
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", caseta.username)
        page.fill("#id_password", "pw-caseta1-123")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{live_server.url}/scan/?station=E1")
        page.locator("#scan-camera-toggle").click()
        expect(page.locator("#scan-video")).to_be_visible()
        result = expect_result(page, "entry", timeout=15000)
        expect(result).to_contain_text("José Ramírez")
        page.screenshot(path=screenshot_dir / "scan_camera_entry.png")
        page.wait_for_timeout(2500)  # the badge stays in front of the camera
        assert len(api_calls) == 1
        movement = Movement.objects.get()
        assert (movement.driver, movement.station, movement.direction) == (driver, stations["entry"], "in")
        page.locator("#scan-camera-toggle").click()
        assert page.evaluate("document.body.dataset.camera") == "off"
        context.close()
    finally:
        browser.close()


def test_scans_made_offline_are_kept_and_sent_once_each(booth_page, make_driver, screenshot_dir):
    page = booth_page
    drivers = [make_driver(full_name=f"Chofer Offline {i}") for i in range(3)]

    # The first request reaches the server but its answer is lost; the next two never leave.
    state = {"lost": 0}

    def flaky(route):
        if state["lost"] == 0:
            state["lost"] += 1
            route.fetch()
        route.abort()

    page.route("**/api/scan/", flaky)
    for d in drivers:
        scan_with_scanner(page, d.badge_code)
        expect_result(page, "pending")
    page.screenshot(path=screenshot_dir / "scan_offline_pending.png")
    expect(page.locator("#scan-pending .pending-item")).to_have_count(3)

    # A reload while offline loses nothing: the queue lives in the browser.
    page.reload()
    expect(page.locator("#scan-pending .pending-item")).to_have_count(3)
    assert Movement.objects.count() == 1  # the one whose answer was lost

    page.unroute("**/api/scan/")
    expect(page.locator("#scan-pending")).to_be_hidden(timeout=15000)
    page.screenshot(path=screenshot_dir / "scan_offline_sent.png")
    assert Movement.objects.count() == 3
    assert sorted(Movement.objects.values_list("driver_id", flat=True)) == sorted(d.pk for d in drivers)
    assert all(m.nonce for m in Movement.objects.all())
    assert not RefusedScan.objects.exists()
    expect(page.locator("#scan-recent .recent-movement")).to_have_count(3, timeout=20000)


def test_a_station_qr_binds_the_device_once_the_guard_confirms(booth_page, live_server, driver, screenshot_dir):
    page = booth_page
    dialog = page.locator("#station-dialog")
    scan_with_scanner(page, f"{live_server.url}/scan/?station=E1")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("G1")
    expect(dialog).to_contain_text("E1")
    page.screenshot(path=screenshot_dir / "scan_station_confirm.png")
    page.locator("#station-dialog-cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#scan-station-name")).to_contain_text("G1")
    # The field is focused anew just after the dialog closes (a task later); a guard's next
    # scan comes long after that, a test's keystrokes could come before it and be dropped.
    page.wait_for_timeout(300)

    scan_with_scanner(page, f"{live_server.url}/scan/?station=E1")
    page.locator("#station-dialog-confirm").click()
    expect_result(page, "info")
    expect(page.locator("#scan-station-name")).to_contain_text("E1")
    page.goto(f"{live_server.url}/scan/")  # the device remembers its station
    expect(page.locator("#scan-station-name")).to_contain_text("E1")
    scan_with_scanner(page, driver.badge_code)
    expect_result(page, "entry")
    assert Movement.objects.get().station.code == "E1"


def test_self_check_in_with_the_rotating_kiosk_code(browser, login, live_server, caseta, chofer, make_driver,
                                                    stations, settings, screenshot_dir):
    settings.KIOSK_CODE_SECONDS = 2
    settings.KIOSK_GRACE_SECONDS = 1
    station = stations["gate"]
    station.self_check_in = True
    station.save()
    me = make_driver(full_name="Pedro Autoregistro", user=chofer)

    kiosk_ctx = browser.new_context(viewport={"width": 1000, "height": 900})
    kiosk_page = login(kiosk_ctx.new_page(), caseta)
    kiosk_page.goto(f"{live_server.url}/stations/G1/kiosk/")
    code = kiosk_page.locator("#kiosk-code")
    first = code.get_attribute("data-token")
    assert first and kiosk.token_is_valid(station, first)
    kiosk_page.screenshot(path=screenshot_dir / "kiosk.png")
    # The kiosk shows a new code when the slot ends, without a reload.
    expect(kiosk_page.locator("#kiosk-code")).not_to_have_attribute("data-token", first, timeout=8000)
    link = kiosk_page.locator("#kiosk-code a").get_attribute("href")

    settings.KIOSK_CODE_SECONDS = 30  # leave the driver time to press the button
    settings.KIOSK_GRACE_SECONDS = 15
    phone = browser.new_context(viewport={"width": 390, "height": 800}, is_mobile=True)
    phone_page = login(phone.new_page(), chofer)
    token = kiosk.kiosk_token(station)
    phone_page.goto(f"{live_server.url}/checkin/G1/{token}/")
    expect(phone_page.locator("body")).to_contain_text("Pedro Autoregistro")
    phone_page.screenshot(path=screenshot_dir / "checkin_confirm.png")
    phone_page.locator("button.checkin-button").click()
    expect(phone_page.locator(".checkin-result.level-entry")).to_be_visible()
    phone_page.screenshot(path=screenshot_dir / "checkin_entry.png")
    movement = Movement.objects.get()
    assert (movement.driver, movement.source, movement.station) == (me, Source.SELF, station)

    # A photo of an old code does not work later.
    old = kiosk.kiosk_token(station, now=time.time() - 300)
    phone_page.goto(f"{live_server.url}/checkin/G1/{old}/")
    expect(phone_page.locator(".checkin-result.level-refused")).to_be_visible()
    expect(phone_page.locator("button.checkin-button")).to_have_count(0)
    phone_page.screenshot(path=screenshot_dir / "checkin_expired.png")
    assert link and "/checkin/G1/" in link
    assert Movement.objects.count() == 1
    kiosk_ctx.close()
    phone.close()


def fake_camera_page(browser_type, browser_type_launch_args, video):
    browser = browser_type.launch(**{
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": CHROMIUM_ARGS + [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    })
    return browser, browser.new_context(locale="es-MX", viewport={"width": 1280, "height": 800}).new_page()


def test_no_qr_content_stops_the_camera_and_the_badge_after_it_is_recorded(
    browser_type, browser_type_launch_args, live_server, caseta, driver, stations, tmp_path, screenshot_dir
):
    # In front of the camera, one after the other: a station QR with a bad percent code (it
    # used to throw inside the decode loop and silence the camera), binary bytes, more text
    # than any badge, and at last the driver's badge.
    odd = [("https://x/scan/?station=%ZZ", 15), (bytes(range(256)), 15), ("Z" * 900, 15)]
    frames = [frame for content, n in odd for frame in [qr_frame(content)] * n]
    video = write_y4m(tmp_path / "odd.y4m", frames + [qr_frame(driver.badge_code)] * 60)
    browser, page = fake_camera_page(browser_type, browser_type_launch_args, video)
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", caseta.username)
        page.fill("#id_password", "pw-caseta1-123")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{live_server.url}/scan/?station=E1")
        page.evaluate("""window.heads = [];
            new MutationObserver(() => window.heads.push(document.getElementById('result-head').textContent))
              .observe(document.getElementById('result-head'), {childList: true, characterData: true, subtree: true})""")
        page.locator("#scan-camera-toggle").click()
        result = expect_result(page, "entry", timeout=25000)
        expect(result).to_contain_text("José Ramírez")
        movement = Movement.objects.get()
        assert (movement.driver, movement.station, movement.direction) == (driver, stations["entry"], "in")
        # The look-alike station QR was sent as a badge and refused (and logged), the
        # over-long text shown as an invalid read; the binary bytes decode to no text at all.
        # The device kept its station.
        assert RefusedScan.objects.filter(raw_input__contains="station=%ZZ").exists()
        heads = page.evaluate("window.heads")  # what the result panel showed, in order
        assert {"RECHAZADO", "NO VÁLIDO"} <= set(heads) and heads[-1] == "ENTRADA"
        expect(page.locator("#scan-station-name")).to_contain_text("E1")
        assert page.evaluate("document.body.dataset.camera") == "on"
    finally:
        browser.close()


def test_a_station_qr_of_another_site_is_only_a_refused_badge(booth_page, driver):
    page = booth_page
    scan_with_scanner(page, "https://evil.example/scan/?station=E1")
    expect_result(page, "refused")
    expect(page.locator("#station-dialog")).to_be_hidden()
    expect(page.locator("#scan-station-name")).to_contain_text("G1")
    assert RefusedScan.objects.get().raw_input.startswith("https://evil.example/scan/")


def test_a_lapsed_session_keeps_the_queue_and_sends_it_once_after_logging_in_again(
    booth_page, caseta, make_driver, live_server, screenshot_dir
):
    page = booth_page
    drivers = [make_driver(full_name=f"Chofer Nocturno {i}") for i in range(3)]
    page.route("**/api/scan/", lambda route: route.abort())
    for d in drivers:
        scan_with_scanner(page, d.badge_code)
        expect_result(page, "pending")
    expect(page.locator("#scan-pending .pending-item")).to_have_count(3)

    Session.objects.all().delete()  # the session ends on the server (logout elsewhere, expiry)
    page.unroute("**/api/scan/")
    login_banner = page.locator("#scan-login")
    expect(login_banner).to_be_visible(timeout=15000)
    expect(login_banner).to_contain_text("Inicie sesión de nuevo")
    expect(page.locator("#scan-pending .pending-item")).to_have_count(3)  # nothing dropped
    page.keyboard.press("Escape")
    page.screenshot(path=screenshot_dir / "scan_log_in_again.png")
    assert not Movement.objects.exists() and not RefusedScan.objects.exists()

    login_banner.locator("a").click()
    page.fill("#id_username", caseta.username)
    page.fill("#id_password", "pw-caseta1-123")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/scan/$"))
    expect(page.locator("#scan-pending")).to_be_hidden(timeout=15000)
    expect(page.locator("#scan-login")).to_be_hidden()
    page.reload()
    page.wait_for_timeout(4000)  # a flush or two more: nothing is sent again
    assert sorted(Movement.objects.values_list("driver_id", flat=True)) == sorted(d.pk for d in drivers)
    assert all(m.operator == caseta for m in Movement.objects.all())


def test_a_queued_scan_the_server_will_not_take_is_set_aside_and_the_rest_are_sent(
    booth_page, make_driver, screenshot_dir
):
    page = booth_page
    Station.objects.create(name="Entrada 2", code="E2", kind="entry")
    page.reload()
    first, second, third, fourth = (make_driver(full_name=f"Chofer En Cola {i}") for i in range(4))
    page.route("**/api/scan/", lambda route: route.abort())
    page.locator("#scan-station-select").select_option("E2")
    expect(page.locator("#scan-station-name")).to_contain_text("E2")
    scan_with_scanner(page, first.badge_code)
    expect_result(page, "pending")
    page.locator("#scan-station-select").select_option("G1")
    for d in (second, third):
        scan_with_scanner(page, d.badge_code)
        expect_result(page, "pending")
    Station.objects.filter(code="E2").delete()  # removed by an administrator meanwhile

    page.unroute("**/api/scan/")
    not_sent = page.locator("#scan-not-sent")
    expect(not_sent).to_be_visible(timeout=15000)
    expect(not_sent.locator(".not-sent-item")).to_have_count(1)
    expect(not_sent).to_contain_text("E2")
    expect(not_sent).to_contain_text("Estación desconocida")  # the server's own message
    expect(page.locator("#scan-pending")).to_be_hidden(timeout=15000)
    assert sorted(Movement.objects.values_list("driver_id", flat=True)) == [second.pk, third.pk]

    # The screen a guard finds after a night offline: one scan set aside, one still waiting.
    page.route("**/api/scan/", lambda route: route.abort())
    scan_with_scanner(page, fourth.badge_code)
    expect_result(page, "pending")
    page.keyboard.press("Escape")
    page.screenshot(path=screenshot_dir / "scan_offline_not_sent.png")
    page.unroute("**/api/scan/")
    expect(page.locator("#scan-pending")).to_be_hidden(timeout=15000)

    # The station is back: the guard retries the scan set aside, and it is recorded there.
    Station.objects.create(name="Entrada 2", code="E2", kind="entry")
    not_sent.get_by_role("button", name="Reintentar").click()
    expect(not_sent).to_be_hidden()
    expect(page.locator("#scan-pending")).to_be_hidden(timeout=15000)  # back in the queue, then sent
    retried = Movement.objects.get(driver=first)
    assert retried.station.code == "E2" and retried.direction == "in"
    assert Movement.objects.count() == 4


def test_a_scan_queued_too_long_ago_is_shown_expired_and_never_sent(booth_page, driver, settings):
    page = booth_page
    hours = settings.SCAN_MAX_AGE_HOURS
    page.evaluate(
        """([code, hours]) => {
            const then = Date.now() - (hours + 1) * 3600 * 1000;
            localStorage.setItem("qrgate.scan.queue", JSON.stringify([{code, station: "G1", nonce: "old-night-1",
                clientTime: then, tries: 3, scannedAt: new Date(then).toISOString()}]));
        }""",
        [driver.badge_code, hours],
    )
    page.reload()
    not_sent = page.locator("#scan-not-sent")
    expect(not_sent).to_be_visible(timeout=10000)
    expect(not_sent).to_contain_text(f"más de {hours} horas")
    expect(not_sent.get_by_role("button", name="Reintentar")).to_have_count(0)
    expect(page.locator("#scan-pending")).to_be_hidden()
    page.wait_for_timeout(3500)  # a flush passes: nothing is sent
    assert not Movement.objects.exists() and not RefusedScan.objects.exists()
    not_sent.get_by_role("button", name="Descartar").click()
    expect(not_sent).to_be_hidden()
    page.reload()
    expect(page.locator("#scan-not-sent")).to_be_hidden()


def test_undo_is_offered_on_the_booths_own_latest_scan_only(booth_page, make_driver, stations, screenshot_dir):
    page = booth_page
    other_booth = make_user("caseta2", "Caseta")
    theirs, mine = make_driver(full_name="Chofer De Otro"), make_driver(full_name="Chofer Mío")
    driver_services.record_scan(code=theirs.badge_code, station=stations["gate"], operator=other_booth)
    scan_with_scanner(page, mine.badge_code)
    expect_result(page, "entry")
    expect(page.locator("#result-undo")).to_be_visible()
    page.keyboard.press("Escape")
    rows = page.locator("#scan-recent .recent-movement")
    expect(rows).to_have_count(2, timeout=5000)
    expect(rows.filter(has_text="Chofer Mío").locator("[data-undo]")).to_have_count(1)
    expect(rows.filter(has_text="Chofer De Otro").locator("[data-undo]")).to_have_count(0)
    page.screenshot(path=screenshot_dir / "scan_recent_undo_own.png")
