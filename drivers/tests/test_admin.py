"""The Spanish admin: every list and form opens, and the actions ask for a reason."""

import io

import pytest
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from drivers import services
from drivers.models import Ban, Driver, RevokedBadge
from drivers.services import record_scan

pytestmark = pytest.mark.django_db


@pytest.fixture
def some_history(driver, stations, caseta):
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    record_scan(code="X", station=stations["entry"], operator=caseta)


@pytest.mark.parametrize("model", [m for m in admin.site._registry], ids=lambda m: m._meta.label)
def test_every_admin_list_and_form_opens_in_spanish(client, admin_user, some_history, model):
    client.force_login(admin_user)
    opts = model._meta
    changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    assert changelist.headers["Content-Language"] == "es"
    obj = model._default_manager.first()
    if obj is not None:
        change = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert change.status_code == 200


def test_the_ban_action_asks_for_a_reason_then_bans(client, admin_user, driver):
    client.force_login(admin_user)
    url = reverse("admin:drivers_driver_changelist")
    asked = client.post(url, {"action": "ban_drivers", "_selected_action": [driver.pk]})
    assert asked.status_code == 200 and b'name="reason"' in asked.content
    assert not Ban.objects.exists()
    client.post(url, {"action": "ban_drivers", "_selected_action": [driver.pk], "apply": "1",
                      "reason": "Robo de combustible"})
    ban = Ban.objects.get()
    assert ban.driver == driver and ban.reason == "Robo de combustible" and ban.banned_by == admin_user


def test_the_reissue_action_revokes_the_old_badge(client, admin_user, driver):
    client.force_login(admin_user)
    old = driver.badge_code
    client.post(reverse("admin:drivers_driver_changelist"),
                {"action": "reissue_badges", "_selected_action": [driver.pk], "apply": "1", "reason": "Perdido"})
    driver.refresh_from_db()
    revoked = RevokedBadge.objects.get()
    assert driver.badge_code != old and revoked.code == old
    assert revoked.reason == "Perdido" and revoked.revoked_by == admin_user


def test_a_licence_typed_in_the_admin_is_normalized_as_in_the_registration_form(client, admin_user, driver):
    client.force_login(admin_user)
    taken = driver.license_number  # e.g. LIC000001
    spaced = taken[:3].lower() + " " + taken[3:]
    response = client.post(reverse("admin:drivers_driver_add"), driver_post(
        Driver(full_name="Otro  Chofer", license_number=spaced, company="Fletes", plate="abc 1")))
    assert response.status_code == 200  # the form comes back: this licence is taken
    assert f"La licencia {taken} ya está registrada a nombre de José Ramírez" in response.content.decode()
    assert type(driver).objects.filter(license_number__iexact=taken).count() == 1


# --- driver edits obey the registration page's rules, through the services -------------------

