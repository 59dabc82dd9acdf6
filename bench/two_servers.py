"""Two app servers on one PostgreSQL: scans through both at once, one killed mid-run.

    .venv/bin/python bench/two_servers.py [--scans 3000] [--booths 8] [--drivers 40]

What PRODUCT.md promises for a growing plant, measured: two independent gunicorns (each
its own data folder, as on two machines; the same SECRET_KEY, DATABASE_URL and shared
MEDIA_ROOT) against one PostgreSQL database made for the run and dropped after it. Booths
scan the same few drivers through both servers; the throughput of one server alone and
of two is printed. tests/test_two_servers.py uses the same pieces for its checks: the
kill of one server mid-run, every acknowledged scan stored once, movements alternating,
the same dashboard on both.

A booth whose server dies sends its unacknowledged scan again, with the same nonce and
the same session cookie, to the other server, as the scan screen's offline queue does
behind a proxy: nothing but the database is shared, so the other server knows the session
and answers a repeated nonce with the first result.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import loadkit  # noqa: E402

ROOT = loadkit.ROOT
PG_ADMIN_URL = os.environ.get("QRGATE_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
SECRET_KEY = "two-servers-" + "k" * 50
STATIONS = [("E1", "entry"), ("S1", "exit"), ("P1", "gate"), ("P2", "gate")]
SETUP_SCRIPT = """
import json
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from accounts.models import User
from drivers.models import Driver
from stations.models import Station
hashed = make_password({password!r})  # one hash for all: hashing costs half a second each
for code, kind in {stations!r}:
    Station.objects.create(name="Caseta " + code, code=code, kind=kind)
for i in range({booths}):
    user = User.objects.create(username=f"booth{{i}}", password=hashed)
    user.groups.add(Group.objects.get(name="Caseta"))
boss = User.objects.create(username="boss", password=hashed)
boss.groups.add(Group.objects.get(name="Supervisor"))
Driver.objects.bulk_create(
    Driver(full_name=f"Chofer {{i}}", license_number=f"TWO{{i:05d}}", company="Fletes Norte")
    for i in range({drivers})
)
print("FACTS" + json.dumps([[d.pk, d.badge_code] for d in Driver.objects.order_by("pk")]))
"""


def free_port(first: int = 5200, last: int = 5249) -> int:
    """A port of this helper's range that nothing listens on."""
    for port in random.sample(range(first, last + 1), last - first + 1):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {first}-{last}")


# --- one PostgreSQL database for the run ----------------------------------------------------

