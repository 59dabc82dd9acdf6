"""Slow clients (slowloris) against the server exactly as `make run` starts it.

200 connections send a request a byte at a time, half of them still in the headers, half
in a login form's body, and stay open; meanwhile two booths log in and scan through
/api/scan/. The gate must keep answering every booth quickly and lose no scan.

The server is `make run` itself (deploy/gunicorn.conf.py, with its default WORKERS) over a
throwaway SQLite database in a temp dir; setup and install are skipped (`make -o`) because
the test migrates and seeds that database first.
"""

import http.client
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from bench import loadkit

ROOT = Path(__file__).resolve().parent.parent
SLOW = 200
SCANS_PER_BOOTH = 120
BOOTHS = 2


def server_port() -> int:
    """A free port of 5100-5199 (the range this test was written for), else any free one."""
    for port in range(5150, 5200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return loadkit.free_port()


class MakeRun:
    """`make run PORT=...` in its own process group, over the plant's environment."""

    def __init__(self, env: dict, port: int, log: Path):
        self.env, self.port, self.log_path = env, port, log

    def __enter__(self):
        self.log = open(self.log_path, "wb")
        # A clean make: not a sub-make of `make test` (its MAKEFLAGS carry PYTEST_ARGS).
        env = {k: v for k, v in self.env.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        self.proc = subprocess.Popen(
            ["make", "--no-print-directory", "-o", "setup", "-o", "install", "run", f"PORT={self.port}"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log_path.read_text(errors="replace")[-3000:]
            if healthz_seconds(self.port, timeout=2) is not None:
                return self
            time.sleep(0.3)
        log = self.log_path.read_text(errors="replace")[-3000:]
        raise AssertionError("make run did not answer /healthz:\n" + log)

    def __exit__(self, *exc):
        """Ctrl+C's SIGTERM cousin to the whole group, then SIGKILL to what is left after 30 s."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                self.proc.poll()
                os.killpg(self.proc.pid, 0)  # ProcessLookupError once the group is empty
                time.sleep(0.2)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        finally:
            self.proc.wait(10)
            self.log.close()

    def gunicorn_workers(self) -> list[int]:
        """Pids of the gunicorn workers: children of the gunicorn master in the process group."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat[2]) == self.proc.pid and b"gunicorn" in cmdline:  # pgid == make's pid
                pids.append(int(entry.name))
        masters = [pid for pid in pids if any(self._ppid(other) == pid for other in pids)]
        return [pid for pid in pids if pid not in masters]

    @staticmethod
    def _ppid(pid: int) -> int:
        try:
            return int((Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split())[1])
        except OSError:
            return 0


def healthz_seconds(port: int, timeout: float = 5) -> float | None:
    started = time.perf_counter()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", "/healthz")
        ok = conn.getresponse().status == 200
        conn.close()
    except OSError:
        return None
    return time.perf_counter() - started if ok else None


class Slowloris:
    """`count` connections that each send one byte per second and never finish their request."""

    def __init__(self, port: int, count: int):
        self.port, self.count = port, count
        self.socks: list[socket.socket] = []
        self.closed_by_server = 0
        self.stop = threading.Event()

    def __enter__(self):
        token = secrets.token_hex(16)
        for i in range(self.count):
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            if i % 2:
                # Headers that never end.
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            else:
                # A login form whose body never ends (the CSRF check reads it).
                sock.sendall(
                    b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Cookie: csrftoken=" + token.encode() + b"\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n"
                    b"Content-Length: 5000\r\n\r\nusername="
                )
            sock.setblocking(False)
            self.socks.append(sock)
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()
        return self

    def _trickle(self):
        while not self.stop.wait(1.0):
            for sock in self.socks:
                if sock.fileno() < 0:
                    continue
                try:
                    sock.send(b"a")
                    if sock.recv(4096, socket.MSG_PEEK) == b"":
                        raise ConnectionResetError
                except BlockingIOError:
                    pass  # nothing to read: the server is still waiting for the rest
                except OSError:
                    self.closed_by_server += 1
                    sock.close()

    def still_open(self) -> int:
        return sum(1 for sock in self.socks if sock.fileno() >= 0)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(5)
        for sock in self.socks:
            sock.close()


def booth(port, plant, index, tally, deadline):
    """One booth: logs in, then scans; a request with no answer in 10 s counts as lost."""
    import random

    client = loadkit.Client(port, timeout=10)
    try:
        client.login(plant.users[index])
    except Exception as exc:  # noqa: BLE001 - reported by the test
        tally.errors.append(("login", repr(exc)))
        return
    rng = random.Random(index)
    for payload in loadkit.scan_payloads(plant, rng, SCANS_PER_BOOTH, f"slow-{index}"):
        if time.monotonic() > deadline:
            tally.errors.append(("deadline", payload["nonce"]))
            return
        started = time.perf_counter()
        try:
            status, answer, raw = client.post_json("/api/scan/", payload)
        except (http.client.HTTPException, OSError) as exc:
            tally.note(payload["nonce"], 0, None, repr(exc).encode(), time.perf_counter() - started)
            continue
        tally.note(payload["nonce"], status, answer, raw, time.perf_counter() - started)


@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("slowplant")
    return data_dir, loadkit.make_plant(data_dir, drivers=150, users=BOOTHS)


def test_200_slow_connections_do_not_slow_two_scanning_booths_under_make_run(plant):
    data_dir, the_plant = plant
    before = loadkit.sqlite_counts(data_dir)
    port = server_port()
    with MakeRun(the_plant.env, port, data_dir / "make-run.log") as server:
        with Slowloris(port, SLOW) as slow:
            time.sleep(2)  # every slow connection accepted and started
            health = [healthz_seconds(port) for _ in range(5)]

            tally = loadkit.Tally()
            deadline = time.monotonic() + 60
            booths = [threading.Thread(target=booth, args=(port, the_plant, i, tally, deadline))
                      for i in range(BOOTHS)]
            for thread in booths:
                thread.start()
            for thread in booths:
                thread.join(90)

            held = slow.still_open()
            workers = server.gunicorn_workers()
            alive = [pid for pid in workers if os.path.exists(f"/proc/{pid}")]
            threads = sum(len(os.listdir(f"/proc/{pid}/task")) for pid in alive)
            rss_mb = sum(
                int(line.split()[1]) for pid in alive
                for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmRSS:")
            ) / 1024
        log = server.log_path.read_text(errors="replace")
    movements, refused = loadkit.sqlite_counts(data_dir)

    p99 = loadkit.percentile(tally.latencies, 99)
    p50 = loadkit.percentile(tally.latencies, 50)
    print(f"\n{SLOW} slow connections: scans={tally.requests} p50={p50:.3f}s "
          f"p99={p99:.3f}s max={max(tally.latencies, default=0):.3f}s healthz={health} held={held} "
          f"workers={len(workers)} threads={threads} rss={rss_mb:.0f}MB")

    assert all(seconds is not None and seconds < 1 for seconds in health), health
    assert tally.errors == [], tally.errors[:5]
    assert tally.requests == BOOTHS * SCANS_PER_BOOTH
    assert p99 < 1.0, f"scan p99 {p99:.2f}s with {SLOW} slow connections"
    # Every acknowledged scan is stored, once; nothing else was stored.
    assert movements - before[0] == len(tally.movement_ids) > 50
    assert refused - before[1] == len(tally.refused_nonces)
    assert len(tally.movement_ids) + len(tally.refused_nonces) + tally.duplicates == BOOTHS * SCANS_PER_BOOTH
    assert not loadkit.database_locked(log) and "Traceback" not in log, log[-3000:]
    # The gate held the slow connections rather than dropping them.
    assert held == SLOW and slow.closed_by_server == 0


# --- behind the installer's HTTPS front --------------------------------------------------------

CADDYFILE = ROOT / "deploy/Caddyfile"


def caddy_read_timeouts() -> tuple[int, int]:
    """The header and whole-request read timeouts (seconds) deploy/Caddyfile states."""
    import re

    text = CADDYFILE.read_text()
    header = re.search(r"^\s*read_header\s+(\d+)s\s*$", text, re.M)
    body = re.search(r"^\s*read_body\s+(\d+)s\s*$", text, re.M)
    assert header and body, "deploy/Caddyfile states no read_header / read_body timeouts"
    return int(header.group(1)), int(body.group(1))


class Upstream:
    """A stand-in for gunicorn: answers GET, reads a POST's whole body before answering."""

    def __enter__(self):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self):
                body = b"ok\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                self._answer()

            def do_POST(self):
                try:
                    self.rfile.read(int(self.headers.get("Content-Length", 0)))
                    self._answer()
                except OSError:
                    pass  # Caddy gave up on the slow client

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def tls_connection(port: int):
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # Caddy's local CA; trust is test_deploy's business
    return context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10))


def hold_until_closed(port: int, first: bytes, result: dict, give_up: float):
    """Send `first`, then a byte a second; note when the server closes the connection."""
    import select

    try:
        sock = tls_connection(port)
    except OSError as exc:
        result["error"] = repr(exc)
        return
    started = time.monotonic()
    try:
        sock.sendall(first)
        sock.settimeout(1.0)
        while time.monotonic() - started < give_up:
            if sock.pending() or select.select([sock], [], [], 1.0)[0]:
                try:
                    if not sock.recv(4096):
                        break
                    continue  # an error page ("408", "502") first; the close follows
                except TimeoutError:
                    pass  # a TLS record that was not data (a session ticket)
            sock.sendall(b"a")
        else:
            result["closed_after"] = None
            return
    except OSError as exc:
        result["how"] = repr(exc)
    finally:
        sock.close()
    result["closed_after"] = time.monotonic() - started


@pytest.mark.skipif(not __import__("shutil").which("caddy"), reason="caddy missing (apt-get install caddy)")
def test_the_https_front_closes_slow_connections_within_its_read_timeouts(tmp_path):
    header_timeout, body_timeout = caddy_read_timeouts()
    https_port, http_port = loadkit.free_port(), loadkit.free_port()
    with Upstream() as upstream:
        caddyfile = (
            CADDYFILE.read_text()
            .replace("@HTTPS_SITES@", f"https://127.0.0.1:{https_port}")
            .replace("@HTTP_SITES@", f"http://127.0.0.1:{http_port}")
            .replace("@DEFAULT_SNI@", "127.0.0.1")
            .replace("@UPSTREAM@", f"127.0.0.1:{upstream.port}")
            .replace("@CADDY_PKI@", str(tmp_path / "pki"))
            # This test's own ports, and no admin endpoint on :2019.
            .replace("{\n", f"{{\n\tadmin off\n\tauto_https disable_redirects\n\thttp_port {http_port}\n"
                     f"\thttps_port {https_port}\n", 1)
        )
        (tmp_path / "Caddyfile").write_text(caddyfile)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "xdg"),
               "XDG_CONFIG_HOME": str(tmp_path / "config")}
        caddy = subprocess.Popen(
            ["caddy", "run", "--config", str(tmp_path / "Caddyfile"), "--adapter", "caddyfile"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            def get_ok() -> bool:
                sock = tls_connection(https_port)
                try:
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                    answer = b""
                    while chunk := sock.recv(4096):
                        answer += chunk
                    return answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok\n")
                finally:
                    sock.close()

            deadline = time.monotonic() + 30
            while True:
                assert caddy.poll() is None, caddy.stderr.read()
                try:
                    if get_ok():
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "caddy did not answer"
                time.sleep(0.3)

            give_up = body_timeout + 15
            headers = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
            body = (b"POST /login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n"
                    b"Content-Length: 5000\r\n\r\nusername=")
            results = {kind: [{} for _ in range(10)] for kind in ("headers", "body")}
            threads = [
                threading.Thread(target=hold_until_closed, args=(https_port, first, result, give_up),
                                 daemon=True)
                for kind, first in (("headers", headers), ("body", body)) for result in results[kind]
            ]
            for thread in threads:
                thread.start()
            time.sleep(2)
            # While they hang, a normal request is answered at once.
            started = time.monotonic()
            assert get_ok() and time.monotonic() - started < 5  # a TLS handshake on a loaded machine
            for thread in threads:
                thread.join(give_up + 10)
        finally:
            caddy.terminate()
            try:
                caddy.wait(10)
            except subprocess.TimeoutExpired:
                caddy.kill()
                caddy.wait(5)

    header_closes = [r.get("closed_after") for r in results["headers"]]
    body_closes = [r.get("closed_after") for r in results["body"]]
    print(f"\nCaddy read_header {header_timeout}s: closed after {header_closes}; "
          f"read_body {body_timeout}s: closed after {body_closes}")
    margin = 3
    for closes, timeout in ((header_closes, header_timeout), (body_closes, body_timeout)):
        assert all(c is not None and timeout - 1 <= c <= timeout + margin for c in closes), closes
