"""A throwaway plant behind a real gunicorn, and logged-in HTTP clients to load it.

Shared by the benchmarks (bench/scan_load.py) and the sturdiness tests
(tests/test_sturdiness.py). Standard library only: http.client, one connection per
client, its own session cookie and CSRF token, as a booth's browser has. Everything
binds to 127.0.0.1 and lives in a data folder the caller chooses, never var/.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PASSWORD = "bench-Caseta-2024!"
USERS_SCRIPT = """
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from accounts.models import User
n = int({n})
hashed = make_password({password!r})  # one hash for all: hashing costs half a second each
booth = Group.objects.get(name="Caseta")
for i in range(n):
    user, _ = User.objects.update_or_create(username=f"bench{{i}}", defaults={{"password": hashed}})
    user.groups.add(booth)
"""
FACTS_SCRIPT = """
import json
from drivers.models import Ban, Driver
from stations.models import Station
print("FACTS" + json.dumps({
    "codes": list(Driver.objects.filter(bans__isnull=True).values_list("badge_code", flat=True)),
    "banned": list(Ban.objects.in_force().values_list("driver__badge_code", flat=True)),
    "stations": list(Station.objects.filter(is_active=True).values_list("code", flat=True)),
}))
"""


def installer_workers() -> int:
    """What deploy/gunicorn.conf.py would start on this machine: 2 per core + 1, at most 9."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(2 * cores + 1, 9)


def plant_env(data_dir: Path, database_url: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "QRGATE_ENV_FILE")}
    env.update(
        QRGATE_DATA_DIR=str(data_dir),
        QRGATE_ENV_FILE=str(data_dir / "none.env"),
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        STATICFILES_BACKEND="django.contrib.staticfiles.storage.StaticFilesStorage",
        LOG_LEVEL="WARNING",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def manage(env: dict, *args: str, timeout: float = 600) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args[:2])} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@dataclass
class Plant:
    env: dict
    codes: list[str]
    banned: list[str]
    stations: list[str]
    users: list[str]


def make_plant(data_dir: Path, *, database_url: str | None = None, drivers: int = 300,
               movements: int = 0, days: int = 30, users: int = 4, seed_args: tuple = ()) -> Plant:
    """Migrate a fresh database, load a demo plant, create `users` booth operators."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = plant_env(data_dir, database_url)
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "seed_demo", "--drivers", str(drivers), "--movements", str(movements),
           "--days", str(days), "--reset", *seed_args, timeout=1800)
    manage(env, "shell", "-c", USERS_SCRIPT.format(n=users, password=PASSWORD))
    facts = json.loads(manage(env, "shell", "-c", FACTS_SCRIPT).split("FACTS", 1)[1])
    return Plant(env, facts["codes"], facts["banned"], facts["stations"], [f"bench{i}" for i in range(users)])


def existing_plant(data_dir: Path, *, database_url: str | None = None, users: int = 4) -> Plant:
    """A plant already loaded in data_dir / database_url: add the booth users, read the facts."""
    env = plant_env(data_dir, database_url)
    manage(env, "migrate", "--noinput", "-v0")  # the code may be newer than the data
    manage(env, "shell", "-c", USERS_SCRIPT.format(n=users, password=PASSWORD))
    facts = json.loads(manage(env, "shell", "-c", FACTS_SCRIPT).split("FACTS", 1)[1])
    return Plant(env, facts["codes"], facts["banned"], facts["stations"], [f"bench{i}" for i in range(users)])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn on 127.0.0.1 with `workers` workers, configured as the systemd unit runs it
    (deploy/gunicorn.conf.py: threaded workers, QRGATE_THREADS threads each)."""

    def __init__(self, env: dict, workers: int, log: Path, port: int | None = None):
        self.env = env
        self.workers = workers
        self.port = port or free_port()
        self.log_path = log
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "--config", str(ROOT / "deploy/gunicorn.conf.py"),
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers), "--no-control-socket",
             "--timeout", "60", "--graceful-timeout", "5", "--access-logfile", "/dev/null",
             "qrgate.wsgi:application"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.log_path}")
            if len(self.worker_pids()) == self.workers and self._healthy():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not start: see {self.log_path}")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()

    def _healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def worker_pids(self) -> list[int]:
        """The master's live children (Linux /proc)."""
        try:
            text = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")


class Client:
    """One booth: its own connection, session cookie and CSRF token."""

    def __init__(self, port: int, timeout: float = 30):
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            reused = self.conn.sock is not None
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                self.conn.close()
                # The server closed a kept-alive connection as this request went out (its
                # keep-alive timeout): a browser sends the request again on a new connection.
                if not reused or attempt == 2:
                    raise
            except (http.client.HTTPException, OSError):
                self.conn.close()  # the next request opens a fresh connection
                raise
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, data, response

    def get(self, path: str):
        return self.request("GET", path)

    def login(self, username: str, password: str = PASSWORD) -> None:
        self.get("/login/")
        token = self.cookies["csrftoken"]
        body = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": token}).encode()
        status, data, _ = self.request("POST", "/login/", body, {
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"http://127.0.0.1:{self.port}/login/",
        })
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login of {username} failed: {status} {data[:300]!r}")

    def post_json(self, path: str, payload) -> tuple[int, dict | None, bytes]:
        body = json.dumps(payload).encode()
        status, data, _ = self.request("POST", path, body, {
            "Content-Type": "application/json",
            "X-CSRFToken": self.cookies.get("csrftoken", ""),
            "Referer": f"http://127.0.0.1:{self.port}/scan/",
        })
        try:
            parsed = json.loads(data)
        except ValueError:
            parsed = None
        return status, parsed, data


