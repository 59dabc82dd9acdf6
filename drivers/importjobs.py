"""Import jobs: a checked file is imported off the request by the import worker.

The upload page checks the file (importing.parse, well under two seconds for the 50 000
rows allowed) and, once confirmed, start_import() stores the file in an ImportJob. The
worker (manage.py run_imports; deploy/qrgate-imports.service) claims the job with a
compare-and-set UPDATE (no lock held while idle: on SQLite its poll is two reads) and
writes CHUNK_ROWS rows per transaction, each commit carrying the rows done, the counts,
the chunk's part of the per-row report and a heartbeat. A job whose heartbeat is older than
STALE_SECONDS lost its worker: the next worker resumes it after the last committed chunk,
and after MAX_ATTEMPTS runs it is marked failed with a message. Nothing lives in one
process's memory, so any app server shows the progress and any worker may resume.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import importing
from .models import ImportJob, ImportJobReport

log = logging.getLogger("qrgate.imports")

CHUNK_ROWS = 500  # one transaction: about 0.1 s of SQLite's write lock for new drivers
STALE_SECONDS = 120  # no chunk committed for this long: the worker died
MAX_ATTEMPTS = 3
POLL_SECONDS = 1.0
PRUNE_EVERY_SECONDS = 3600

Status = ImportJob.Status


class LostClaim(Exception):
    """Another worker took the job over (this one was taken for dead)."""


def start_import(*, data: bytes, filename: str, total_rows: int, by) -> ImportJob:
    """Queue the import of a checked file (`total_rows` data rows) for the worker."""
    return ImportJob.objects.create(
        created_by=by if by is not None and by.is_authenticated else None,
        filename=filename[:255], data=data, total_rows=total_rows,
    )


def _language(job: ImportJob) -> str:
    """The texts the worker stores (row reasons, errors) in the language of whoever uploaded."""
    return getattr(job.created_by, "language", "") or translation.get_language() or settings.LANGUAGE_CODE


def _stale(now) -> Q:
    return Q(status=Status.RUNNING, heartbeat_at__lt=now - timedelta(seconds=STALE_SECONDS))


def has_work(now=None) -> bool:
    """The worker's idle poll: one indexed read, no write transaction."""
    now = now or timezone.now()
    return ImportJob.objects.filter(Q(status=Status.QUEUED) | _stale(now)).exists()


def claim(now=None) -> tuple[ImportJob, str] | None:
    """The oldest job waiting, or running without a heartbeat, claimed for this process.

    Compare-and-set on (status, worker): of two workers taking the same job, one updates a
    row and the other none. A job that already had MAX_ATTEMPTS runs is failed instead.
    """
    now = now or timezone.now()
    for job in ImportJob.objects.filter(Q(status=Status.QUEUED) | _stale(now)).order_by("created_at")[:5]:
        same = ImportJob.objects.filter(pk=job.pk, status=job.status, worker=job.worker)
        if job.attempts >= MAX_ATTEMPTS:
            with translation.override(_language(job)):
                error = _("The import stopped %(n)d times before the end (its worker was stopped). "
                          "%(done)d of %(total)d rows were imported; upload the file again to import "
                          "the rest: the rows already imported are not duplicated.") % {
                    "n": job.attempts, "done": job.rows_done, "total": job.total_rows}
            same.update(status=Status.FAILED, finished_at=now, data=b"", worker="", error=error)
            continue
        token = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"
        if same.update(status=Status.RUNNING, worker=token, attempts=F("attempts") + 1, heartbeat_at=now,
                       started_at=job.started_at or now, run_started_at=now, run_rows_start=F("rows_done")):
            if job.status == Status.RUNNING:
                log.warning("import %s: its worker stopped at row %d; resuming", job.pk, job.rows_done)
            return ImportJob.objects.get(pk=job.pk), token
    return None


