"""The shared cache: `migrate` creates its table, and a failing cache never breaks a page."""

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from drivers.models import Driver
from drivers.services import record_scan

ROOT = Path(__file__).resolve().parents[2]
CSV = "nombre;licencia;empresa\nAna Prueba;LIC-900;Fletes\n".encode()


def plain_env(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "QRGATE_ENV_FILE")}
    env.update(QRGATE_DATA_DIR=str(data_dir), QRGATE_ENV_FILE=str(data_dir / "none.env"))
    return env


def test_a_plain_migrate_creates_the_cache_table_and_can_undo_it(tmp_path):
    env = plain_env(tmp_path)
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    database = tmp_path / "qrgate.sqlite3"
    tables = {row[0] for row in sqlite3.connect(database).execute("SELECT name FROM sqlite_master")}
    assert "qrgate_cache" in tables
    subprocess.run([sys.executable, "manage.py", "migrate", "qrgate", "zero", "-v0"], cwd=ROOT, env=env, check=True)
    tables = {row[0] for row in sqlite3.connect(database).execute("SELECT name FROM sqlite_master")}
    assert "qrgate_cache" not in tables


@pytest.fixture
def broken_cache(db):
    """The cache's table is gone (a database set up without it): every cache call fails."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE qrgate_cache")


def test_the_dashboard_counts_without_a_cache(sup, make_driver, stations, caseta, broken_cache):
    a, b = make_driver(), make_driver()
    record_scan(code=a.badge_code, station=stations["entry"], operator=caseta)
    record_scan(code=b.badge_code, station=stations["entry"], operator=caseta)
    record_scan(code=b.badge_code, station=stations["exit"], operator=caseta)
    response = sup.get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'id="fig-inside">1<', html) and re.search(r'id="fig-entries">2<', html)


def test_the_import_says_it_cannot_keep_the_file_instead_of_failing(client, administrador, broken_cache):
    administrador.language = "en"
    administrador.save()
    client.force_login(administrador)
    url = reverse("drivers:import")
    response = client.post(url, {"file": SimpleUploadedFile("c.csv", CSV, "text/csv")})
    assert response.status_code == 200
    assert response.context["token"] is None
    assert "could not be kept" in response.content.decode()
    assert client.post(url, {"token": "a" * 32}).status_code == 200  # "expired", not a 500
    assert not Driver.objects.exists()
