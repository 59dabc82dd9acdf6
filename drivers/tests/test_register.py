"""Registering and editing a driver: permissions, every field's rule, photo, duplicates."""

import base64
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from drivers.models import Driver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def jpeg(size=(640, 480)):
    out = io.BytesIO()
    Image.new("RGB", size, (40, 90, 160)).save(out, format="JPEG")
    return out.getvalue()


def valid(**overrides):
    data = {
        "full_name": "  Juan   Pérez López ",
        "license_number": "lic 123456",
        "company": "Transportes del Norte",
        "phone": "+52 81 1234 5678",
        "plate": "abc-123",
        "notes": "Turno nocturno",
    }
    data.update(overrides)
    return data


def english(user):
    # The assertions read the English source strings, whatever the catalogue translates.
    user.language = "en"
    user.save(update_fields=["language"])
    return user


def post(client, user, data, url=None):
    client.force_login(english(user))
    return client.post(url or reverse("drivers:register"), data)


# --- the permission ladder ---------------------------------------------------------------

def test_anonymous_users_are_sent_to_the_login(client):
    response = client.get(reverse("drivers:register"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_a_chofer_may_not_register_drivers(client, chofer):
    client.force_login(chofer)
    assert client.get(reverse("drivers:register")).status_code == 403
    assert post(client, chofer, valid()).status_code == 403
    assert not Driver.objects.exists()


@pytest.mark.parametrize("role", ["Caseta", "Supervisor", "Administrador"])
def test_booth_supervisor_and_admin_see_the_form_with_the_name_focused(client, role_users, role):
    client.force_login(role_users[role])
    response = client.get(reverse("drivers:register"))
    assert response.status_code == 200
    name_input = re.search(r'<input[^>]*name="full_name"[^>]*>', response.content.decode()).group()
    assert "autofocus" in name_input


def test_a_caseta_may_not_edit_a_driver(client, caseta, driver):
    client.force_login(caseta)
    assert client.get(reverse("drivers:edit", args=[driver.pk])).status_code == 403


# --- saving ------------------------------------------------------------------------------

def test_it_registers_a_driver_with_normalized_fields_and_shows_his_badge(client, caseta):
    response = post(client, caseta, {**valid(), "photo": SimpleUploadedFile("me.jpg", jpeg(), "image/jpeg")})
    driver = Driver.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("drivers:badge", args=[driver.pk])
    assert (driver.full_name, driver.license_number, driver.company, driver.phone, driver.plate, driver.notes) == (
        "Juan Pérez López", "LIC123456", "Transportes del Norte", "+52 81 1234 5678", "ABC-123", "Turno nocturno")
    assert driver.created_by == caseta
    assert driver.photo.name.endswith(".jpg") and driver.photo_thumb.name.endswith(".jpg")
    assert Image.open(driver.photo.path).size == (450, 600)
    assert Image.open(driver.photo_thumb.path).size == (120, 160)


def test_it_takes_the_photo_from_the_webcam_data_url(client, caseta):
    data_url = "data:image/jpeg;base64," + base64.b64encode(jpeg((600, 800))).decode()
    post(client, caseta, valid(photo_data=data_url))
    assert Driver.objects.get().photo


def test_optional_fields_may_be_empty(client, caseta):
    response = post(client, caseta, valid(phone="", plate="", notes=""))
    assert response.status_code == 302
    driver = Driver.objects.get()
    assert (driver.phone, driver.plate, driver.notes, bool(driver.photo)) == ("", "", "", False)


# --- every field's rule ------------------------------------------------------------------

@pytest.mark.parametrize(
    "field, value, message",
    [
        ("full_name", "", "Write the driver's full name."),
        ("full_name", "12", "Write the driver's full name (first name and surname)."),
        ("full_name", "x" * 121, "Ensure this value has at most 120 characters (it has 121)."),
        ("license_number", "", "Write the licence number."),
        ("license_number", "A!", "The licence number must be 3 to 40 letters or digits (also - . /)."),
        ("license_number", "L" * 41, "Ensure this value has at most 40 characters (it has 41)."),
        ("company", "  ", "Write the carrier company."),
        ("company", "c" * 121, "Ensure this value has at most 120 characters (it has 121)."),
        ("phone", "12345", "The phone number must have 7 to 15 digits (spaces, + and - are allowed)."),
        ("phone", "call me", "The phone number must have 7 to 15 digits (spaces, + and - are allowed)."),
        ("phone", "1" * 16, "The phone number must have 7 to 15 digits (spaces, + and - are allowed)."),
        ("phone", "1" * 31, "Ensure this value has at most 30 characters (it has 31)."),
        ("plate", "A", "The plate must be 2 to 20 letters or digits (spaces and - are allowed)."),
        ("plate", "ABC_123!", "The plate must be 2 to 20 letters or digits (spaces and - are allowed)."),
        ("notes", "n" * 2001, "The notes are too long (at most 2000 characters)."),
    ],
)
def test_it_refuses_a_bad_field_with_a_clear_message(client, caseta, field, value, message):
    response = post(client, caseta, valid(**{field: value}))
    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert not Driver.objects.exists()


def test_a_taken_licence_names_the_driver_who_has_it(client, caseta, make_driver):
    make_driver(full_name="Pedro Gómez", license_number="LIC123456", company="Fletes Sur")
    response = post(client, caseta, valid(license_number=" lic123456 "))
    assert response.context["form"].errors["license_number"] == [
        "Licence LIC123456 is already registered to Pedro Gómez (Fletes Sur)."
    ]
    assert Driver.objects.count() == 1


def test_it_refuses_a_fake_image(client, caseta):
    fake = SimpleUploadedFile("photo.jpg", b"%PDF-1.7 not a photo at all" * 10, "image/jpeg")
    response = post(client, caseta, {**valid(), "photo": fake})
    assert response.context["form"].errors["photo"] == [
        "This file is not a photo (JPEG, PNG or WebP). Take the photo again or choose another file."
    ]
    assert not Driver.objects.exists()


def test_it_refuses_a_too_large_image(client, caseta, settings):
    settings.DRIVER_PHOTO_MAX_BYTES = 2 * 1024 * 1024
    big = SimpleUploadedFile("big.jpg", jpeg() + b"\0" * (2 * 1024 * 1024), "image/jpeg")
    response = post(client, caseta, {**valid(), "photo": big})
    assert response.context["form"].errors["photo"] == ["The photo is too large: at most 2 MB."]
    assert not Driver.objects.exists()


def test_a_good_photo_is_kept_when_another_field_is_wrong(client, caseta):
    response = post(client, caseta, {**valid(phone="1"), "photo": SimpleUploadedFile("a.jpg", jpeg(), "image/jpeg")})
    assert response.context["form"].kept_photo.startswith("data:image/jpeg;base64,")
    kept = response.context["form"].kept_photo
    post(client, caseta, valid(photo_data=kept))
    assert Driver.objects.get().photo


# --- duplicates --------------------------------------------------------------------------

def test_same_name_and_company_warns_before_saving_and_saves_once_confirmed(client, caseta, make_driver):
    make_driver(full_name="JUAN PEREZ LOPEZ", license_number="OTHER1", company="transportes del norte")
    response = post(client, caseta, valid())
    assert response.status_code == 200
    html = response.content.decode()
    assert "JUAN PEREZ LOPEZ of transportes del norte is already registered (licence OTHER1)" in html
    assert 'name="confirm_duplicate"' in html
    assert Driver.objects.count() == 1

    response = post(client, caseta, valid(confirm_duplicate="on"))
    assert response.status_code == 302
    assert Driver.objects.count() == 2


def test_the_same_name_at_another_company_is_no_duplicate(client, caseta, make_driver):
    make_driver(full_name="Juan Pérez López", license_number="OTHER1", company="Fletes Sur")
    assert post(client, caseta, valid()).status_code == 302


# --- edit --------------------------------------------------------------------------------

def test_a_supervisor_edits_a_driver_and_keeps_his_badge(client, supervisor, make_driver):
    driver = make_driver(full_name="Ana Ruiz", license_number="LIC777", company="Fletes Sur")
    code = driver.badge_code
    url = reverse("drivers:edit", args=[driver.pk])
    response = post(client, supervisor, valid(full_name="Ana Ruiz Soto", license_number="LIC777"), url=url)
    assert response.status_code == 302
    driver.refresh_from_db()
    assert (driver.full_name, driver.company, driver.badge_code) == ("Ana Ruiz Soto", "Transportes del Norte", code)


def test_editing_does_not_warn_about_the_driver_himself(client, supervisor, make_driver):
    driver = make_driver(full_name="Ana Ruiz", license_number="LIC777", company="Fletes Sur")
    url = reverse("drivers:edit", args=[driver.pk])
    response = post(client, supervisor, valid(full_name="Ana Ruiz", license_number="LIC777", company="Fletes Sur"), url=url)
    assert response.status_code == 302


def test_a_new_photo_replaces_the_old_files(
    client, supervisor, make_driver, media_root, django_capture_on_commit_callbacks
):
    driver = make_driver()
    url = reverse("drivers:edit", args=[driver.pk])
    data = valid(full_name=driver.full_name, license_number=driver.license_number, company=driver.company)
    post(client, supervisor, {**data, "photo": SimpleUploadedFile("a.jpg", jpeg(), "image/jpeg")}, url=url)
    driver.refresh_from_db()
    first = driver.photo.path
    with django_capture_on_commit_callbacks(execute=True):
        post(client, supervisor, {**data, "photo": SimpleUploadedFile("b.jpg", jpeg(), "image/jpeg")}, url=url)
    driver.refresh_from_db()
    assert driver.photo.path != first
    assert len(list((media_root / "drivers").iterdir())) == 2  # the new photo and thumbnail only


# --- list --------------------------------------------------------------------------------

def test_the_list_searches_and_links_each_badge(client, caseta, make_driver, django_assert_max_num_queries):
    a = make_driver(full_name="Ana Ruiz", company="Fletes Sur")
    for _ in range(30):
        make_driver()
    client.force_login(caseta)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("drivers:driver_list"), {"q": "ruiz"})
    html = response.content.decode()
    assert reverse("drivers:badge", args=[a.pk]) in html
    assert "Juan Pérez 1 " not in html


def test_the_edit_page_shows_the_current_photo_through_the_media_view(client, supervisor, make_driver):
    driver = make_driver()
    client.force_login(supervisor)
    client.post(
        reverse("drivers:edit", args=[driver.pk]),
        {**valid(full_name=driver.full_name, license_number=driver.license_number, company=driver.company),
         "photo": SimpleUploadedFile("a.jpg", jpeg(), "image/jpeg")},
    )
    driver.refresh_from_db()
    html = client.get(reverse("drivers:edit", args=[driver.pk])).content.decode()
    assert reverse("drivers:media", args=[driver.photo.name]) in html


def test_the_driver_list_marks_who_is_banned_now(client, caseta, supervisor, make_driver):
    from drivers import services

    banned, lifted, fine = (make_driver(full_name=n) for n in ("Darío Vetado", "Luis Perdonado", "Ana Libre"))
    services.ban(driver=banned, reason="Exceso de velocidad", by=supervisor)
    services.ban(driver=lifted, reason="Error de captura", by=supervisor)
    services.unban(driver=lifted, by=supervisor)
    client.force_login(caseta)
    rows = client.get(reverse("drivers:driver_list")).content.decode().split("<tr>")
    marked = {name for name in ("Darío Vetado", "Luis Perdonado", "Ana Libre")
              for row in rows if name in row and "Vetado</span>" in row}
    assert marked == {"Darío Vetado"}
