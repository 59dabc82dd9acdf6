"""Back up the database and the photos into one archive, while the gate keeps working.

    manage.py backup [--output-dir DIR] [--keep N] [--dry-run]

Writes DIR/qrgate-YYYYMMDD-HHMMSS.tar.gz (default DIR: settings.BACKUP_DIR) holding a
consistent online copy of the database (SQLite: the online backup API, checked with
`PRAGMA integrity_check`; PostgreSQL: pg_dump in custom format), then every file of
MEDIA_ROOT, then deletes the oldest archives beyond N (default settings.BACKUP_KEEP;
0 keeps all). The database is copied first, so every photo its drivers refer to is in
the archive. The archive appears only when complete (written under a temporary name,
then renamed), mode 0600: it holds password hashes. --dry-run says what would be written
and deleted, and writes nothing. Run nightly by deploy/qrgate-backup.timer; restore with
`manage.py restore`.
"""

import io
import json
import os
import tarfile
import tempfile
from datetime import datetime, timezone as dt_timezone
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from qrgate.management import backups


class Command(BaseCommand):
    help = "Back up the database and the photos into one timestamped archive, keeping the newest N."

    def add_arguments(self, parser):
        parser.add_argument("--output-dir", help="Folder for the archives (default: settings.BACKUP_DIR).")
        parser.add_argument("--keep", type=int, help="Archives to keep (default: settings.BACKUP_KEEP; 0 = all).")
        parser.add_argument("--dry-run", action="store_true", help="Say what would be written and deleted.")

    def handle(self, *args, output_dir=None, keep=None, dry_run=False, **options):
        folder = Path(output_dir or settings.BACKUP_DIR)
        keep = settings.BACKUP_KEEP if keep is None else keep
        if keep < 0:
            raise CommandError("--keep must be 0 (keep all) or more.")
        engine = backups.engine_of(connection.settings_dict)
        target = self._new_name(folder)

        if dry_run:
            media = self._media()
            doomed = self._expired(folder, keep, pending=1)
            self.stdout.write(
                f"Dry run: would write {target} ({engine} database, {len(media)} media files) "
                f"and delete {len(doomed)} old archive(s); nothing written.{self._remote_note()}"
            )
            return

        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".backup-", dir=folder) as tmp:
            db_member = backups.DB_MEMBERS[engine]
            db_copy = os.path.join(tmp, db_member)
            if engine == "sqlite":
                backups.sqlite_copy(str(connection.settings_dict["NAME"]), db_copy)
                backups.sqlite_check(db_copy)
            else:
                backups.pg_dump(connection.settings_dict, db_copy)
            db_size = os.path.getsize(db_copy)
            # Photos listed after the database snapshot: every photo it refers to is on disk.
            media = self._media()
            partial = folder / f".{target.name}.partial"
            try:
                written = self._write(partial, db_copy, db_member, engine, media)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)

        removed = self._expired(folder, keep)
        for old in removed:
            old.unlink(missing_ok=True)
        self.stdout.write(
            f"Backup {target}: {engine} database ({backups.human_size(db_size)}), {written} media files, "
            f"archive {backups.human_size(target.stat().st_size)}; "
            f"{len(removed)} old archive(s) deleted, {len(backups.archives(folder))} kept."
            f"{self._remote_note()}"
        )

    @staticmethod
    def _remote() -> bool:
        return settings.STORAGES["default"]["BACKEND"] != "django.core.files.storage.FileSystemStorage"

    def _media(self):
        return [] if self._remote() else backups.media_files(Path(settings.MEDIA_ROOT))

    def _remote_note(self) -> str:
        if not self._remote():
            return ""
        return (" The photos and documents are in the media storage's bucket (MEDIA_STORAGE=s3), not in "
                "this archive: back the bucket up on its side (versioning or replication).")

    def _new_name(self, folder: Path) -> Path:
        stamp = datetime.now(dt_timezone.utc).astimezone().strftime("%Y%m%d-%H%M%S")
        target = folder / f"{backups.PREFIX}{stamp}{backups.SUFFIX}"
        n = 1
        while target.exists():  # two backups in one second
            n += 1
            target = folder / f"{backups.PREFIX}{stamp}-{n}{backups.SUFFIX}"
        return target

    def _expired(self, folder: Path, keep: int, pending: int = 0) -> list[Path]:
        if keep == 0:
            return []
        return backups.archives(folder)[max(keep - pending, 0):]

    def _write(self, path: Path, db_copy: str, db_member: str, engine: str, media) -> int:
        manifest = {
            "format": backups.FORMAT,
            "created_at": datetime.now(dt_timezone.utc).isoformat(),
            "engine": engine,
            "database": db_member,
            "media_files": len(media),
            "plant": settings.PLANT_NAME,
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        written = 0
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                data = json.dumps(manifest, indent=2).encode()
                info = tarfile.TarInfo(backups.MANIFEST)
                info.size, info.mtime, info.mode = len(data), int(datetime.now().timestamp()), 0o600
                tar.addfile(info, io.BytesIO(data))
                tar.add(db_copy, arcname=db_member, recursive=False)
                for file_path, name in media:
                    try:
                        tar.add(file_path, arcname=name, recursive=False)
                    except FileNotFoundError:  # deleted since it was listed: not in the snapshot either
                        continue
                    written += 1
            raw.flush()
            os.fsync(raw.fileno())
        return written
