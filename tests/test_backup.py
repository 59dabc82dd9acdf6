"""Backups: `manage.py backup` / `manage.py restore`, and the production settings' deploy check."""

import hashlib
import io
import json
import os
import secrets
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from PIL import Image

from drivers import photos
from drivers.models import Driver, Movement
from drivers.services import record_scan

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def noisy_jpeg(seed: int) -> bytes:
    image = Image.effect_noise((320, 240), 40 + seed % 50).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90)
    return out.getvalue()


def with_photo(driver, seed):
    photos.store(driver, photos.process(noisy_jpeg(seed)))
    driver.save()
    return driver


def fresh_target(tmp_path, name):
    """Environment for a manage.py subprocess on a new, empty database and media folder."""
    folder = tmp_path / name
    folder.mkdir()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "QRGATE_ENV_FILE": str(folder / "none.env"),
        "QRGATE_DATA_DIR": str(folder),
        "MEDIA_ROOT": str(folder / "media"),
        "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
    }
    return folder, env


def manage(env, *args):
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


@pytest.fixture
def fresh_database(tmp_path):
    """A second, empty database of the same engine as the test database, and its environment."""
    folder, env = fresh_target(tmp_path, "fresh")
    if connection.vendor != "postgresql":
        yield folder, env
        return
    name = connection.settings_dict["NAME"] + "_restore"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    s = connection.settings_dict
    env["DATABASE_URL"] = f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"
    yield folder, env
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.django_db(transaction=True)
def test_backup_then_restore_into_a_fresh_database_gives_back_every_driver_movement_and_photo(
    settings, media_root, tmp_path, stations, caseta, make_driver, fresh_database
):
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    drivers = [with_photo(make_driver(), seed) for seed in range(30)]
    for driver in drivers:
        assert record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta).accepted
    before_backup = set(Movement.objects.values_list("pk", flat=True))

    # A booth keeps scanning at the two-way gate (alternating OUT and IN) the whole time.
    stop, started, scans = threading.Event(), threading.Event(), [0]

    def booth():
        try:
            while not stop.is_set():
                for driver in drivers:
                    result = record_scan(code=driver.badge_code, station=stations["gate"], operator=caseta)
                    assert result.accepted, result.reason
                    scans[0] += 1
                    started.set()
                    if stop.is_set():
                        break
        finally:
            connection.close()

    thread = threading.Thread(target=booth)
    thread.start()
    try:
        assert started.wait(10)
        during = scans[0]
        out = io.StringIO()
        call_command("backup", output_dir=str(tmp_path / "backups"), stdout=out)
        during = scans[0] - during
    finally:
        stop.set()
        thread.join(30)
    assert during > 0, "no scan was recorded while the backup ran"
    assert out.getvalue().startswith("Backup ")
    (archive,) = (tmp_path / "backups").glob("qrgate-*.tar.gz")

    folder, env = fresh_database
    restored_out = manage(env, "restore", str(archive), "--yes")
    assert "Restored" in restored_out
    dump = json.loads(manage(env, "dumpdata", "drivers.driver", "drivers.movement", "drivers.visit"))
    restored = {(row["model"], row["pk"]): row["fields"] for row in dump}

    # Every driver, with his badge and photo names.
    for driver in drivers:
        fields = restored[("drivers.driver", driver.pk)]
        assert (fields["badge_code"], fields["photo"], fields["photo_thumb"]) == (
            driver.badge_code, driver.photo.name, driver.photo_thumb.name,
        )
    # Every movement made before the backup, and a consistent snapshot of those made during it:
    # the restored movements are exactly the first N of the source, field for field.
    restored_movements = {pk for model, pk in restored if model == "drivers.movement"}
    assert before_backup <= restored_movements
    source = {m.pk: m for m in Movement.objects.filter(pk__in=restored_movements)}
    assert set(source) == restored_movements
    assert restored_movements == set(
        Movement.objects.filter(pk__lte=max(restored_movements)).values_list("pk", flat=True)
    )
    for pk in restored_movements:
        fields, movement = restored[("drivers.movement", pk)], source[pk]
        assert (fields["driver"], fields["station"], fields["direction"]) == (
            movement.driver_id, movement.station_id, movement.direction,
        )
    # Who was inside at that moment agrees with the restored movements: one open visit per
    # driver exactly when his last restored movement is an entry.
    open_visits = {f["driver"] for (model, _), f in restored.items() if model == "drivers.visit" and not f["left_at"]}
    last = {}
    for pk in sorted(restored_movements):
        last[source[pk].driver_id] = source[pk].direction
    assert open_visits == {d for d, direction in last.items() if direction == "in"}
    # Every photo and thumbnail, byte for byte.
    for driver in drivers:
        for name in (driver.photo.name, driver.photo_thumb.name):
            original = hashlib.sha256((media_root / name).read_bytes()).hexdigest()
            copy = hashlib.sha256((folder / "media" / name).read_bytes()).hexdigest()
            assert copy == original, name


