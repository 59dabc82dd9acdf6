"""Photos and scanned documents on a shared place: a folder every app server mounts
(MEDIA_ROOT), or an S3-compatible bucket (MEDIA_STORAGE=s3, django-storages).

The S3 tests run against moto's S3 server on 127.0.0.1, started here: the app speaks
real S3 HTTP to it, as it would to MinIO or AWS.
"""

import io
import json
import os
import socket
import subprocess
import sys
from datetime import date
from pathlib import Path

import boto3
import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image

from drivers import services

BASE = Path(__file__).resolve().parents[1]
BUCKET = "qrgate-media"
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


def free_port(first=5250, last=5299) -> int:
    for port in range(first, last + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for the S3 server")


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_server, settings):
    """A fresh bucket, and the app's media storage pointed at it (as MEDIA_STORAGE=s3 does)."""
    client = boto3.client("s3", endpoint_url=s3_server, **KEYS)
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET, "endpoint_url": s3_server, "access_key": "testing",
                "secret_key": "testing", "region_name": "us-east-1", "location": "planta",
                "file_overwrite": False, "default_acl": None, "addressing_style": "path",
            },
        },
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def keys(client) -> set[str]:
    return {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def jpeg(size=(640, 480), color=(40, 90, 160)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="JPEG")
    return out.getvalue()


def media_url(name):
    return reverse("drivers:media", args=[name])


@pytest.mark.django_db
def test_a_photo_set_through_the_service_lands_in_the_bucket_with_its_thumbnail(bucket, driver,
                                                                               administrador):
    services.set_photo(driver=driver, by=administrador, photo=jpeg())
    driver.refresh_from_db()

    assert keys(bucket) == {f"planta/{driver.photo.name}", f"planta/{driver.photo_thumb.name}"}
    badge = bucket.get_object(Bucket=BUCKET, Key=f"planta/{driver.photo.name}")["Body"].read()
    thumb = bucket.get_object(Bucket=BUCKET, Key=f"planta/{driver.photo_thumb.name}")["Body"].read()
    assert Image.open(io.BytesIO(badge)).size == (450, 600)
    assert Image.open(io.BytesIO(thumb)).size == (120, 160)


@pytest.mark.django_db
def test_the_booth_sees_the_photo_from_the_bucket_and_nobody_else_does(bucket, client, driver, administrador,
                                                                        caseta, chofer):
    services.set_photo(driver=driver, by=administrador, photo=jpeg())
    driver.refresh_from_db()
    stored = bucket.get_object(Bucket=BUCKET, Key=f"planta/{driver.photo_thumb.name}")["Body"].read()

    assert client.get(media_url(driver.photo_thumb.name)).status_code == 302  # to the login page
    client.force_login(chofer)  # not his photo
    assert client.get(media_url(driver.photo_thumb.name)).status_code == 403
    client.force_login(caseta)
    response = client.get(media_url(driver.photo_thumb.name))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == stored
    # The scan screen's answer points at the same view.
    page = client.get(reverse("drivers:driver_list"))
    assert media_url(driver.photo_thumb.name) in page.content.decode()
    for path in ["nothing.jpg", "drivers/", "../planta/" + driver.photo.name, "planta/" + driver.photo.name,
                 "drivers/" + "x" * 2000 + ".jpg"]:
        assert client.get("/media/" + path).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_new_photo_replaces_the_old_objects_in_the_bucket(bucket, driver, administrador):
    services.set_photo(driver=driver, by=administrador, photo=jpeg(color=(200, 10, 10)))
    driver.refresh_from_db()
    first = keys(bucket)
    services.set_photo(driver=driver, by=administrador, photo=jpeg(color=(10, 200, 10)))
    driver.refresh_from_db()
    assert keys(bucket) == {f"planta/{driver.photo.name}", f"planta/{driver.photo_thumb.name}"}
    assert not keys(bucket) & first
    services.set_photo(driver=driver, by=administrador, photo=None)
    assert keys(bucket) == set()


@pytest.mark.django_db
def test_a_scanned_document_in_the_bucket_downloads_for_its_driver_only(bucket, client, make_driver, chofer):
    from drivers.models import DocumentType, DriverDocument

    own = make_driver(user=chofer)
    kind = DocumentType.objects.create(code="seguro", name="Seguro")
    doc = DriverDocument(driver=own, doc_type=kind, expires_on=date(2027, 1, 1))
    doc.file.save("poliza.pdf", ContentFile(b"%PDF-1.4 test"), save=True)
    assert f"planta/{doc.file.name}" in keys(bucket)

    client.force_login(chofer)
    response = client.get(media_url(doc.file.name))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == b"%PDF-1.4 test"


def test_the_backup_says_the_photos_in_the_bucket_are_not_in_its_archive(bucket, tmp_path):
    from django.core.management import call_command

    out = io.StringIO()
    call_command("backup", "--dry-run", "--output-dir", str(tmp_path / "backups"), stdout=out)
    assert "0 media files" in out.getvalue()
    assert "not in this archive: back the bucket up" in out.getvalue()


# --- the settings --------------------------------------------------------------------------

def media_settings(tmp_path, **env):
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'storage': s.STORAGES['default'], 'root': str(s.MEDIA_ROOT)}))"
    )
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("MEDIA_", "DATABASE_URL"))}
    full_env.update(DJANGO_SETTINGS_MODULE="qrgate.settings", QRGATE_DATA_DIR=str(tmp_path),
                    QRGATE_ENV_FILE=str(tmp_path / "none.env"), **env)
    return subprocess.run([sys.executable, "-c", code], cwd=BASE, env=full_env, capture_output=True,
                          text=True)


def test_media_default_to_a_folder_and_media_root_moves_it_to_a_shared_one(tmp_path):
    out = media_settings(tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["storage"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    shared = media_settings(tmp_path, MEDIA_ROOT="/mnt/qrgate-media")
    assert json.loads(shared.stdout)["root"] == "/mnt/qrgate-media"


def test_media_storage_s3_reads_the_bucket_endpoint_and_keys_from_the_environment(tmp_path):
    out = media_settings(
        tmp_path, MEDIA_STORAGE="s3", MEDIA_S3_BUCKET="fotos",
        MEDIA_S3_ENDPOINT_URL="http://minio.plant.lan:9000",
        MEDIA_S3_ACCESS_KEY_ID="qrgate", MEDIA_S3_SECRET_ACCESS_KEY="s3cret", MEDIA_S3_PREFIX="/planta1/",
        MEDIA_S3_ADDRESSING_STYLE="path",
    )
    assert out.returncode == 0, out.stderr
    storage = json.loads(out.stdout)["storage"]
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"] | {} == {
        "bucket_name": "fotos", "location": "planta1", "file_overwrite": False, "default_acl": None,
        "querystring_auth": True, "endpoint_url": "http://minio.plant.lan:9000", "access_key": "qrgate",
        "secret_key": "s3cret", "addressing_style": "path",
    }


@pytest.mark.parametrize("env, message", [
    ({"MEDIA_STORAGE": "s3"}, "MEDIA_S3_BUCKET"),
    ({"MEDIA_STORAGE": "ftp"}, "MEDIA_STORAGE must be file or s3"),
])
def test_a_wrong_media_setting_stops_the_start_with_a_clear_message(tmp_path, env, message):
    out = media_settings(tmp_path, **env)
    assert out.returncode != 0 and message in out.stderr
