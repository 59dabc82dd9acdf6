"""Import `--rows` drivers from a CSV: through the import worker (the way the upload page
does it now) or in one call as the upload request used to. Time, rows/s, peak memory.

    QRGATE_DATA_DIR=bench/out/imports .venv/bin/python bench/imports.py --mode worker --rows 10000
    QRGATE_DATA_DIR=bench/out/imports .venv/bin/python bench/imports.py --mode request --rows 10000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/qrgate_bench_imports .venv/bin/python bench/imports.py ...

One import per process, so ru_maxrss is this import's peak (`rss_before_mb` is the process
before the file is parsed). The database is migrated if needed and its drivers and import
jobs deleted first, so every run creates all its rows (the first 1 % already registered
with another company, so updated). Modes:

- worker: importjobs.start_import then the worker's loop (claim, chunks of CHUNK_ROWS rows,
  each its own transaction with its progress); also `first_progress_s`, when the page can
  first show rows done.
- request: importing.import_drivers(dry_run=False), everything in one transaction, as the
  confirmation request ran it before the worker.
- check: the dry run the upload page still runs in its request before the confirmation.

Prints one JSON object; `cpu_s` is this process's CPU time (the database server's is not in it).
"""

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qrgate.settings")
os.environ.setdefault("STATICFILES_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage")


def rss_mb(kind="peak") -> float:
    if kind == "peak":
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def drivers_csv(rows: int) -> bytes:
    lines = ["nombre;licencia;empresa;telefono"]
    lines += [f"Chofer {i};LIC{i:07d};Empresa {i % 9};81{i:08d}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["worker", "request", "check"], default="worker")
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from drivers import importing, importjobs
    from drivers.models import Driver, ImportJob

    Driver.objects.all().delete()
    ImportJob.objects.all().delete()
    Driver.objects.bulk_create(
        Driver(full_name=f"Chofer {i}", license_number=f"LIC{i:07d}", company="Vieja")
        for i in range(0, args.rows, 100)
    )
    data = drivers_csv(args.rows)

    before = rss_mb("current")
    cpu_started = time.process_time()
    started = time.perf_counter()
    first_progress = None
    chunks = []  # seconds per chunk: each is one write transaction (SQLite's lock held)
    if args.mode == "worker":
        job = importjobs.start_import(data=data, filename="bench.csv", total_rows=args.rows, by=None)
        claimed, token = importjobs.claim()
        mark = None
        for _done in importjobs.steps(claimed, token):
            now = time.perf_counter()
            if first_progress is None:
                first_progress = now - started
            else:
                chunks.append(now - mark)
            mark = now
        job.refresh_from_db()
        counts = (job.status, job.created, job.updated, job.refused)
    else:
        report = importing.import_drivers(data, filename="bench.csv", dry_run=args.mode == "check")
        counts = ("dry run" if args.mode == "check" else "done", report.created, report.updated, report.refused)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if args.mode != "check":
        assert Driver.objects.count() == args.rows, Driver.objects.count()

    print(json.dumps({
        "mode": args.mode, "database": connection.vendor, "rows": args.rows,
        "chunk_rows": importjobs.CHUNK_ROWS if args.mode == "worker" else None,
        "seconds": round(elapsed, 2), "rows_per_s": round(args.rows / elapsed),
        "cpu_s": round(cpu, 2),
        "first_progress_s": None if first_progress is None else round(first_progress, 2),
        "chunk_s_first_last_max": [round(chunks[0], 3), round(chunks[-1], 3), round(max(chunks), 3)] if chunks else None,
        "rss_before_mb": round(before, 1), "peak_rss_mb": round(rss_mb(), 1),
        "status_created_updated_refused": counts,
        "loadavg": os.getloadavg(),
    }))


if __name__ == "__main__":
    main()