@pytest.mark.django_db
def test_backup_keeps_only_the_newest_archives_and_dry_run_writes_nothing(media_root, tmp_path, driver):
    folder = tmp_path / "backups"
    out = io.StringIO()
    call_command("backup", output_dir=str(folder), dry_run=True, stdout=out)
    assert "Dry run" in out.getvalue() and not folder.exists()

    for _ in range(3):
        call_command("backup", output_dir=str(folder), keep=2, stdout=io.StringIO())
    kept = sorted(p.name for p in folder.iterdir())
    assert len(kept) == 2 and all(name.startswith("qrgate-") and name.endswith(".tar.gz") for name in kept)
    assert oct(os.stat(folder / kept[0]).st_mode & 0o777) == "0o600"  # it holds password hashes

    out = io.StringIO()
    call_command("backup", output_dir=str(folder), keep=1, dry_run=True, stdout=out)
    assert "delete 2 old archive(s)" in out.getvalue()
    assert sorted(p.name for p in folder.iterdir()) == kept


@pytest.fixture
def archive(media_root, tmp_path, driver):
    with_photo(driver, 1)
    call_command("backup", output_dir=str(tmp_path / "backups"), stdout=io.StringIO())
    return next((tmp_path / "backups").glob("qrgate-*.tar.gz"))


@pytest.mark.django_db
def test_restore_refuses_without_yes_and_changes_nothing(archive, driver):
    Driver.objects.filter(pk=driver.pk).update(full_name="Changed after the backup")
    with pytest.raises(CommandError, match="--yes"):
        call_command("restore", str(archive), stdout=io.StringIO())
    driver.refresh_from_db()
    assert driver.full_name == "Changed after the backup"


@pytest.mark.django_db
def test_restore_refuses_a_target_that_holds_data_without_force(archive, driver):
    with pytest.raises(CommandError, match="not empty.*1 drivers.*--force"):
        call_command("restore", str(archive), yes=True, stdout=io.StringIO())
    assert Driver.objects.count() == 1


@pytest.mark.django_db
def test_restore_dry_run_describes_the_archive_and_writes_nothing(archive, media_root):
    before = sorted(p.name for p in media_root.rglob("*"))
    out = io.StringIO()
    call_command("restore", str(archive), dry_run=True, stdout=out)
    assert "Dry run" in out.getvalue() and "2 media files" in out.getvalue()
    assert sorted(p.name for p in media_root.rglob("*")) == before


@pytest.mark.django_db
def test_restore_refuses_an_archive_that_would_write_outside_the_media_folder(archive, tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(archive) as good, tarfile.open(evil, "w:gz") as bad:
        for member in good.getmembers():
            bad.addfile(member, good.extractfile(member))
        payload = b"owned"
        info = tarfile.TarInfo("media/../../escaped.txt")
        info.size = len(payload)
        bad.addfile(info, io.BytesIO(payload))
    with pytest.raises(CommandError, match="unexpected entry"):
        call_command("restore", str(evil), yes=True, force=True, stdout=io.StringIO())
    assert not (tmp_path / "escaped.txt").exists()


def production_env(tmp_path, **overrides) -> Path:
    """deploy/qrgate.env.example filled in as install.sh fills it in."""
    values = {
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "192.168.1.50,qrgate,localhost,127.0.0.1,[::1]",
        "SECURE_HTTPS": "true",
        "SECURE_SSL_HOST": "192.168.1.50",
        "QRGATE_DATA_DIR": str(tmp_path / "data"),
        **overrides,
    }
    lines = []
    for line in (ROOT / "deploy" / "qrgate.env.example").read_text().splitlines():
        key = line.split("=", 1)[0]
        lines.append(f"{key}={values.pop(key)}" if "=" in line and key in values else line)
    lines += [f"{key}={value}" for key, value in values.items()]
    path = tmp_path / "qrgate.env"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_check_deploy_reports_nothing_with_the_production_env_file(tmp_path):
    env_file = production_env(tmp_path)
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, capture_output=True, text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "QRGATE_ENV_FILE": str(env_file)},
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert "no issues" in done.stdout
