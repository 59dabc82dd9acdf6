"""Export about `--rows` filtered history rows to CSV or XLSX: time to first byte, rows/s, peak memory.

    QRGATE_DATA_DIR=bench/out/sqlite-2m .venv/bin/python bench/export.py --format csv --rows 1000000

One export per process, so ru_maxrss is this export's peak. Besides wall time it reports
the CPU time the export took (`cpu_s`, this process only): on a shared machine the wall
time moves with the neighbours' load, the CPU time much less. The filter is the history's
own (accepted movements from a date on), chosen so it matches about `--rows` rows; the
whole response is consumed as a browser would download it. Prints one JSON object.
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
os.environ["ALLOWED_HOSTS"] = "testserver"


def rss_mb(kind="peak") -> float:
    if kind == "peak":
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.test import Client
    from django.utils import timezone

    from accounts.models import Role, User
    from drivers.models import Movement

    user, created = User.objects.get_or_create(username="bench.supervisor")
    if created:
        user.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    client = Client()
    client.force_login(user)
    nth = Movement.objects.valid().order_by("-at").values_list("at", flat=True)[args.rows - 1]
    day = timezone.localdate(nth) + django.utils.timezone.timedelta(days=1)
    params = {"format": args.format, "result": "accepted", "date_from": day.isoformat()}

    # A running server has its URLconf and views imported: warm them with an export that
    # matches nothing, so the first byte measured is a request's, not the process's first.
    warm = client.get("/history/export/", {"format": args.format, "date_from": "2999-01-01"})
    for _chunk in (warm.streaming_content if warm.streaming else [warm.content]):
        pass

    before = rss_mb("current")
    cpu_started = time.process_time()
    started = time.perf_counter()
    response = client.get("/history/export/", params)
    assert response.status_code == 200, response.status_code
    size = lines = 0
    first_byte = None
    chunks = response.streaming_content if response.streaming else [response.content]
    for chunk in chunks:
        if first_byte is None:
            first_byte = time.perf_counter() - started
        size += len(chunk)
        if args.format == "csv":
            lines += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if hasattr(response, "close"):
        response.close()
    rows = lines - 1 if args.format == "csv" else Movement.objects.valid().filter(
        at__gte=timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()))).count()
    print("RESULT " + json.dumps({
        "format": args.format,
        "rows": rows,
        "bytes": size,
        "seconds": round(elapsed, 2),
        "first_byte_s": round(first_byte or 0, 3),
        "cpu_s": round(cpu, 2),
        "load_average": os.getloadavg(),
        "rows_per_s": round(rows / elapsed),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(rss_mb("peak"), 1),
        "filter": params,
    }))


if __name__ == "__main__":
    main()
