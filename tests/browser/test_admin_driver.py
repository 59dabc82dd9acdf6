"""An administrator edits a driver in /admin/: the registration page's rules in Spanish, and
a photo uploaded there is processed and is the face the booth sees."""

import io

import pytest
from django.urls import reverse
from PIL import Image

from drivers.models import Driver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def sideways_photo(path):
    """A phone photo stored landscape with "rotate 90°" in its EXIF: red half on top once turned."""
    image = Image.new("RGB", (1600, 800), "red")
    image.paste(Image.new("RGB", (800, 800), "blue"), (800, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(path, format="JPEG", exif=exif.tobytes())
    return path


def test_an_admin_meets_the_rules_in_spanish_and_sets_a_processed_photo(
    page, live_server, login, admin_user, make_driver, screenshot_dir, tmp_path
):
    driver = make_driver(full_name="Ana Ruiz", license_number="LIC-4455", company="Fletes Sur", phone="8112345678")
    login(page, admin_user)
    url = live_server.url + reverse("admin:drivers_driver_change", args=[driver.pk])

    page.goto(url)
    page.fill("#id_license_number", "AB")
    page.fill("#id_phone", "abc")
    page.click("input[name=_continue]")
    page.wait_for_load_state()
    page.screenshot(path=str(screenshot_dir / "admin_driver_rules.png"), full_page=True)
    text = page.inner_text("#content")
    assert "El número de licencia debe tener de 3 a 40 letras o dígitos" in text
    assert "El teléfono debe tener de 7 a 15 dígitos" in text
    driver.refresh_from_db()
    assert (driver.license_number, driver.phone) == ("LIC-4455", "8112345678")

    page.goto(url)
    page.set_input_files("#id_photo", str(sideways_photo(tmp_path / "cara.jpg")))
    page.click("input[name=_continue]")
    page.wait_for_load_state()
    driver.refresh_from_db()
    assert driver.photo_thumb
    thumb = page.locator(f"img[src='{reverse('drivers:media', args=[driver.photo_thumb.name])}']")
    thumb.wait_for()
    assert thumb.evaluate("img => img.complete && img.naturalWidth") == 120  # the thumbnail, served
    page.screenshot(path=str(screenshot_dir / "admin_driver_photo.png"), full_page=True)
    badge = Image.open(io.BytesIO(open(driver.photo.path, "rb").read())).convert("RGB")
    assert badge.size == (450, 600) and badge.getpixel((225, 20))[0] > 200  # turned upright: red on top
    assert Driver.objects.get().photo.name == driver.photo.name
