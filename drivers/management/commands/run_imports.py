"""Run the drivers' imports confirmed on the upload page, in the background.

    manage.py run_imports            # loop forever (systemd: deploy/qrgate-imports.service)
    manage.py run_imports --once     # import what waits now, then exit (cron, tests)

Finished imports older than settings.IMPORT_JOBS_KEEP_DAYS (30) are deleted with their
per-row report: by the loop at start and hourly, and by every --once run.

Every job and its progress live in the database (drivers.ImportJob): the worker can be
stopped or restarted at any time and several may run at once. SIGTERM stops after the
current chunk; the job waits for the next worker, which goes on from that chunk. A job
whose worker was killed is resumed after its heartbeat went stale (importjobs.STALE_SECONDS).
"""

import signal
import threading

from django.core.management.base import BaseCommand

from drivers import importjobs


class Command(BaseCommand):
    help = "Import the confirmed driver files in chunks, with progress (loops; --once for one pass)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Import what waits now, then exit.")
        parser.add_argument("--poll", type=float, default=importjobs.POLL_SECONDS,
                            help="Seconds between polls when idle (default %(default)s).")

    def handle(self, *args, **options):
        if options["once"]:
            jobs = 0
            while (job := importjobs.run_once()) is not None:
                jobs += 1
                self.stdout.write(f"import {job.pk} ({job.filename}): {job.status}, {job.rows_done} rows")
            self.stdout.write(f"{jobs} imports run; {importjobs.prune()} old imports deleted")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"Running the driver imports, polling every {options['poll']} s (SIGTERM stops)")
        importjobs.run(stop, poll=max(options["poll"], 0.05))
        self.stdout.write("Stopped.")
