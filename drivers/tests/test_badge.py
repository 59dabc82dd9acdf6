"""Badges: the QR decodes back to exactly the code, cards and sheets, reissue, own badge."""

import base64
import io
import re

import pytest
import zxingcpp
from django.urls import reverse
from PIL import Image

from drivers.models import RevokedBadge, ScanReason
from drivers.services import record_scan
from drivers.views.badge import badge_qr

pytestmark = pytest.mark.django_db


def english(user):
    user.language = "en"
    user.save(update_fields=["language"])
    return user


def qr_images(html: str) -> list[Image.Image]:
    sources = re.findall(r'<img src="data:image/png;base64,([^"]+)"[^>]*class="[^"]*qr', html)
    return [Image.open(io.BytesIO(base64.b64decode(src))) for src in sources]


def decode(image: Image.Image) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image.convert("L"))]


# --- the QR ------------------------------------------------------------------------------

def test_the_qr_is_small_alphanumeric_and_robust(driver):
    qr = badge_qr(driver.badge_code)
    assert (qr.mode, qr.version, qr.error) == ("alphanumeric", 2, "Q")


def test_the_printed_card_qr_decodes_back_to_exactly_the_badge_code(client, caseta, driver):
    client.force_login(caseta)
    html = client.get(reverse("drivers:badge", args=[driver.pk])).content.decode()
    images = qr_images(html)
    assert len(images) == 1
    assert decode(images[0]) == [driver.badge_code]


def test_a_shrunk_qr_still_decodes(driver):
    # Printed at 25 mm on a cheap printer the QR is about 200 px at 200 dpi: still readable.
    from drivers.views.badge import QR_OPTIONS
    from qr_code.qrcode.maker import make_qr_code_image

    png = make_qr_code_image(driver.badge_code, QR_OPTIONS, force_text=False)
    small = Image.open(io.BytesIO(png)).resize((110, 110), Image.Resampling.BILINEAR)
    assert decode(small) == [driver.badge_code]


# --- the card page -----------------------------------------------------------------------