def photo_bytes(size=(800, 400), exif_orientation=None):
    """Left half red, right half blue; with EXIF orientation 6 it is a portrait, red on top."""
    image = Image.new("RGB", size, "red")
    image.paste(Image.new("RGB", (size[0] // 2, size[1]), "blue"), (size[0] // 2, 0))
    out = io.BytesIO()
    kwargs = {}
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    image.save(out, format="JPEG", **kwargs)
    return out.getvalue()


def driver_post(driver, **changes):
    data = {
        "full_name": driver.full_name, "license_number": driver.license_number, "company": driver.company,
        "phone": driver.phone, "plate": driver.plate, "notes": driver.notes, "user": "",
    }
    for inline in ("bans", "documents"):  # the change form's inlines, left empty
        data.update({f"{inline}-TOTAL_FORMS": "0", f"{inline}-INITIAL_FORMS": "0",
                     f"{inline}-MIN_NUM_FORMS": "0", f"{inline}-MAX_NUM_FORMS": "1000"})
    data.update(changes)
    return data


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.mark.parametrize(
    "field, value, spanish",
    [
        ("license_number", "AB", "El número de licencia debe tener de 3 a 40 letras o dígitos (también - . /)."),
        ("phone", "abc", "El teléfono debe tener de 7 a 15 dígitos (se permiten espacios, + y -)."),
        ("full_name", "  ", "Escriba el nombre completo del chofer."),
        ("plate", "A", "Las placas deben tener de 2 a 20 letras o dígitos (se permiten espacios y -)."),
    ],
)
def test_an_admin_edit_meets_the_registration_rules_in_spanish_and_changes_nothing(
    client, admin_user, driver, field, value, spanish
):
    client.force_login(admin_user)
    before = Driver.objects.filter(pk=driver.pk).values().get()
    response = client.post(reverse("admin:drivers_driver_change", args=[driver.pk]),
                           driver_post(driver, **{field: value}))
    assert response.status_code == 200
    assert spanish in response.content.decode()
    assert Driver.objects.filter(pk=driver.pk).values().get() == before


def test_an_admin_cannot_add_a_driver_with_a_bad_licence(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("admin:drivers_driver_add"), driver_post(
        Driver(full_name="Luis Torres", license_number="AB", company="Fletes Sur")))
    assert response.status_code == 200
    assert "El número de licencia debe tener de 3 a 40 letras" in response.content.decode()
    assert not Driver.objects.exists()


def test_a_driver_added_in_the_admin_is_normalized_and_registered_by_the_admin(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("admin:drivers_driver_add"), driver_post(
        Driver(full_name=" Luis   Torres ", license_number="lic 42", company="Fletes  Sur",
               phone="81 1234 5678", plate="abc 12")))
    driver = Driver.objects.get()
    assert response.status_code == 302
    assert (driver.full_name, driver.license_number, driver.company, driver.plate) == (
        "Luis Torres", "LIC42", "Fletes Sur", "ABC 12")
    assert driver.created_by == admin_user and len(driver.badge_code) == 26


def test_a_photo_set_in_the_admin_is_processed_and_the_scan_shows_the_new_face(
    client, admin_user, caseta, driver, stations, media_root, django_capture_on_commit_callbacks
):
    services.set_photo(driver=driver, by=admin_user, photo=photo_bytes())
    old_files = {driver.photo.name, driver.photo_thumb.name}
    booth = Client()
    booth.force_login(caseta)
    old_url = booth.post("/api/scan/", {"code": driver.badge_code, "station": "G1"},
                         content_type="application/json").json()["driver"]["photo_url"]

    client.force_login(admin_user)
    upload = SimpleUploadedFile("phone.jpg", photo_bytes(exif_orientation=6), "image/jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:drivers_driver_change", args=[driver.pk]),
                               driver_post(driver, photo=upload))
    assert response.status_code == 302
    driver.refresh_from_db()
    badge = Image.open(driver.photo.path).convert("RGB")
    assert badge.size == (450, 600) and not badge.getexif()
    top, bottom = badge.getpixel((225, 20)), badge.getpixel((225, 580))
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200  # the EXIF rotation applied: red on top
    assert Image.open(driver.photo_thumb.path).size == (120, 160)
    assert sorted(p.name for p in (media_root / "drivers").iterdir()) == sorted(
        name.split("/")[-1] for name in (driver.photo.name, driver.photo_thumb.name))  # old files removed
    assert not old_files & {driver.photo.name, driver.photo_thumb.name}

    new_url = booth.post("/api/scan/", {"code": driver.badge_code, "station": "G1"},
                         content_type="application/json").json()["driver"]["photo_url"]
    assert new_url == reverse("drivers:media", args=[driver.photo_thumb.name]) != old_url
    assert Image.open(io.BytesIO(b"".join(booth.get(new_url).streaming_content))).size == (120, 160)


def test_a_fake_photo_in_the_admin_is_refused_in_spanish_and_keeps_the_old_one(
    client, admin_user, driver, media_root
):
    services.set_photo(driver=driver, by=admin_user, photo=photo_bytes())
    before = Driver.objects.filter(pk=driver.pk).values().get()
    client.force_login(admin_user)
    fake = SimpleUploadedFile("cara.jpg", b"%PDF-1.7 not a photo" * 20, "image/jpeg")
    response = client.post(reverse("admin:drivers_driver_change", args=[driver.pk]), driver_post(driver, photo=fake))
    assert response.status_code == 200
    assert "Este archivo no es una foto" in response.content.decode()
    assert Driver.objects.filter(pk=driver.pk).values().get() == before


def test_the_admin_removes_a_photo_and_its_files(
    client, admin_user, driver, media_root, django_capture_on_commit_callbacks
):
    services.set_photo(driver=driver, by=admin_user, photo=photo_bytes())
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:drivers_driver_change", args=[driver.pk]), driver_post(driver, remove_photo="on"))
    driver.refresh_from_db()
    assert not driver.photo and not driver.photo_thumb
    assert not list((media_root / "drivers").iterdir())
