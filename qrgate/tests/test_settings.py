"""Settings come from the environment with safe defaults."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE = Path(__file__).resolve().parents[2]


def settings_in(tmp_path, **env):
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'key': s.SECRET_KEY, 'debug': s.DEBUG, 'engine': s.DATABASES['default']['ENGINE'],"
        " 'name': str(s.DATABASES['default']['NAME']), 'tz': s.TIME_ZONE, 'lang': s.LANGUAGE_CODE,"
        " 'opts': s.DATABASES['default'].get('OPTIONS', {})}))"
    )
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY", "DEBUG")}
    full_env.update(DJANGO_SETTINGS_MODULE="qrgate.settings", QRGATE_DATA_DIR=str(tmp_path),
                    QRGATE_ENV_FILE=str(tmp_path / "none.env"), **env)
    out = subprocess.run([sys.executable, "-c", code], cwd=BASE, env=full_env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def test_defaults_are_safe_sqlite_in_the_data_folder_spanish_and_mexico_city(tmp_path):
    s = settings_in(tmp_path)
    assert s["debug"] is False
    assert s["engine"] == "django.db.backends.sqlite3" and s["name"].startswith(str(tmp_path))
    assert s["tz"] == "America/Mexico_City" and s["lang"] == "es"
    assert s["opts"]["transaction_mode"] == "IMMEDIATE" and s["opts"]["timeout"] == 20
    assert s["opts"]["init_command"] == "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"


def test_the_secret_key_is_generated_once_and_kept(tmp_path):
    first = settings_in(tmp_path)["key"]
    assert len(first) >= 50 and (tmp_path / "secret_key").exists()
    assert settings_in(tmp_path)["key"] == first
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_database_url_selects_postgresql(tmp_path):
    s = settings_in(tmp_path, DATABASE_URL="postgres://u:p@db.example:5432/qrgate")
    assert s["engine"] == "django.db.backends.postgresql"
    # Threaded workers: Django's own pool caps a process's connections (no persistent ones).
    assert s["opts"]["pool"] == {"min_size": 1, "max_size": 8, "timeout": 20}


def test_a_short_secret_key_is_refused_in_production(tmp_path):
    with pytest.raises(AssertionError, match="too short"):
        settings_in(tmp_path, SECRET_KEY="short")


def hosts_in(tmp_path, **env):
    code = ("import django, json; django.setup(); from django.conf import settings as s; "
            "print(json.dumps([s.PUBLIC_URL, s.ALLOWED_HOSTS, s.CSRF_TRUSTED_ORIGINS]))")
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "ALLOWED_HOSTS", "PUBLIC_URL")}
    full_env.update(DJANGO_SETTINGS_MODULE="qrgate.settings", QRGATE_DATA_DIR=str(tmp_path),
                    QRGATE_ENV_FILE=str(tmp_path / "none.env"), **env)
    out = subprocess.run([sys.executable, "-c", code], cwd=BASE, env=full_env, capture_output=True, text=True)
    return out


def test_public_url_narrows_the_allowed_hosts_to_its_host_and_this_machine(tmp_path):
    import json

    public, hosts, origins = json.loads(hosts_in(tmp_path, PUBLIC_URL="https://gate.plant.lan/").stdout)
    assert public == "https://gate.plant.lan"
    assert hosts == ["gate.plant.lan", "localhost", "127.0.0.1", "[::1]"]
    assert origins == ["https://gate.plant.lan"]


def test_without_public_url_make_run_answers_any_address_of_the_lan(tmp_path):
    import json

    public, hosts, _ = json.loads(hosts_in(tmp_path, PUBLIC_URL="").stdout)
    assert public == "" and hosts == ["*"]


def test_allowed_hosts_set_explicitly_wins_over_public_url(tmp_path):
    import json

    _, hosts, _ = json.loads(hosts_in(tmp_path, PUBLIC_URL="https://gate.plant.lan", ALLOWED_HOSTS="a.lan,b.lan").stdout)
    assert hosts == ["a.lan", "b.lan"]


@pytest.mark.parametrize("bad", ["gate.plant.lan", "ftp://gate.plant.lan", "https://gate.plant.lan/qrgate"])
def test_a_public_url_that_is_not_an_origin_refuses_to_start(tmp_path, bad):
    out = hosts_in(tmp_path, PUBLIC_URL=bad)
    assert out.returncode != 0 and "PUBLIC_URL" in out.stderr