def test_anonymous_users_are_sent_to_the_login(client, driver):
    response = client.get(reverse("drivers:badge", args=[driver.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_chofer_may_not_see_other_drivers_badges(client, chofer, driver):
    client.force_login(chofer)
    assert client.get(reverse("drivers:badge", args=[driver.pk])).status_code == 403
    assert client.get(reverse("drivers:badge_sheet"), {"ids": str(driver.pk)}).status_code == 403


def test_the_card_shows_name_company_plate_licence_and_plant(client, caseta, make_driver, settings):
    settings.PLANT_NAME = "Planta Monterrey"
    driver = make_driver(full_name="Ana Ruiz", company="Fletes Sur", plate="XYZ-987", license_number="LIC555")
    client.force_login(caseta)
    html = client.get(reverse("drivers:badge", args=[driver.pk])).content.decode()
    for text in ("Ana Ruiz", "Fletes Sur", "XYZ-987", "LIC555", "Planta Monterrey", 'class="id-card"'):
        assert text in html
    assert "css/print-card.css" in html  # the print page size of a CR80 card
    assert "85.6mm 54mm" in (settings.BASE_DIR / "static/css/print-card.css").read_text()


def test_the_reissue_button_is_only_offered_to_whoever_may_reissue(client, caseta, supervisor, driver):
    url = reverse("drivers:badge", args=[driver.pk])
    client.force_login(caseta)
    assert reverse("drivers:reissue", args=[driver.pk]) not in client.get(url).content.decode()
    client.force_login(supervisor)
    assert reverse("drivers:reissue", args=[driver.pk]) in client.get(url).content.decode()


def test_the_sheet_prints_the_selected_cards_ten_per_a4_page(client, caseta, make_driver, settings):
    drivers = [make_driver() for _ in range(12)]
    client.force_login(caseta)
    ids = ",".join(str(d.pk) for d in drivers)
    response = client.get(reverse("drivers:badge_sheet"), {"ids": ids})
    html = response.content.decode()
    assert html.count('class="id-card"') == 12
    assert html.count('class="sheet-page"') == 2
    assert "css/print-sheet.css" in html
    assert "size: A4" in (settings.BASE_DIR / "static/css/print-sheet.css").read_text()
    assert [decode(img) for img in qr_images(html)] == [[d.badge_code] for d in drivers]


def test_the_sheet_takes_ticked_checkboxes_too(client, caseta, make_driver):
    a, b = make_driver(), make_driver()
    client.force_login(caseta)
    response = client.get(reverse("drivers:badge_sheet") + f"?ids={a.pk}&ids={b.pk}")
    assert response.content.decode().count('class="id-card"') == 2


def test_the_sheet_refuses_garbage_ids(client, caseta):
    client.force_login(english(caseta))
    response = client.get(reverse("drivers:badge_sheet"), {"ids": "1,DROP TABLE"})
    assert response.status_code == 400
    assert b"numbers separated by commas" in response.content


def test_the_sheet_with_nothing_selected_goes_back_to_the_list(client, caseta):
    client.force_login(caseta)
    response = client.get(reverse("drivers:badge_sheet"))
    assert response.status_code == 302 and response["Location"] == reverse("drivers:driver_list")


# --- reissue -----------------------------------------------------------------------------

def test_reissue_revokes_the_old_code_at_once(client, supervisor, caseta, driver, stations):
    old = driver.badge_code
    client.force_login(supervisor)
    response = client.post(reverse("drivers:reissue", args=[driver.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("drivers:badge", args=[driver.pk])
    driver.refresh_from_db()
    assert driver.badge_code != old
    revoked = RevokedBadge.objects.get(code=old)
    assert (revoked.driver, revoked.revoked_by) == (driver, supervisor)

    refused = record_scan(code=old, station=stations["entry"], operator=caseta)
    assert not refused.accepted and refused.reason == ScanReason.REVOKED
    accepted = record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    assert accepted.accepted and accepted.driver == driver

    html = client.get(reverse("drivers:badge", args=[driver.pk])).content.decode()
    assert decode(qr_images(html)[0]) == [driver.badge_code]


def test_reissue_is_post_only_and_needs_the_permission(client, caseta, supervisor, driver):
    old = driver.badge_code
    client.force_login(caseta)
    assert client.post(reverse("drivers:reissue", args=[driver.pk])).status_code == 403
    client.force_login(supervisor)
    assert client.get(reverse("drivers:reissue", args=[driver.pk])).status_code == 405
    driver.refresh_from_db()
    assert driver.badge_code == old and not RevokedBadge.objects.exists()


# --- the driver's own badge --------------------------------------------------------------

def test_a_chofer_sees_his_own_badge_full_size(client, chofer, make_driver):
    driver = make_driver(full_name="Luis Torres", user=chofer)
    make_driver(full_name="Otro Chofer")
    client.force_login(chofer)
    response = client.get(reverse("drivers:my_badge"))
    html = response.content.decode()
    assert response.status_code == 200 and "Luis Torres" in html and "Otro Chofer" not in html
    assert decode(qr_images(html)[0]) == [driver.badge_code]
    assert "js/wake_lock.js" in html  # keeps the phone's screen on


def test_a_chofer_without_a_driver_is_told_so(client, chofer):
    client.force_login(english(chofer))
    response = client.get(reverse("drivers:my_badge"))
    assert b"not linked to a driver" in response.content


def test_staff_without_the_permission_have_no_own_badge(client, caseta):
    client.force_login(caseta)
    assert client.get(reverse("drivers:my_badge")).status_code == 403


def test_reissue_keeps_why_the_badge_was_replaced(client, supervisor, driver):
    client.force_login(supervisor)
    client.post(reverse("drivers:reissue", args=[driver.pk]), {"reason": "  Se lo robaron  "})
    assert RevokedBadge.objects.get().reason == "Se lo robaron"
    client.post(reverse("drivers:reissue", args=[driver.pk]))
    assert RevokedBadge.objects.order_by("-id").first().reason  # a default, never empty


def test_no_page_that_shows_a_badge_qr_may_be_stored_by_a_browser_or_proxy(client, caseta, chofer, make_driver):
    own = make_driver(user=chofer)
    client.force_login(caseta)
    for url in [f"/drivers/{own.pk}/badge/", f"/drivers/badges/?ids={own.pk}"]:
        response = client.get(url)
        assert response.status_code == 200 and "id-card__qr" in response.content.decode()
        assert "no-store" in response["Cache-Control"], url
    client.force_login(chofer)
    response = client.get("/my-badge/")
    assert response.status_code == 200 and "my-badge-qr" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
