"""Scan throughput and latency over HTTP through gunicorn, beside /healthz in the same run.

    .venv/bin/python bench/scan_load.py --data-dir bench/out/scan-sqlite [--database-url postgres://...]

Starts gunicorn on 127.0.0.1 with the workers the installer would use (2 per core + 1,
at most 9), logs `--clients` booth clients in (session cookie + CSRF, as the scan screen),
then runs the same number of requests against /healthz (the framework's own ceiling) and
against POST /api/scan/ with realistic badge codes at every station. Prints one JSON
object: requests/s, p50, p95 and p99 of each and their ratio, the CPU the gunicorn
workers used per request in each phase (from /proc, so it holds on a loaded machine),
and the load average. Bounded: `--requests` per phase and `--max-seconds` per phase.
"""

import argparse
import json
import os
import threading
import time
from pathlib import Path

import loadkit  # bench/loadkit.py: a script's own folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent


def plain_load(port: int, path: str, clients: int, requests: int, max_seconds: float) -> dict:
    latencies, errors = [], []
    lock = threading.Lock()
    per_client = requests // clients
    deadline = time.monotonic() + max_seconds

    def work():
        client = loadkit.Client(port)
        for _ in range(per_client):
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            try:
                status, _, _ = client.get(path)
            except OSError as exc:
                status = repr(exc)
            with lock:
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    errors.append(status)

    threads = [threading.Thread(target=work) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return summary(latencies, time.perf_counter() - started, len(errors))


def server_cpu(server) -> float:
    """CPU seconds (user + system) used so far by gunicorn's workers (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in server.worker_pids():
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def per_request(server, before: float, requests: int) -> tuple[float, float]:
    now = server_cpu(server)
    return now, round((now - before) / max(requests, 1) * 1000, 2)


def summary(latencies, elapsed, errors) -> dict:
    return {
        "requests": len(latencies),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(loadkit.percentile(latencies, 50) * 1000, 1),
        "p95_ms": round(loadkit.percentile(latencies, 95) * 1000, 1),
        "p99_ms": round(loadkit.percentile(latencies, 99) * 1000, 1),
        "errors": errors,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--workers", type=int, default=loadkit.installer_workers())
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--max-seconds", type=float, default=120)
    parser.add_argument("--port", type=int, default=None, help="Port for gunicorn (default: any free one).")
    parser.add_argument("--warmup", type=int, default=0,
                        help="Scans sent first and not counted, so that every worker has compiled its hot "
                             "queries once (the steady state); their figures are reported as 'warmup'.")
    parser.add_argument("--setup", action="store_true",
                        help="Make a fresh plant (1 000 drivers, 20 000 movements) in --data-dir first.")
    args = parser.parse_args()

    data_dir = args.data_dir.resolve()
    if args.setup:
        plant = loadkit.make_plant(data_dir, database_url=args.database_url, drivers=1000, movements=20_000,
                                   days=18, users=args.clients)
    else:
        plant = loadkit.existing_plant(data_dir, database_url=args.database_url, users=args.clients)
    result = {"load_average_at_start": os.getloadavg(), "workers": args.workers, "clients": args.clients, "cores": os.cpu_count(),
              "database": "postgresql" if args.database_url else "sqlite"}
    with loadkit.Server(plant.env, args.workers, data_dir / "gunicorn-bench.log", port=args.port) as server:
        cpu = server_cpu(server)
        result["healthz"] = plain_load(server.port, "/healthz", args.clients, args.requests, args.max_seconds)
        cpu, result["healthz"]["server_cpu_ms_per_request"] = per_request(server, cpu, result["healthz"]["requests"])
        if args.warmup:
            warm = loadkit.run_clients(server.port, plant, clients=args.clients, scans=args.warmup,
                                       seed=int(time.time()) + 1, prefix="warm", deadline_seconds=args.max_seconds)
            result["warmup"] = summary(warm.latencies, warm.elapsed, len(warm.errors))
        started = {}  # the workers' CPU once the clients have logged in (a password hash each)
        tally = loadkit.run_clients(server.port, plant, clients=args.clients, scans=args.requests,
                                    seed=int(time.time()), prefix="bench", deadline_seconds=args.max_seconds,
                                    on_start=lambda: started.update(cpu=server_cpu(server)))
        result["scan"] = summary(tally.latencies, tally.elapsed, len(tally.errors))
        _cpu, result["scan"]["server_cpu_ms_per_request"] = per_request(server, started["cpu"], len(tally.latencies))
        result["scan"]["accepted"] = len(tally.movement_ids)
        result["scan"]["refused"] = len(tally.refused_nonces)
        result["scan"]["duplicates"] = tally.duplicates
        log = server.log_text()
    result["scan"]["database_locked_in_log"] = loadkit.database_locked(log)
    result["load_average_at_end"] = os.getloadavg()
    result["ratio_scan_to_healthz"] = round(result["scan"]["req_per_s"] / result["healthz"]["req_per_s"], 3)
    result["cpu_ratio_healthz_to_scan"] = round(
        result["healthz"]["server_cpu_ms_per_request"] / max(result["scan"]["server_cpu_ms_per_request"], 0.01), 3)
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
