"""`make bench`: every benchmark of bench/ in one run, each figure beside its reference.

    .venv/bin/python bench/run.py [--postgres URL] [--skip-xlsx-1m] [--fresh] [--only screens,export,scan]

Data sets live in bench/out/ (git-ignored), made once by seed_demo and reused:
sqlite-20k and sqlite-2m (5 000 drivers, 300 inside, the same ~1 100 movements a day;
18 days of history against 5 years), and with --postgres the same two in the databases
<URL>_20k and <URL>_2m. Each comparison is a ratio measured in this run, so a noisy
machine slows both sides. Writes bench/out/results.json and prints a summary; copy the
figures into bench/RESULTS.md with the machine they ran on.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import loadkit  # bench/loadkit.py: a script's own folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

DATASETS = {
    "20k": ["--drivers", "5000", "--movements", "20000", "--days", "18"],
    "2m": ["--drivers", "5000", "--movements", "2000000", "--days", "1825"],
}


def ensure_postgres_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def dataset(name: str, database_url: str | None, fresh: bool) -> dict:
    """The environment of a loaded data set, seeding it when missing (or --fresh)."""
    label = f"{'pg' if database_url else 'sqlite'}-{name}"
    data_dir = OUT / label
    data_dir.mkdir(parents=True, exist_ok=True)
    if database_url:
        ensure_postgres_database(database_url)
    env = loadkit.plant_env(data_dir, database_url)
    marker = data_dir / "dataset.json"
    wanted = {"args": DATASETS[name], "database_url": database_url}
    if fresh or not marker.exists() or json.loads(marker.read_text()) != wanted:
        print(f"  seeding {label} …", flush=True)
        loadkit.manage(env, "migrate", "--noinput", "-v0")
        print("  " + loadkit.manage(env, "seed_demo", "--reset", *DATASETS[name], timeout=3600).strip(), flush=True)
        marker.write_text(json.dumps(wanted))
    return env


def run_script(script: str, env: dict, *args: str, timeout: float = 3600) -> dict:
    result = subprocess.run([sys.executable, f"bench/{script}", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    for line in result.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{script} {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split(":")[1].strip()
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "memory": mem, "python": platform.python_version(),
            "system": platform.platform(), "load_average_at_start": os.getloadavg()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", ""),
                        help="e.g. postgres://postgres@127.0.0.1:5432/qrgate_bench (databases _20k, _2m)")
    parser.add_argument("--only", default="screens,export,scan")
    parser.add_argument("--skip-xlsx-1m", action="store_true", help="skip the 1 M row XLSX (as long as the CSV)")
    parser.add_argument("--fresh", action="store_true", help="re-seed the data sets")
    parser.add_argument("--scan-requests", type=int, default=2000)
    args = parser.parse_args()
    only = set(args.only.split(","))
    results = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    backends = [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else [])

    if "screens" in only:
        for backend, url in backends:
            figures = {}
            for name in DATASETS:
                env = dataset(name, url and f"{url}_{name}", args.fresh)
                figures[name] = run_script("screens.py", env)
            results[f"screens_{backend}"] = figures
            print(f"\nScreens on {backend}: ms median (queries), 20 k → 2 M, ratio")
            for screen, small in figures["20k"]["screens"].items():
                big = figures["2m"]["screens"][screen]
                ratio = big["median_ms"] / small["median_ms"]
                print(f"  {screen:40s} {small['median_ms']:7.1f} ({small['queries']}) → "
                      f"{big['median_ms']:7.1f} ({big['queries']})  ×{ratio:.2f}")

    if "export" in only:
        env = dataset("2m", None, False)
        figures = {}
        # CSV and XLSX side by side at each size, one process each (so each peak RSS is its own).
        for rows in (10_000, 1_000_000):
            for fmt in ("csv", "xlsx"):
                if fmt == "xlsx" and rows > 10_000 and args.skip_xlsx_1m:
                    continue
                figures[f"{fmt}_{rows}"] = run_script("export.py", env, "--format", fmt, "--rows", str(rows))
        results["export_sqlite"] = figures
        print("\nExport (SQLite, 2 M history): rows, first byte, wall and CPU time, rows/s, peak RSS")
        for key, fig in figures.items():
            print(f"  {key:14s} {fig['rows']:>9} rows  first byte {fig['first_byte_s']:6.3f} s  "
                  f"{fig['seconds']:7.1f} s (CPU {fig['cpu_s']:6.1f} s)  {fig['rows_per_s']:>7} rows/s  "
                  f"{fig['peak_rss_mb']:7.1f} MB")
        for rows in (10_000, 1_000_000):
            csv_fig, xlsx_fig = figures.get(f"csv_{rows}"), figures.get(f"xlsx_{rows}")
            if csv_fig and xlsx_fig:
                print(f"  XLSX / CSV at {rows}: wall ×{xlsx_fig['seconds'] / csv_fig['seconds']:.2f}, "
                      f"CPU ×{xlsx_fig['cpu_s'] / csv_fig['cpu_s']:.2f}")

    if "scan" in only:
        for backend, url in backends:
            env = dataset("2m", url and f"{url}_2m", False)
            data_dir = Path(env["QRGATE_DATA_DIR"])
            extra = ["--database-url", url + "_2m"] if url else []
            fig = run_script("scan_load.py", env, "--data-dir", str(data_dir), "--requests",
                             str(args.scan_requests), *extra)
            results[f"scan_{backend}"] = fig
            print(f"\nScan load on {backend} ({fig['workers']} workers, {fig['clients']} clients, 2 M history):")
            for key in ("healthz", "scan"):
                f = fig[key]
                print(f"  {key:8s} {f['req_per_s']:7.1f} req/s  p50 {f['p50_ms']:6.1f} ms  p99 {f['p99_ms']:7.1f} ms"
                      f"  errors {f['errors']}")
            print(f"  scans / healthz throughput: {fig['ratio_scan_to_healthz']:.2f}")

    results["load_average_at_end"] = os.getloadavg()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    print(f"\nAll figures in {OUT / 'results.json'}")


if __name__ == "__main__":
    main()
