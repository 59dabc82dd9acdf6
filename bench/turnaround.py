"""Time of the turnaround report (/reports/turnaround/) on the database in the environment.

    QRGATE_DATA_DIR=bench/out/sqlite-2m .venv/bin/python bench/turnaround.py [--repeat 5]

Times each grouping's query (drivers.selectors.turnaround) and the visits per day for the
last 30 and the last 365 days of the data set, then the whole page through the test
client, and prints one RESULT line of JSON: median and best ms, and the rows returned.
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qrgate.settings")
os.environ.setdefault("STATICFILES_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage")
os.environ["ALLOWED_HOSTS"] = "testserver"


def timed(fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": round(statistics.median(times), 1), "best_ms": round(min(times), 1),
            "rows": len(result) if hasattr(result, "__len__") else None}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client

    from accounts.models import Role, User
    from drivers import selectors
    from drivers.models import Visit

    last = Visit.objects.filter(left_at__isnull=False).order_by("-left_at").values_list("left_at", flat=True)[:1]
    end = last[0] + timedelta(seconds=1)
    out = {"database": connection.vendor, "visits": Visit.objects.count()}
    for days in (30, 365):
        start = end - timedelta(days=days)
        out[f"{days}d_visits_left"] = Visit.objects.filter(left_at__gte=start, left_at__lt=end).count()
        for group in selectors.TURNAROUND_GROUPS:
            out[f"{days}d_{group}"] = timed(lambda: selectors.turnaround(start, end, group), args.repeat)
        out[f"{days}d_per_day"] = timed(lambda: selectors.visits_per_day(start, end), args.repeat)

    user, created = User.objects.get_or_create(username="bench.supervisor")
    if created:
        user.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    client = Client()
    client.force_login(user)
    day_to = end.date()
    for days in (30, 365):
        url = f"/reports/turnaround/?date_from={day_to - timedelta(days=days - 1)}&date_to={day_to}"
        out[f"{days}d_page"] = timed(lambda: client.get(url).content, args.repeat)
        out[f"{days}d_page"]["rows"] = None
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
