"""Driver photos are personal data: the media view checks who asks, and stays in MEDIA_ROOT."""

import io

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    (tmp_path / "secret.txt").write_text("outside the media root")
    return root


def with_photo(driver):
    out = io.BytesIO()
    Image.new("RGB", (30, 40), "green").save(out, format="JPEG")
    driver.photo.save("p.jpg", ContentFile(out.getvalue()), save=False)
    driver.photo_thumb.save("t.jpg", ContentFile(out.getvalue()), save=True)
    return driver


def url(name):
    return reverse("drivers:media", args=[name])


def test_the_url_is_built_from_the_name_relative_to_the_media_root(driver):
    with_photo(driver)
    assert url(driver.photo.name) == "/media/" + driver.photo.name


def test_anonymous_users_get_no_photo(client, driver):
    with_photo(driver)
    response = client.get(url(driver.photo.name))
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("role", ["Caseta", "Supervisor", "Administrador"])
def test_staff_who_may_see_drivers_get_the_photo(client, role_users, role, driver):
    with_photo(driver)
    client.force_login(role_users[role])
    response = client.get(url(driver.photo.name))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "private" in response["Cache-Control"]
    assert "no-store" in response["Cache-Control"]  # not even the booth browser keeps it
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"


def test_a_chofer_gets_his_own_photo_only(client, chofer, make_driver):
    own = with_photo(make_driver(user=chofer))
    other = with_photo(make_driver())
    client.force_login(chofer)
    assert client.get(url(own.photo.name)).status_code == 200
    assert client.get(url(own.photo_thumb.name)).status_code == 200
    assert client.get(url(other.photo.name)).status_code == 403
    assert client.get(url(other.photo_thumb.name)).status_code == 403


def test_a_chofer_with_no_driver_gets_nothing(client, chofer, driver):
    with_photo(driver)
    client.force_login(chofer)
    assert client.get(url(driver.photo.name)).status_code == 403


@pytest.mark.parametrize(
    "path",
    ["../secret.txt", "drivers/../../secret.txt", "%2e%2e/secret.txt", "/etc/passwd", "drivers/", "nothing.jpg", ""],
)
def test_it_never_serves_outside_the_media_root_or_missing_files(client, caseta, path):
    client.force_login(caseta)
    response = client.get("/media/" + path)
    assert response.status_code == 404
    assert b"outside the media root" not in response.content


def test_a_non_image_file_is_downloaded_not_rendered(client, caseta, media_root):
    (media_root / "page.html").write_text("<script>alert(1)</script>")
    client.force_login(caseta)
    response = client.get("/media/page.html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")


def test_a_scanned_document_is_private_and_downloads_as_a_file(client, driver, make_driver, chofer, supervisor):
    from datetime import date

    from drivers.models import DocumentType, DriverDocument

    kind = DocumentType.objects.create(code="seguro", name="Seguro")
    doc = DriverDocument(driver=driver, doc_type=kind, expires_on=date(2027, 1, 1))
    doc.file.save("poliza.pdf", ContentFile(b"%PDF-1.4 test"), save=True)
    assert doc.file.name.startswith("documents/") and "poliza" not in doc.file.name
    assert client.get(url(doc.file.name)).status_code == 302  # anonymous: to the login page
    client.force_login(chofer)
    assert client.get(url(doc.file.name)).status_code == 403  # another driver's document
    driver.user = chofer
    driver.save()
    own = client.get(url(doc.file.name))
    assert own.status_code == 200 and own["Content-Type"] == "application/octet-stream"
    client.force_login(supervisor)
    assert client.get(url(doc.file.name)).status_code == 200
