"""Time and query count of the live screens and the history, on the database in the environment.

    QRGATE_DATA_DIR=bench/out/sqlite-2m .venv/bin/python bench/screens.py [--repeat 15]

Runs in-process through Django's test client (the whole view, middleware and template,
no network), logged in as a supervisor, and prints one JSON object: for each screen the
median and best time in ms and the number of queries. bench/run.py calls it once per
data set (20 000 and 2 000 000 movements) and compares the two.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qrgate.settings")
os.environ.setdefault("STATICFILES_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage")
os.environ["ALLOWED_HOSTS"] = "testserver"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Role, User
    from drivers import selectors
    from drivers.models import Driver, Movement, Visit
    from stations.models import Station

    user, created = User.objects.get_or_create(username="bench.supervisor")
    if created:
        user.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    client = Client()
    client.force_login(user)

    # The busiest driver inside now: the longest route the follow page can show.
    visit = Visit.objects.filter(left_at__isnull=True).order_by("entered_at").first()
    followed = visit.driver if visit else Driver.objects.first()
    station = Station.objects.get(code="C1")
    someone = Driver.objects.order_by("id")[Driver.objects.count() // 2]
    surname = someone.full_name.split()[-1]

    def poll_path():
        return f"/dashboard/?since={selectors.live_marker()}"

    screens = [
        ("dashboard", lambda: "/dashboard/", {}, 200),
        ("dashboard poll, nothing new", poll_path, {"HTTP_HX_REQUEST": "true"}, 204),
        ("dashboard poll, live fragment", lambda: "/dashboard/?since=0", {"HTTP_HX_REQUEST": "true"}, 200),
        ("active drivers", lambda: "/active/", {}, 200),
        ("history, station filter", lambda: f"/history/?station={station.pk}", {}, 200),
        ("history, station + direction, page 20", lambda: f"/history/?station={station.pk}&direction=pass&page=20",
         {}, 200),
        ("history, driver name filter", lambda: f"/history/?driver={surname}", {}, 200),
        ("follow a driver", lambda: f"/follow/?driver={followed.pk}", {}, 200),
    ]
    results = {
        "movements": Movement.objects.count(),
        "inside": Visit.objects.filter(left_at__isnull=True).count(),
        "database": connection.vendor,
        "screens": {},
    }
    for name, path, headers, status in screens:
        client.get(path(), **headers)  # warm caches and the template loader
        times, queries = [], 0
        for _ in range(args.repeat):
            url = path()
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = client.get(url, **headers)
                times.append((time.perf_counter() - started) * 1000)
            queries = len(ctx.captured_queries)
            if response.status_code != status:
                raise SystemExit(f"{name}: {url} answered {response.status_code}, expected {status}")
        results["screens"][name] = {
            "median_ms": round(statistics.median(times), 1),
            "best_ms": round(min(times), 1),
            "queries": queries,
        }
    print("RESULT " + json.dumps(results))


if __name__ == "__main__":
    main()
