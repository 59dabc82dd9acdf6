"""Restore an archive made by `manage.py backup` into the configured database and MEDIA_ROOT.

    sudo systemctl stop qrgate
    manage.py restore /var/lib/qrgate/backups/qrgate-20250301-023000.tar.gz --yes
    sudo systemctl start qrgate

ARCHIVE may be `latest` (the newest in settings.BACKUP_DIR). The database is replaced as a
whole (SQLite: the online backup API copies the archived database over the configured one;
PostgreSQL: pg_restore --clean in one transaction), the photos are written into MEDIA_ROOT,
then migrations run so an archive from an older version comes up to date, and the cache is
emptied. Refuses without --yes; refuses when the target already holds gate data (stations,
drivers, movements) or photos unless --force, so a typo cannot wipe a working plant.
An archive of one engine restores only into the same engine. --dry-run checks the
archive, says what it would do, and writes nothing.
"""

import json
import os
import tarfile
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, connections

from qrgate import sharedcache
from qrgate.management import backups


class Command(BaseCommand):
    help = "Restore a backup archive (database and photos). Stop the service first."

    def add_arguments(self, parser):
        parser.add_argument("archive", help="Path of a qrgate-*.tar.gz archive, or 'latest'.")
        parser.add_argument("--yes", action="store_true", help="Really replace the database and photos.")
        parser.add_argument("--force", action="store_true", help="Even when the target already holds data.")
        parser.add_argument("--dry-run", action="store_true", help="Check the archive and say what would happen.")

    def handle(self, *args, archive, yes=False, force=False, dry_run=False, **options):
        path = self._archive_path(archive)
        engine = backups.engine_of(connection.settings_dict)
        media_root = Path(settings.MEDIA_ROOT)
        with tarfile.open(path, "r:gz") as tar:
            manifest, db_member, media = self._check(tar, engine)
            present = self._target_contents(media_root)
            if dry_run:
                self.stdout.write(
                    f"Dry run: {path.name} ({manifest['created_at']}, {engine} database, {len(media)} media "
                    f"files) would replace the database and fill {media_root}; the target now holds "
                    f"{present or 'nothing'}; nothing written."
                )
                return
            if not yes:
                raise CommandError(
                    "Restoring replaces the whole database and writes the photos: run again with --yes "
                    "(stop the service first: systemctl stop qrgate)."
                )
            if present and not force:
                raise CommandError(
                    f"The target is not empty ({present}). Restoring would replace it: add --force if "
                    "that is what you want."
                )
            scratch_parent = media_root.parent if media_root.parent.is_dir() else None
            with tempfile.TemporaryDirectory(prefix=".restore-", dir=scratch_parent) as tmp:
                db_file = os.path.join(tmp, db_member)
                self._extract(tar, db_member, db_file)
                connections.close_all()
                if engine == "sqlite":
                    backups.sqlite_check(db_file)
                    backups.sqlite_copy(db_file, str(connection.settings_dict["NAME"]))
                else:
                    backups.pg_restore(connection.settings_dict, db_file)
            for member, relative in media:
                self._extract(tar, member.name, media_root.joinpath(*relative.parts))

        connections.close_all()
        call_command("migrate", interactive=False, verbosity=0)
        sharedcache.clear()  # cached pages and codes from before the restore are stale
        self.stdout.write(
            f"Restored {path.name} (made {manifest['created_at']}): {self._summary()}, "
            f"{len(media)} media files into {media_root}."
        )

    def _archive_path(self, archive: str) -> Path:
        if archive == "latest":
            found = backups.archives(Path(settings.BACKUP_DIR))
            if not found:
                raise CommandError(f"No backup archive in {settings.BACKUP_DIR}.")
            return found[0]
        path = Path(archive)
        if not path.is_file():
            raise CommandError(f"No such archive: {path}")
        return path

    def _check(self, tar: tarfile.TarFile, engine: str):
        """The manifest, the database member and the media members, or a clear refusal."""
        try:
            manifest = json.load(tar.extractfile(backups.MANIFEST))
        except (KeyError, TypeError, ValueError) as exc:
            raise CommandError(f"Not a QRGate backup archive (no valid {backups.MANIFEST}).") from exc
        if manifest.get("format") != backups.FORMAT:
            raise CommandError(f"Unknown archive format {manifest.get('format')!r}.")
        if manifest.get("engine") != engine:
            raise CommandError(
                f"This archive holds a {manifest.get('engine')} database; the configured database is "
                f"{engine}. Restore it into the same kind of database."
            )
        db_member = backups.DB_MEMBERS[engine]
        media, names = [], set()
        for member in tar.getmembers():
            names.add(member.name)
            if member.name in (backups.MANIFEST, db_member):
                continue
            relative = backups.safe_media_name(member.name)
            if relative is None or not (member.isfile() or member.isdir()):
                raise CommandError(f"Refusing an archive with an unexpected entry: {member.name!r}")
            if member.isfile():
                media.append((member, relative))
        if db_member not in names:
            raise CommandError(f"The archive has no {db_member}.")
        return manifest, db_member, media

    def _target_contents(self, media_root: Path) -> str:
        """What the target already holds, in words ('' when empty). The admin alone does not count."""
        from drivers.models import Driver, Movement
        from stations.models import Station

        found = []
        try:
            for model, label in ((Station, "stations"), (Driver, "drivers"), (Movement, "movements")):
                count = model.objects.count()
                if count:
                    found.append(f"{count} {label}")
        except DatabaseError:  # tables not created yet: an empty database
            connections.close_all()
        photos = len(backups.media_files(media_root))
        if photos:
            found.append(f"{photos} media files")
        return ", ".join(found)

    def _extract(self, tar: tarfile.TarFile, name: str, target) -> None:
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        source = tar.extractfile(name)
        tmp = target.with_name(f".{target.name}.restoring")
        with source, open(tmp, "wb") as out:
            while chunk := source.read(1024 * 1024):
                out.write(chunk)
        os.chmod(tmp, 0o640)
        os.replace(tmp, target)

    def _summary(self) -> str:
        from drivers.models import Driver, Movement

        return f"{Driver.objects.count()} drivers, {Movement.objects.count()} movements"
