"""CPU of one accepted scan, in-process: the whole request through Django's WSGI handler.

    .venv/bin/python bench/scan_profile.py --data-dir bench/out/scan-sqlite [--database-url postgres://...]
        [--scans 500] [--profile out.prof] [--top 40]

Uses a plant made by bench/scan_load.py --setup (its booth user bench0). Builds the WSGI
environ as gunicorn would (session cookie, CSRF cookie and header), sends `--scans` scans
of distinct drivers at the two-way gate (so each is accepted: an entry or an exit), and
prints the CPU time (this process: the view, middleware, ORM and, on SQLite, the database
engine itself) and the wall time per scan, plus the SQL statements per scan. With
--profile, cProfile's statistics of the timed scans are written there and the top
functions by cumulative time printed. Nothing is committed to git from the data folder.
"""

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import loadkit  # noqa: E402


def environ(path: str, body: bytes, cookies: dict, csrf: str) -> dict:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_COOKIE": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        "HTTP_X_CSRFTOKEN": csrf,
        "HTTP_REFERER": "http://127.0.0.1/scan/",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--scans", type=int, default=500)
    parser.add_argument("--station", default=None, help="A two-way gate's code (default: the first).")
    parser.add_argument("--mix", action="store_true",
                        help="scan_load.py's realistic codes at every station (refusals too) instead of accepted scans.")
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()

    os.environ.update(loadkit.plant_env(args.data_dir.resolve(), args.database_url))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qrgate.settings")
    os.chdir(ROOT)
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.core.wsgi import get_wsgi_application
    from django.db import connection, reset_queries
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

    application = get_wsgi_application()
    from accounts.models import User
    from drivers.models import Driver
    from stations.models import Station, StationKind

    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    user = User.objects.get(username="bench0")
    store = __import__(settings.SESSION_ENGINE, fromlist=["SessionStore"]).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store["_renewed"] = int(time.time())
    store.create()
    secret = _get_new_csrf_string()
    cookies = {settings.SESSION_COOKIE_NAME: store.session_key, settings.CSRF_COOKIE_NAME: secret}
    csrf = _mask_cipher_secret(secret)
    gate = (Station.objects.get(code=args.station) if args.station
            else Station.objects.filter(kind=StationKind.GATE, is_active=True).order_by("code").first())
    codes = list(Driver.objects.filter(bans__isnull=True).order_by("pk").values_list("badge_code", flat=True))
    stamp = int(time.time())
    mix = []
    if args.mix:
        import random
        from drivers.models import Ban
        plant = loadkit.Plant({}, codes, list(Ban.objects.in_force().values_list("driver__badge_code", flat=True)),
                              list(Station.objects.filter(is_active=True).values_list("code", flat=True)), [])
        mix = list(loadkit.scan_payloads(plant, random.Random(stamp), args.scans + 21, f"prof{stamp}"))

    def scan(i: int) -> dict:
        payload = mix[i] if mix else {"code": codes[i % len(codes)], "station": gate.code, "nonce": f"prof{stamp}-{i}"}
        body = json.dumps(payload).encode()
        chunks = []
        result = application(environ("/api/scan/", body, cookies, csrf), lambda status, headers: chunks.append(status))
        data = b"".join(result)
        result.close()
        if not chunks[0].startswith("200") and not mix:
            raise RuntimeError(f"{chunks[0]}: {data[:300]!r}")
        return json.loads(data)

    for i in range(20):  # warm: imports, connection, translations
        scan(i)
    health = time.process_time()
    for _ in range(200):
        chunks = []
        env = environ("/healthz", b"", {}, "")
        env["REQUEST_METHOD"] = "GET"
        b"".join(application(env, lambda status, headers: chunks.append(status)))
    health = (time.process_time() - health) / 200
    settings.DEBUG = True  # counts the statements (connection.queries)
    reset_queries()
    scan(20)
    statements = len(connection.queries)
    settings.DEBUG = False

    profiler = None
    if args.profile:
        import cProfile
        profiler = cProfile.Profile()
    accepted = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    for i in range(21, 21 + args.scans):
        accepted += bool(scan(i)["accepted"])
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    out = {
        "database": connection.vendor,
        "scans": args.scans,
        "accepted": accepted,
        "statements_per_scan": statements,
        "cpu_ms_per_scan": round(cpu / args.scans * 1000, 2),
        "wall_ms_per_scan": round(wall / args.scans * 1000, 2),
        "cpu_ms_per_healthz": round(health * 1000, 3),
        "load_average": os.getloadavg(),
        "profiled": bool(profiler),
    }
    print("RESULT " + json.dumps(out))
    if profiler:
        import pstats
        profiler.dump_stats(str(args.profile))
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
