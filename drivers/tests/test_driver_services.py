"""register_driver, update_driver and set_photo: the one write path of a driver's data."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from drivers import services
from drivers.models import Driver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    # The assertions read the English source strings, whatever the catalogue translates.
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def jpeg(size=(640, 480), color=(40, 90, 160)):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG")
    return out.getvalue()


def files(media_root):
    folder = media_root / "drivers"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def register(**overrides):
    fields = {"by": None, "full_name": "Juan Pérez", "license_number": "LIC-1", "company": "Fletes Sur"}
    return services.register_driver(**{**fields, **overrides})


# --- register_driver ------------------------------------------------------------------------

def test_it_registers_a_driver_normalized_with_a_new_badge_and_who_registered_him(supervisor):
    driver = register(by=supervisor, full_name="  juan   Pérez ", license_number="lic 001", company=" Fletes  Sur",
                      phone=" 81 1234  5678 ", plate="abc-1", notes="  turno noche ")
    driver.refresh_from_db()
    assert (driver.full_name, driver.license_number, driver.company, driver.phone, driver.plate, driver.notes) == (
        "juan Pérez", "LIC001", "Fletes Sur", "81 1234 5678", "ABC-1", "turno noche")
    assert driver.created_by == supervisor and len(driver.badge_code) == 26


def test_it_refuses_every_bad_field_at_once_and_writes_nothing():
    with pytest.raises(ValidationError) as error:
        register(full_name="12", license_number="A!", company=" ", phone="call me", plate="A")
    assert error.value.message_dict == {
        "full_name": ["Write the driver's full name (first name and surname)."],
        "license_number": ["The licence number must be 3 to 40 letters or digits (also - . /)."],
        "company": ["Write the carrier company."],
        "phone": ["The phone number must have 7 to 15 digits (spaces, + and - are allowed)."],
        "plate": ["The plate must be 2 to 20 letters or digits (spaces and - are allowed)."],
    }
    assert not Driver.objects.exists()


def test_a_taken_licence_is_refused_naming_who_has_it(make_driver):
    make_driver(full_name="Pedro Gómez", license_number="LIC001", company="Fletes Norte")
    with pytest.raises(ValidationError) as error:
        register(license_number=" lic 001")
    assert error.value.message_dict == {
        "license_number": ["Licence LIC001 is already registered to Pedro Gómez (Fletes Norte)."]}
    assert Driver.objects.count() == 1


def test_it_processes_the_photo_into_badge_and_thumbnail(media_root):
    driver = register(photo=SimpleUploadedFile("me.jpg", jpeg((1280, 960)), "image/jpeg"))
    assert Image.open(driver.photo.path).size == (450, 600)
    assert Image.open(driver.photo_thumb.path).size == (120, 160)
    assert len(files(media_root)) == 2


def test_a_bad_photo_is_refused_with_the_other_errors_and_nothing_is_written(media_root):
    with pytest.raises(ValidationError) as error:
        register(phone="1", photo=b"%PDF-1.7 not a photo" * 10)
    assert set(error.value.message_dict) == {"phone", "photo"}
    assert error.value.error_dict["photo"][0].code == "not_an_image"
    assert not Driver.objects.exists() and files(media_root) == []


# --- update_driver --------------------------------------------------------------------------

def test_it_changes_only_the_given_fields_normalized(make_driver, supervisor):
    driver = make_driver(company="Fletes Sur", phone="8111111111")
    Driver.objects.filter(pk=driver.pk).update(notes="written meanwhile by someone else")
    services.update_driver(driver=driver, by=supervisor, company="  transportes  unidos", plate="xy 12")
    driver.refresh_from_db()
    assert (driver.company, driver.plate, driver.phone) == ("transportes unidos", "XY 12", "8111111111")
    assert driver.notes == "written meanwhile by someone else"


def test_an_update_that_breaks_a_rule_changes_nothing(make_driver, supervisor):
    driver = make_driver()
    before = Driver.objects.filter(pk=driver.pk).values().get()
    with pytest.raises(ValidationError) as error:
        services.update_driver(driver=driver, by=supervisor, license_number="AB", phone="abc")
    assert set(error.value.message_dict) == {"license_number", "phone"}
    assert Driver.objects.filter(pk=driver.pk).values().get() == before


def test_an_update_may_not_take_another_drivers_licence(make_driver, supervisor):
    make_driver(full_name="Pedro Gómez", license_number="LIC777", company="Fletes Norte")
    driver = make_driver()
    with pytest.raises(ValidationError) as error:
        services.update_driver(driver=driver, by=supervisor, license_number="lic777")
    assert error.value.message_dict["license_number"] == [
        "Licence LIC777 is already registered to Pedro Gómez (Fletes Norte)."]


def test_an_update_cannot_touch_the_badge(make_driver, supervisor):
    driver = make_driver()
    with pytest.raises(TypeError):
        services.update_driver(driver=driver, by=supervisor, badge_code="A" * 26)


# --- set_photo ------------------------------------------------------------------------------

def test_a_new_photo_gets_new_files_and_the_old_ones_go_on_commit(
    make_driver, supervisor, media_root, django_capture_on_commit_callbacks
):
    driver = make_driver()
    services.set_photo(driver=driver, by=supervisor, photo=jpeg())
    first = (driver.photo.name, driver.photo_thumb.name)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.set_photo(driver=driver, by=supervisor, photo=jpeg(color=(200, 0, 0)))
        assert len(files(media_root)) == 4  # the old files stay until the change is committed
    for callback in callbacks:
        callback()
    driver.refresh_from_db()
    assert not set(first) & {driver.photo.name, driver.photo_thumb.name}
    assert files(media_root) == sorted(n.split("/")[-1] for n in (driver.photo.name, driver.photo_thumb.name))


def test_none_removes_the_photo_and_its_files(make_driver, supervisor, media_root, django_capture_on_commit_callbacks):
    driver = make_driver()
    services.set_photo(driver=driver, by=supervisor, photo=jpeg())
    with django_capture_on_commit_callbacks(execute=True):
        services.set_photo(driver=driver, by=supervisor, photo=None)
    driver.refresh_from_db()
    assert not driver.photo and not driver.photo_thumb and files(media_root) == []


def test_a_bad_photo_keeps_the_old_one(make_driver, supervisor, media_root):
    driver = make_driver()
    services.set_photo(driver=driver, by=supervisor, photo=jpeg())
    before = Driver.objects.filter(pk=driver.pk).values().get()
    with pytest.raises(ValidationError) as error:
        services.set_photo(driver=driver, by=supervisor, photo=b"GIF89a broken")
    assert list(error.value.message_dict) == ["photo"]
    assert Driver.objects.filter(pk=driver.pk).values().get() == before and len(files(media_root)) == 2


def test_update_driver_sets_the_photo_in_the_same_change(make_driver, supervisor, media_root):
    driver = make_driver()
    services.update_driver(driver=driver, by=supervisor, phone="8112345678", photo=jpeg())
    driver.refresh_from_db()
    assert driver.phone == "8112345678" and Image.open(driver.photo_thumb.path).size == (120, 160)


# --- register_drivers (the import's new rows) -------------------------------------------------

def test_many_drivers_are_registered_by_the_same_rules_normalized(administrador):
    drivers = services.register_drivers(by=administrador, drivers=[
        {"full_name": " Ana  Ruiz", "license_number": "l-1", "company": "Fletes Sur", "plate": "ab 1"},
        {"full_name": "Luis Torres", "license_number": "L-2", "company": "Fletes Sur", "phone": "8112345678"},
    ])
    assert sorted(Driver.objects.values_list("full_name", "license_number", "plate", "created_by")) == [
        ("Ana Ruiz", "L-1", "AB 1", administrador.pk), ("Luis Torres", "L-2", "", administrador.pk)]
    assert all(d.pk for d in drivers)


def test_one_bad_or_taken_licence_refuses_the_whole_batch(make_driver):
    make_driver(full_name="Pedro Gómez", license_number="L-1", company="Fletes Norte")
    with pytest.raises(ValidationError) as error:
        services.register_drivers(by=None, drivers=[
            {"full_name": "Ana Ruiz", "license_number": " l-1", "company": "Fletes Sur"},
            {"full_name": "Luis Torres", "license_number": "L-2", "company": "Fletes Sur", "phone": "abc"},
            {"full_name": "Eva Luna", "license_number": "L-3", "company": "Fletes Sur"},
        ])
    assert error.value.messages == [
        "L-2: The phone number must have 7 to 15 digits (spaces, + and - are allowed).",
        "Licence L-1 is already registered to Pedro Gómez (Fletes Norte).",
    ]
    assert [e.code for e in error.value.error_list] == ["invalid", "unique"]
    assert Driver.objects.count() == 1