@dataclass
class Tally:
    """What the clients were told, to compare with what the database holds."""

    movement_ids: set = field(default_factory=set)
    refused_nonces: set = field(default_factory=set)
    duplicates: int = 0
    errors: list = field(default_factory=list)
    latencies: list = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, nonce: str, status: int, answer: dict | None, raw: bytes, seconds: float):
        with self.lock:
            self.requests += 1
            self.latencies.append(seconds)
            if status != 200 or answer is None or "accepted" not in answer:
                self.errors.append((status, raw[:200]))
            elif answer["accepted"] and answer["reason"] == "ok":
                self.movement_ids.add(answer["movement_id"])
            elif answer["accepted"]:
                self.duplicates += 1
            else:
                self.refused_nonces.add(nonce)


def scan_payloads(plant: Plant, rng: random.Random, count: int, prefix: str):
    """Realistic scans: mostly known badges at every station, some banned, unknown and junk."""
    for i in range(count):
        roll = rng.random()
        if roll < 0.90:
            code = rng.choice(plant.codes)
        elif roll < 0.94 and plant.banned:
            code = rng.choice(plant.banned)
        elif roll < 0.97:
            code = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(26))
        else:
            code = rng.choice(["HOLA", "http://ejemplo.com/x", "12345", "<b>x</b>"])
        if rng.random() < 0.3:
            code = f"  {code.lower()}\r\n"  # a scanner typing lower case and a line end
        yield {"code": code, "station": rng.choice(plant.stations), "nonce": f"{prefix}-{i}"}


def run_clients(port: int, plant: Plant, *, clients: int, scans: int, seed: int = 1,
                retry_errors: bool = False, on_progress=None, prefix: str = "c",
                deadline_seconds: float | None = None, on_start=None) -> Tally:
    """`clients` threads share `scans` scans; each logs in first as one of the booth users.

    With retry_errors a scan that got no answer (connection reset by a killed worker) is
    sent again with the same nonce, as the scan screen's offline queue does. `on_start`
    is called once every client has logged in, just before the scans start.
    """
    tally = Tally()
    per_client = [scans // clients + (i < scans % clients) for i in range(clients)]
    counter = {"done": 0}
    failures = []
    ready = threading.Barrier(clients + 1)

    def work(index: int):
        # Logins of 20 booths at once hash 20 passwords (PBKDF2) on a shared 2-core machine:
        # give them time; a hang is still reported, only later.
        client = Client(port, timeout=120)
        try:
            client.login(plant.users[index % len(plant.users)])
        except Exception as exc:
            failures.append(f"login: {exc!r}")
            ready.abort()
            return
        try:
            ready.wait(60)
        except threading.BrokenBarrierError:
            return
        rng = random.Random(seed * 1000 + index)
        deadline = time.monotonic() + deadline_seconds if deadline_seconds else None
        for payload in scan_payloads(plant, rng, per_client[index], f"{prefix}{seed}-{index}"):
            if deadline and time.monotonic() > deadline:
                return
            for attempt in range(20):
                started = time.perf_counter()
                try:
                    status, answer, raw = client.post_json("/api/scan/", payload)
                except (http.client.HTTPException, OSError) as exc:
                    if not retry_errors:
                        tally.note(payload["nonce"], 0, None, repr(exc).encode(), time.perf_counter() - started)
                        break
                    time.sleep(0.2)
                    continue
                tally.note(payload["nonce"], status, answer, raw, time.perf_counter() - started)
                break
            with tally.lock:
                counter["done"] += 1
                done = counter["done"]
            if on_progress:
                on_progress(done)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    try:
        ready.wait(300)
    except threading.BrokenBarrierError:
        pass
    if on_start:
        on_start()
    tally.started = time.perf_counter()
    for thread in threads:
        thread.join(600)
    tally.elapsed = time.perf_counter() - tally.started
    if failures:
        raise RuntimeError("; ".join(failures[:3]))
    return tally


def sqlite_counts(data_dir: Path) -> tuple[int, int]:
    """Movements and refused scans in the plant's SQLite database."""
    with sqlite3.connect(data_dir / "qrgate.sqlite3", timeout=30) as db:
        movements = db.execute("SELECT count(*) FROM drivers_movement").fetchone()[0]
        refused = db.execute("SELECT count(*) FROM drivers_refusedscan").fetchone()[0]
    return movements, refused


def sqlite_movement_ids(data_dir: Path) -> set[int]:
    with sqlite3.connect(data_dir / "qrgate.sqlite3", timeout=30) as db:
        return {row[0] for row in db.execute("SELECT id FROM drivers_movement")}


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def database_locked(text: str) -> bool:
    return bool(re.search(r"database is locked", text, re.I))
