"""A guard registers a driver with the booth's (fake) webcam and prints his card.

Chromium's fake camera stands in for the booth's webcam; the printed card is saved as a
PDF and as a screenshot with print media, and its QR is decoded from the screenshot, as a
scanner at the gate would read it.
"""

import time

import pytest
import zxingcpp
from django.urls import reverse
from PIL import Image

from drivers.models import DocumentType, Driver

from .conftest import CHROMIUM, CHROMIUM_ARGS, wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CAMERA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


@pytest.fixture
def camera_browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + CAMERA_ARGS)
    yield browser
    browser.close()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_guard_registers_a_driver_with_the_webcam_and_prints_the_card(
    camera_browser, live_server, login, caseta, screenshot_dir, settings
):
    settings.PLANT_NAME = "Planta Monterrey"
    context = camera_browser.new_context(
        locale="es-MX", viewport={"width": 1280, "height": 900}, device_scale_factor=2
    )
    page = context.new_page()
    login(page, caseta)

    started = time.perf_counter()
    page.goto(live_server.url + reverse("drivers:register"))
    assert page.evaluate("document.activeElement.name") == "full_name"  # the guard types at once
    page.keyboard.type("José Guadalupe Hernández")
    page.fill("#id_license_number", "mty 4455 21")
    page.fill("#id_company", "Transportes del Norte")
    page.fill("#id_phone", "81 1234 5678")
    page.fill("#id_plate", "abc-123")

    page.click("#cam-start")
    wait_for_js(page, "document.getElementById('cam-video').readyState >= 2 && "
                      "document.getElementById('cam-video').videoWidth > 0")
    page.screenshot(path=str(screenshot_dir / "register_camera_live.png"))
    page.click("#cam-shoot")
    assert page.input_value("#id_photo_data").startswith("data:image/jpeg;base64,")
    assert page.is_visible("#photo-preview") and not page.is_visible("#cam-video")
    page.screenshot(path=str(screenshot_dir / "register_photo_taken.png"))

    page.click("#save-driver")
    page.wait_for_url("**/badge/")
    elapsed = time.perf_counter() - started
    print(f"\nregistration with webcam photo: {elapsed:.1f} s of browser time")

    driver = Driver.objects.get()
    assert (driver.full_name, driver.license_number, driver.plate) == (
        "José Guadalupe Hernández", "MTY445521", "ABC-123")
    assert driver.photo and driver.photo_thumb and driver.created_by == caseta
    assert Image.open(driver.photo.path).size == (450, 600)

    card = page.locator(".id-card")
    assert card.is_visible()
    # The photo on the card is served through the permission-checked media view.
    assert page.evaluate("document.querySelector('.id-card__photo').naturalWidth") == 450
    page.screenshot(path=str(screenshot_dir / "badge_page.png"), full_page=True)

    page.emulate_media(media="print")
    shot = screenshot_dir / "badge_card_print.png"
    card.screenshot(path=str(shot))
    box = card.bounding_box()
    # 85.6 x 54 mm at 96 css px per inch: 323.5 x 204.1 px.
    assert abs(box["width"] - 323.5) < 2 and abs(box["height"] - 204.1) < 2
    assert not page.is_visible(".badge-actions")
    decoded = [r.text for r in zxingcpp.read_barcodes(Image.open(shot).convert("L"))]
    assert decoded == [driver.badge_code]

    pdf = screenshot_dir / "badge_card.pdf"
    page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
    assert pdf.read_bytes()[:5] == b"%PDF-"
    context.close()


def test_an_a4_sheet_and_the_chofer_badge_on_a_phone(
    camera_browser, live_server, login, caseta, chofer, make_driver, screenshot_dir, settings
):
    settings.PLANT_NAME = "Planta Monterrey"
    drivers = [
        make_driver(full_name=name, company=company, plate=plate)
        for name, company, plate in [
            ("María de los Ángeles Ortiz Villarreal", "Fletes Ramírez", "XYZ-9876"),
            ("Luis Torres", "Transportes del Norte", "NL-12-345"),
            ("Juan Pérez", "Logística Regiomontana S.A. de C.V.", ""),
        ]
    ]
    context = camera_browser.new_context(locale="es-MX", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, caseta)
    page.goto(live_server.url + reverse("drivers:badge_sheet") + "?ids=" + ",".join(str(d.pk) for d in drivers))
    assert page.locator(".id-card").count() == 3, page.content()[:3000]
    page.emulate_media(media="print")
    page.screenshot(path=str(screenshot_dir / "badge_sheet_print.png"), full_page=True)
    page.pdf(path=str(screenshot_dir / "badge_sheet.pdf"), prefer_css_page_size=True, print_background=True)
    context.close()

    drivers[1].user = chofer
    drivers[1].save()
    phone = camera_browser.new_context(
        locale="es-MX", viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    page = phone.new_page()
    login(page, chofer)
    page.goto(live_server.url + reverse("drivers:my_badge"))
    qr = page.locator(".my-badge-qr")
    assert qr.bounding_box()["width"] > 300  # nearly the whole phone's width
    shot = screenshot_dir / "my_badge_phone.png"
    page.screenshot(path=str(shot))
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(shot).convert("L"))] == [drivers[1].badge_code]
    phone.close()


def test_the_documents_come_before_the_save_button(page, live_server, login, caseta, screenshot_dir):
    """The guard fills the form top to bottom and saves: no field waits below the button."""
    DocumentType.objects.create(code="seguro", name="Seguro", required=True)
    login(page, caseta)
    page.goto(live_server.url + reverse("drivers:register"))
    documents = page.locator("#new-documents").bounding_box()
    save = page.locator("#save-driver").bounding_box()
    assert save["y"] >= documents["y"] + documents["height"]
    page.screenshot(path=str(screenshot_dir / "register_with_documents.png"), full_page=True)
