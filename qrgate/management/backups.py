"""What `manage.py backup` and `manage.py restore` share: the archive's layout and the
database tools (SQLite's online backup API, PostgreSQL's pg_dump / pg_restore).

An archive is one gzip'd tar:

    manifest.json       {"format": 1, "created_at": ..., "engine": "sqlite"|"postgresql", ...}
    database.sqlite3    SQLite: a page-by-page snapshot taken with the online backup API
    database.dump       PostgreSQL: pg_dump --format=custom (one consistent snapshot)
    media/...           the photos (MEDIA_ROOT)
"""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path, PurePosixPath

from django.core.management.base import CommandError

FORMAT = 1
PREFIX = "qrgate-"
SUFFIX = ".tar.gz"
MANIFEST = "manifest.json"
MEDIA_DIR = "media"
DB_MEMBERS = {"sqlite": "database.sqlite3", "postgresql": "database.dump"}


def engine_of(settings_dict) -> str:
    engine = settings_dict["ENGINE"]
    if engine.endswith("sqlite3"):
        return "sqlite"
    if engine.endswith("postgresql"):
        return "postgresql"
    raise CommandError(f"Backups support SQLite and PostgreSQL, not {engine}.")


def archives(folder: Path) -> list[Path]:
    """The backup archives in `folder`, newest first."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob(f"{PREFIX}*{SUFFIX}") if p.is_file()]
    return sorted(found, key=lambda p: (p.stat().st_mtime, p.name), reverse=True)


def media_files(media_root: Path):
    """(path, name inside the archive) of every file under MEDIA_ROOT, in a stable order."""
    if not media_root.is_dir():
        return []
    found = []
    for folder, dirs, files in os.walk(media_root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                found.append((path, str(PurePosixPath(MEDIA_DIR, path.relative_to(media_root).as_posix()))))
    return found


def safe_media_name(name: str) -> PurePosixPath | None:
    """The path under MEDIA_ROOT for an archive member, or None when it would leave it."""
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or len(path.parts) < 2 or path.parts[0] != MEDIA_DIR:
        return None
    return PurePosixPath(*path.parts[1:])


# --- SQLite -----------------------------------------------------------------------------------


def sqlite_copy(source: str, target: str) -> None:
    """Copy database `source` into `target` with SQLite's online backup API.

    One step (pages=-1) is one read transaction on the source: the copy is a consistent
    snapshot, and in WAL mode the gate's writers go on while it is taken (a file copy of a
    live database could tear a page or miss the WAL).
    """
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst, pages=-1)
        finally:
            dst.close()
    finally:
        src.close()


def sqlite_check(path: str) -> None:
    """Refuse a copy that SQLite itself does not find sound; leave it self-contained (no WAL)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
    if result != "ok":
        raise CommandError(f"The database copy failed SQLite's integrity check: {result}")


# --- PostgreSQL -------------------------------------------------------------------------------


def _pg_env(settings_dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if settings_dict.get(key):
            env[var] = str(settings_dict[key])
    options = settings_dict.get("OPTIONS") or {}
    for key, var in (("sslmode", "PGSSLMODE"), ("sslrootcert", "PGSSLROOTCERT")):
        if options.get(key):
            env[var] = str(options[key])
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise CommandError(f"{name} is missing: sudo apt-get install postgresql-client")
    return path


def _run(cmd: list[str], env: dict) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise CommandError(f"{Path(cmd[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}")


def pg_dump(settings_dict, target: str) -> None:
    """pg_dump in custom format: one transaction, so one consistent snapshot while scans go on."""
    _run(
        [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
         "--file", target, "--dbname", settings_dict["NAME"]],
        _pg_env(settings_dict),
    )


def pg_restore(settings_dict, source: str) -> None:
    """Load a custom-format dump: tables in the dump are dropped and recreated, all or nothing."""
    _run(
        [_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
         "--single-transaction", "--exit-on-error", "--dbname", settings_dict["NAME"], source],
        _pg_env(settings_dict),
    )


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
