"""Webhook latency: does a barrier receiver on the LAN get scan.accepted within 1 s (p95)?

    .venv/bin/python bench/webhooks.py --data-dir bench/out/webhooks [--database-url postgres://...]

A throwaway plant (300 drivers) behind gunicorn as the unit runs it, the outbox worker
(`manage.py run_outbox`, as qrgate-worker.service runs it) and a receiver on 127.0.0.1
standing in for the barrier's relay. A booth scans `--scans` drivers in at one entry
station, at `--pace` seconds between scans; the receiver notes when each scan.accepted
arrives. Then the receiver goes away (its port closed) for `--scans` more scans: the
booth's scan latency is compared with the first phase, and when the receiver comes back
(the retry time moved to now, standing for the minute of backoff) every event must
arrive exactly once. Prints one JSON object. Everything binds to 127.0.0.1; bounded in
scans and in time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import loadkit  # noqa: E402

SETUP_SCRIPT = """
from stations.models import Station, Webhook
station = Station.objects.filter(is_active=True, kind="entry").order_by("pk").first()
Webhook.objects.all().delete()
Webhook.objects.create(name="Barrier", url={url!r}, station=station, events=["scan.accepted"],
                       secret="bench-secret")
print("STATION" + station.code)
"""
RETRY_NOW_SCRIPT = """
from django.utils import timezone
from stations.models import Delivery
print(Delivery.objects.filter(status="pending").update(next_attempt_at=timezone.now()))
"""
COUNT_SCRIPT = """
import json
from stations.models import Delivery
print("COUNT" + json.dumps({s: Delivery.objects.filter(status=s).count() for s in ("pending", "delivered", "failed")}))
"""


class Receiver:
    """The barrier's receiver: notes the arrival time of each event by movement id."""

    def __init__(self, port: int = 0):
        self.arrivals: dict[int, list[float]] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.monotonic()
                movement = json.loads(raw).get("movement_id")
                outer.arrivals.setdefault(movement, []).append(now)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def wait(self, ids, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(i in self.arrivals for i in ids):
                return True
            time.sleep(0.01)
        return False


def ms(values, p):
    return round(loadkit.percentile(values, p) * 1000, 1) if values else None


def scan_many(client, codes, station, pace) -> tuple[dict[int, float], list[float], int]:
    """Scan each code in at `station`; returns {movement id: send time}, latencies, refusals."""
    sent, latencies, refused = {}, [], 0
    for code in codes:
        started = time.monotonic()
        status, answer, _ = client.post_json("/api/scan/", {"code": code, "station": station})
        latencies.append(time.monotonic() - started)
        if status == 200 and answer and answer.get("accepted") and answer.get("movement_id"):
            sent[answer["movement_id"]] = started
        else:
            refused += 1
        time.sleep(pace)
    return sent, latencies, refused


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--scans", type=int, default=100)
    parser.add_argument("--pace", type=float, default=0.2, help="seconds between two scans of the booth")
    parser.add_argument("--workers", type=int, default=loadkit.installer_workers())
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    plant = loadkit.make_plant(data_dir, database_url=args.database_url, drivers=max(300, 2 * args.scans + 10),
                               users=1)
    receiver = Receiver()
    out = loadkit.manage(plant.env, "shell", "-c", SETUP_SCRIPT.format(url=f"http://127.0.0.1:{receiver.port}/"))
    station = out.split("STATION", 1)[1].strip()
    codes = plant.codes[: 2 * args.scans]
    worker_log = open(data_dir / "worker.log", "ab")
    worker = subprocess.Popen([loadkit.PYTHON, "manage.py", "run_outbox"], cwd=loadkit.ROOT, env=plant.env,
                              stdout=worker_log, stderr=subprocess.STDOUT)
    result = {"database": "postgresql" if args.database_url else "sqlite", "scans": args.scans,
              "pace_s": args.pace, "workers": args.workers, "poll_s": 0.25}
    try:
        with loadkit.Server(plant.env, args.workers, data_dir / "gunicorn.log") as server:
            client = loadkit.Client(server.port)
            client.login(plant.users[0])
            # Phase 1: the receiver is up.
            sent, up_latencies, refused = scan_many(client, codes[: args.scans], station, args.pace)
            receiver.wait(sent, timeout=10)
            delays = [receiver.arrivals[m][0] - t for m, t in sent.items() if m in receiver.arrivals]
            result["receiver_up"] = {
                "accepted": len(sent), "refused": refused, "delivered": len(delays),
                "delay_p50_ms": ms(delays, 50), "delay_p95_ms": ms(delays, 95), "delay_max_ms": ms(delays, 100),
                "scan_p50_ms": ms(up_latencies, 50), "scan_p95_ms": ms(up_latencies, 95),
            }
            # Phase 2: the receiver is down (its port closed).
            port = receiver.port
            receiver.close()
            sent2, down_latencies, refused2 = scan_many(client, codes[args.scans:], station, args.pace)
            time.sleep(1)
            result["receiver_down"] = {
                "accepted": len(sent2), "refused": refused2,
                "scan_p50_ms": ms(down_latencies, 50), "scan_p95_ms": ms(down_latencies, 95),
                "deliveries": json.loads(loadkit.manage(plant.env, "shell", "-c", COUNT_SCRIPT).split("COUNT")[1]),
            }
            # Back: the same port; the retry moved to now (standing for the backoff's wait).
            receiver = Receiver(port)
            loadkit.manage(plant.env, "shell", "-c", RETRY_NOW_SCRIPT)
            complete = receiver.wait(sent2, timeout=30)
            time.sleep(1)
            result["receiver_back"] = {
                "all_delivered": complete,
                "delivered_once": sum(1 for m in sent2 if len(receiver.arrivals.get(m, [])) == 1),
                "delivered_twice_or_more": sum(1 for m in sent2 if len(receiver.arrivals.get(m, [])) > 1),
                "deliveries": json.loads(loadkit.manage(plant.env, "shell", "-c", COUNT_SCRIPT).split("COUNT")[1]),
            }
    finally:
        receiver.close()
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
        worker_log.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