def steps(job: ImportJob, token: str) -> Iterator[int]:
    """Import the claimed job's rows after those already done, one chunk per step; yields
    the rows done after each committed chunk (tests step it to see the progress move)."""
    try:
        report = importing.parse(bytes(job.data), job.filename)
    except importing.ImportFileError as error:  # the file was checked: only a change of rules
        _finish(job, token, status=Status.FAILED, error=str(error))
        return
    rows = report.rows
    by = job.created_by
    done = job.rows_done
    while done < len(rows):
        chunk = rows[done : done + CHUNK_ROWS]
        try:
            with transaction.atomic():
                _lock(job, token, done)
                importing.apply_rows(chunk, by=by)
                counts = {a: sum(1 for r in chunk if r.action == a) for a in
                          (importing.Action.CREATE, importing.Action.UPDATE,
                           importing.Action.UNCHANGED, importing.Action.REFUSE)}
                ImportJobReport.objects.create(job_id=job.pk, first_row=done, rows=[
                    [r.row, r.action, r.license_number, r.full_name, r.reason] for r in chunk])
                ImportJob.objects.filter(pk=job.pk).update(
                    rows_done=done + len(chunk), total_rows=len(rows), heartbeat_at=timezone.now(),
                    created=F("created") + counts[importing.Action.CREATE],
                    updated=F("updated") + counts[importing.Action.UPDATE],
                    unchanged=F("unchanged") + counts[importing.Action.UNCHANGED],
                    refused=F("refused") + counts[importing.Action.REFUSE],
                )
        except importing.ImportFileError as error:
            _finish(job, token, status=Status.FAILED, error=str(error))
            return
        done += len(chunk)
        yield done
    _finish(job, token, status=Status.DONE)


def _lock(job: ImportJob, token: str, done: int) -> None:
    # Inside the chunk's transaction: still ours, and no chunk written twice.
    if not ImportJob.objects.select_for_update().filter(pk=job.pk, worker=token, rows_done=done).exists():
        raise LostClaim(job.pk)


def _finish(job: ImportJob, token: str, *, status: str, error: str = "") -> None:
    ImportJob.objects.filter(pk=job.pk, worker=token).update(
        status=status, error=error, finished_at=timezone.now(), heartbeat_at=timezone.now(), data=b"", worker="",
        total_rows=F("rows_done") if status == Status.DONE else F("total_rows"),
    )


def run_job(job: ImportJob, token: str, stop: threading.Event | None = None) -> None:
    with translation.override(_language(job)):
        _run_job(job, token, stop)


def _run_job(job: ImportJob, token: str, stop: threading.Event | None) -> None:
    try:
        for _done in steps(job, token):
            if stop is not None and stop.is_set():  # SIGTERM: the next worker goes on from here
                ImportJob.objects.filter(pk=job.pk, worker=token).update(status=Status.QUEUED, worker="")
                return
    except LostClaim:
        log.warning("import %s: taken over by another worker", job.pk)
    except Exception as exc:  # noqa: BLE001 - the job says why; the worker goes on
        log.exception("import %s failed", job.pk)
        _finish(job, token, status=Status.FAILED, error=_("The import failed: %(error)s") % {"error": exc})


def run_once(stop: threading.Event | None = None) -> ImportJob | None:
    """Claim one job and import it to the end. Returns the job, or None when none waits."""
    if not has_work():
        return None
    claimed = claim()
    if claimed is None:
        return None
    run_job(*claimed, stop)
    return ImportJob.objects.get(pk=claimed[0].pk)


def prune(now=None) -> int:
    """Delete the imports finished more than IMPORT_JOBS_KEEP_DAYS ago, their per-row report
    with them (the file itself was emptied when each ended); returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.IMPORT_JOBS_KEEP_DAYS)
    _total, by_model = ImportJob.objects.filter(
        status__in=[Status.DONE, Status.FAILED], finished_at__lt=cutoff).delete()
    deleted = by_model.get(ImportJob._meta.label, 0)  # their report parts went with them
    if deleted:
        log.info("imports: %d finished before %s deleted", deleted, cutoff.date())
    return deleted


def run(stop: threading.Event, *, poll: float = POLL_SECONDS) -> None:
    """Loop until `stop` is set, surviving a database that goes away for a while; old
    finished imports are pruned at the start and then hourly."""
    pruned_at = None
    while not stop.is_set():
        try:
            close_old_connections()
            if pruned_at is None or (timezone.now() - pruned_at).total_seconds() > PRUNE_EVERY_SECONDS:
                pruned_at = timezone.now()
                prune(pruned_at)
            job = run_once(stop)
        except DatabaseError:
            log.exception("imports: database error; retrying in 5 s")
            stop.wait(5)
            continue
        if job is None:
            stop.wait(poll)
        else:
            log.info("import %s (%s): %s, %d rows", job.pk, job.filename, job.status, job.rows_done)