def postgres_reachable() -> bool:
    import psycopg

    try:
        psycopg.connect(PG_ADMIN_URL, connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


@contextmanager
def scratch_database(name: str):
    """CREATE DATABASE `name` on the local PostgreSQL; dropped (connections and all) after."""
    import psycopg

    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Plant:
    database_url: str
    media_root: Path
    folder: Path
    drivers: list[tuple[int, str]]  # (pk, badge code)
    stations: list[str]
    booths: list[str]

    def server_env(self, name: str) -> dict:
        """The environment of app server `name`: its own data folder, everything else shared."""
        data_dir = self.folder / name
        data_dir.mkdir(parents=True, exist_ok=True)
        env = loadkit.plant_env(data_dir, self.database_url)
        env.update(SECRET_KEY=SECRET_KEY, MEDIA_ROOT=str(self.media_root), SCAN_DUPLICATE_WINDOW_SECONDS="0")
        return env


def make_plant(folder: Path, database_url: str, *, drivers: int = 30, booths: int = 6) -> Plant:
    """Migrate the database (manage.py migrate) and load stations, booth users, a
    supervisor and drivers."""
    import json

    plant = Plant(database_url, folder / "shared-media", folder, [], [code for code, _ in STATIONS],
                  [f"booth{i}" for i in range(booths)])
    plant.media_root.mkdir(parents=True, exist_ok=True)
    env = plant.server_env("setup")
    # migrate, then the plant, in one process: each start of Django costs seconds.
    out = loadkit.manage(env, "shell", "-c", SETUP_SCRIPT.format(
        password=loadkit.PASSWORD, stations=STATIONS, booths=booths, drivers=drivers))
    plant.drivers = [tuple(pair) for pair in json.loads(out.split("FACTS", 1)[1])]
    return plant


# --- the app servers --------------------------------------------------------------------------

class AppServer:
    """One gunicorn, in a process group of its own so that it can be killed whole, as a
    machine that loses power: master and workers at once, nothing shut down cleanly."""

    def __init__(self, env: dict, port: int, log: Path, workers: int = 2):
        self.env, self.port, self.log_path, self.workers = env, port, log, workers
        self.proc: subprocess.Popen | None = None

    def start(self) -> AppServer:
        return self.launch().wait_ready()

    def launch(self) -> AppServer:
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "qrgate.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--no-control-socket", "--timeout", "60",
             "--graceful-timeout", "5"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        return self

    def wait_ready(self) -> AppServer:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: see {self.log_path}")
            if self._healthy():
                return self
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not start: see {self.log_path}")

    def _healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL to the whole process group: master and workers die together."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self.proc:
            self.log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


class Proxy:
    """Caddy on 127.0.0.1:port in front of the app servers, configured as README's "Two app
    servers" shows (plain HTTP here: the certificate is not what is tested)."""

    CADDYFILE = """{{
	admin off
	auto_https off
}}

http://127.0.0.1:{port} {{
	reverse_proxy {upstreams} {{
		lb_policy least_conn
		lb_retries 2
		fail_duration 30s
		health_uri /healthz
		health_interval 1s
	}}
}}
"""

    def __init__(self, port: int, upstreams: list[int], folder: Path):
        self.port, self.folder = port, folder
        self.config = folder / "Caddyfile"
        self.config.write_text(self.CADDYFILE.format(
            port=port, upstreams=" ".join(f"127.0.0.1:{u}" for u in upstreams)))
        self.proc: subprocess.Popen | None = None

    def start(self) -> Proxy:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.folder),
               "XDG_DATA_HOME": str(self.folder / "data"), "XDG_CONFIG_HOME": str(self.folder / "config")}
        self.log = open(self.folder / "caddy.log", "ab")
        self.proc = subprocess.Popen(["caddy", "run", "--config", str(self.config), "--adapter", "caddyfile"],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"caddy exited: see {self.folder / 'caddy.log'}")
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.2)
        raise RuntimeError("caddy did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self.proc:
            self.log.close()


# --- booths -------------------------------------------------------------------------------------

@dataclass
class Acks:
    """What the booths were told, by nonce: to compare with what the database holds."""

    sent: set = field(default_factory=set)
    movements: dict = field(default_factory=dict)  # nonce -> movement id
    refused: set = field(default_factory=set)
    replayed: int = 0
    failovers: int = 0
    errors: list = field(default_factory=list)
    latencies: list = field(default_factory=list)  # seconds from first send to answer, failovers included
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def acknowledged(self) -> int:
        return len(self.movements) + len(self.refused)


def run_booths(plant: Plant, ports: list[int], *, scans: int, booths: int | None = None, seed: int = 1,
               prefix: str = "t", on_progress=None) -> tuple[Acks, float]:
    """`booths` threads share `scans` scans of the plant's drivers at random stations; booth
    i starts on ports[i % len(ports)]. A scan without an answer (its server died), or with a
    proxy's 502/503/504, goes again, same nonce and session, to the next port (the same one
    when there is one: the proxy), as the scan screen's queue sends it again. Returns the
    acks and the scanning seconds."""
    booths = booths or len(plant.booths)
    acks = Acks()
    share = [scans // booths + (i < scans % booths) for i in range(booths)]
    ready = threading.Barrier(booths + 1)
    failures: list[str] = []

    def booth(index: int) -> None:
        at = index % len(ports)
        client = loadkit.Client(ports[at], timeout=60)
        try:
            client.login(plant.booths[index % len(plant.booths)])
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            failures.append(f"login: {exc!r}")
            ready.abort()
            return
        try:
            ready.wait(120)
        except threading.BrokenBarrierError:
            return
        rng = random.Random(seed * 1000 + index)
        for n in range(share[index]):
            payload = {"code": rng.choice(plant.drivers)[1], "station": rng.choice(plant.stations),
                       "nonce": f"{prefix}{seed}-{index}-{n}"}
            with acks.lock:
                acks.sent.add(payload["nonce"])
            started = time.perf_counter()
            for _attempt in range(60):
                try:
                    status, answer, raw = client.post_json("/api/scan/", payload)
                    if status in (502, 503, 504):
                        raise ConnectionError(f"the proxy answered {status}")
                except (http.client.HTTPException, OSError):
                    # No answer: the server is gone. The same scan, same nonce and session
                    # cookie, to the other server.
                    at = (at + 1) % len(ports)
                    cookies = client.cookies
                    client = loadkit.Client(ports[at], timeout=60)
                    client.cookies = cookies
                    with acks.lock:
                        acks.failovers += 1
                    time.sleep(0.05)
                    continue
                with acks.lock:
                    acks.latencies.append(time.perf_counter() - started)
                    if status != 200 or not answer or "accepted" not in answer:
                        acks.errors.append((status, raw[:300]))
                    elif answer["movement_id"]:
                        acks.movements[payload["nonce"]] = answer["movement_id"]
                    else:
                        acks.refused.add(payload["nonce"])
                    if answer and answer.get("replayed"):
                        acks.replayed += 1
                    done = acks.acknowledged
                if on_progress:
                    on_progress(done)
                break

    threads = [threading.Thread(target=booth, args=(i,), daemon=True) for i in range(booths)]
    for thread in threads:
        thread.start()
    try:
        ready.wait(300)
    except threading.BrokenBarrierError:
        pass
    started = time.perf_counter()
    for thread in threads:
        thread.join(600)
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError("; ".join(failures[:3]))
    return acks, elapsed


# --- what the database and the dashboards say ---------------------------------------------------

def stored(database_url: str, prefix: str) -> dict:
    """The movements and refused scans whose nonce starts with `prefix`, and every driver's
    valid movements in order."""
    import psycopg

    with psycopg.connect(database_url) as db:
        movements = db.execute("SELECT nonce, id FROM drivers_movement WHERE nonce LIKE %s",
                               (prefix + "%",)).fetchall()
        refused = db.execute("SELECT nonce FROM drivers_refusedscan WHERE nonce LIKE %s",
                             (prefix + "%",)).fetchall()
        sequences: dict[int, list[str]] = {}
        for driver_id, direction in db.execute(
            "SELECT driver_id, direction FROM drivers_movement WHERE annulled_at IS NULL"
            " ORDER BY driver_id, at, id"
        ):
            sequences.setdefault(driver_id, []).append(direction)
        open_visits = dict(db.execute(
            "SELECT driver_id, count(*) FROM drivers_visit WHERE left_at IS NULL GROUP BY driver_id"
        ).fetchall())
    return {
        "movements": movements,
        "refused": [row[0] for row in refused],
        "sequences": sequences,
        "open_visits": open_visits,
    }


def two_in_a_row(sequence: list[str]) -> bool:
    """Whether a driver's movements (entries "in", exits "out", passes) ever repeat an
    entry or an exit without the other in between, or start with an exit."""
    gate = [d for d in sequence if d in ("in", "out")]
    return bool(gate) and (gate[0] != "in" or any(a == b for a, b in zip(gate, gate[1:])))


FIGURES = ("fig-inside", "fig-entries", "fig-exits", "fig-refused")


def dashboard_numbers(client: loadkit.Client) -> dict:
    """The dashboard's live figures and its stations' scans in the last hour, as the page
    served by this client's server shows them."""
    status, body, _ = client.get("/dashboard/")
    if status != 200:
        raise RuntimeError(f"dashboard: {status} {body[:200]!r}")
    text = body.decode()
    numbers = {name: re.search(rf'id="{name}">([^<]*)<', text).group(1) for name in FIGURES}
    # (Not the page's data-marker: it holds the current minute, which two reads may straddle.)
    numbers["station_hours"] = re.findall(r'class="st-hour">([^<]*)<', text)
    return numbers


# --- the benchmark ------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scans", type=int, default=3000)
    parser.add_argument("--booths", type=int, default=8)
    parser.add_argument("--drivers", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    args = parser.parse_args()

    import tempfile

    with tempfile.TemporaryDirectory(prefix="qrgate-two-") as tmp, \
            scratch_database(f"qrgate_twoservers_bench_{os.getpid()}") as url:
        folder = Path(tmp)
        plant = make_plant(folder, url, drivers=args.drivers, booths=args.booths)
        servers = [AppServer(plant.server_env(name), free_port(), folder / f"{name}.log", args.workers)
                   for name in ("a", "b")]
        try:
            for server in servers:
                server.launch()
            for server in servers:
                server.wait_ready()
            both = [s.port for s in servers]
            runs = (("one server", [servers[0].port], False), ("two servers", both, False),
                    ("two servers, A killed at 1/3", both, True))
            for number, (label, ports, kill) in enumerate(runs, 1):
                killed = {}

                def kill_a(done, kill=kill, killed=killed):
                    if kill and done >= args.scans // 3 and not killed:
                        killed["at"] = time.perf_counter()
                        servers[0].kill()

                acks, seconds = run_booths(plant, ports, scans=args.scans, booths=args.booths,
                                           prefix=f"b{number}-", seed=number, on_progress=kill_a)
                assert not acks.errors, acks.errors[:3]
                p50, p95 = loadkit.percentile(acks.latencies, 50), loadkit.percentile(acks.latencies, 95)
                print(f"{label}: {acks.acknowledged} scans in {seconds:.1f} s = "
                      f"{acks.acknowledged / seconds:.0f} scans/s, p50 {p50 * 1000:.0f} ms, "
                      f"p95 {p95 * 1000:.0f} ms, max {max(acks.latencies) * 1000:.0f} ms "
                      f"({len(acks.movements)} movements, {len(acks.refused)} refused, "
                      f"{acks.failovers} failovers, {acks.replayed} replayed)", flush=True)
                facts = stored(url, f"b{number}-")
                lost = set(acks.movements.items()) - set(facts["movements"])
                print(f"  acknowledged but not stored: {len(lost)}; stored twice: "
                      f"{len(facts['movements']) - len(dict(facts['movements']))}")
            facts = stored(url, "")
            bad = [d for d, seq in facts["sequences"].items() if two_in_a_row(seq)]
            print(f"drivers with two entries or exits in a row: {len(bad)}")
        finally:
            for server in servers:
                server.stop()
    print(f"load after: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
