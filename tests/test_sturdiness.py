"""The gate under stress: racing stations, many writers, a killed worker, hostile scan input.

The multi-process tests start a real gunicorn on 127.0.0.1 over a throwaway SQLite
database (bench/loadkit.py), because "database is locked" and a worker dying half-way
only happen between processes, never inside one test process.
"""

import os
import signal
import threading
import time

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from bench import loadkit
from drivers.models import Direction, Driver, Movement, RefusedScan
from drivers.services import record_scan
from stations.models import Station, StationKind

ROUNDS = 200


# --- (a) two stations, one driver, one moment ----------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_two_stations_scanning_the_same_driver_at_once_never_record_two_entries(caseta):
    """200 times, two entry gates scan the same driver at the same instant from two threads."""
    gates = [Station.objects.create(name=f"Entrada {n}", code=f"E{n}", kind=StationKind.ENTRY) for n in (1, 2)]
    Driver.objects.bulk_create(
        Driver(full_name=f"Chofer {i}", license_number=f"RACE{i:05d}", company="Fletes") for i in range(ROUNDS)
    )
    drivers = list(Driver.objects.order_by("id"))
    barrier = threading.Barrier(2)
    results = [[], []]
    errors = []

    def station_worker(index):
        try:
            for driver in drivers:
                barrier.wait(30)
                result = record_scan(code=driver.badge_code, station=gates[index], operator=caseta)
                results[index].append(result.accepted)
        except Exception as exc:  # noqa: BLE001 - reported below, the other thread must not hang
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=station_worker, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert not errors
    accepted_per_round = [a + b for a, b in zip(*results)]
    assert accepted_per_round == [1] * ROUNDS
    assert Movement.objects.filter(direction=Direction.IN).count() == ROUNDS
    assert RefusedScan.objects.filter(reason="already_inside").count() == ROUNDS
    for driver in drivers:
        assert list(driver.movements.values_list("direction", flat=True)) == [Direction.IN]
        assert driver.visits.filter(left_at__isnull=True).count() == 1


# --- (b) and (c): many writers through gunicorn ----------------------------------------------

@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    """A migrated SQLite plant of 300 drivers (all outside) and 4 booth users, in a temp dir."""
    data_dir = tmp_path_factory.mktemp("plant")
    return data_dir, loadkit.make_plant(data_dir, drivers=300, users=4)


def test_many_writers_on_sqlite_make_no_error_and_lose_nothing(plant):
    """4 workers, 20 booths, 2 000 scans over 8 stations: every answer is a scan result."""
    data_dir, the_plant = plant
    before = loadkit.sqlite_counts(data_dir)
    with loadkit.Server(the_plant.env, 4, data_dir / "gunicorn-b.log") as server:
        tally = loadkit.run_clients(server.port, the_plant, clients=20, scans=2000, prefix="b")
        log = server.log_text()
    movements, refused = loadkit.sqlite_counts(data_dir)

    assert tally.requests == 2000
    assert tally.errors == []
    assert not loadkit.database_locked(log) and "Traceback" not in log
    assert movements - before[0] == len(tally.movement_ids) > 100
    assert refused - before[1] == len(tally.refused_nonces) > 100
    assert len(tally.movement_ids) + len(tally.refused_nonces) + tally.duplicates == 2000


def test_a_worker_killed_mid_load_loses_no_accepted_scan_and_is_replaced(plant):
    """SIGKILL one of 4 workers while 8 booths scan; clients retry with the same nonce."""
    data_dir, the_plant = plant
    killed = {}

    with loadkit.Server(the_plant.env, 4, data_dir / "gunicorn-c.log") as server:
        def kill_one(done):
            if done == 150 and not killed:
                victim = server.worker_pids()[0]
                killed["pid"] = victim
                os.kill(victim, signal.SIGKILL)

        tally = loadkit.run_clients(server.port, the_plant, clients=8, scans=500, seed=2,
                                    retry_errors=True, on_progress=kill_one, prefix="k")
        assert killed, "the load ended before a worker was killed"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pids = server.worker_pids()
            if len(pids) == 4 and killed["pid"] not in pids:
                break
            time.sleep(0.2)
        assert len(pids) == 4 and killed["pid"] not in pids, "the master did not replace the worker"

        # Scans resume on the replaced worker set.
        after = loadkit.run_clients(server.port, the_plant, clients=4, scans=100, seed=3, prefix="r")

    assert tally.errors == [] and after.errors == []
    assert tally.requests >= 500
    stored = loadkit.sqlite_movement_ids(data_dir)
    assert tally.movement_ids <= stored
    assert after.movement_ids <= stored and after.movement_ids


# --- (d) hostile text at the scan operation -------------------------------------------------

hostile_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=80),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    st.sampled_from([
        "", " ", "\x00", "\x00" * 64, "A" * 10_000, "é" * 10_000, "🚚" * 3000,
        "'; DROP TABLE drivers_movement; --", "\" OR 1=1 --", "<script>alert(1)</script>",
        "https://example.com/?q=<b>", "javascript:alert(1)", "%00%27", "\r\n\t", "\u202e\u200b",
        "A" * 25, "A" * 27, "AAAAAAAAAAAAAAAAAAAAAAAAA\x00A", "ÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀÀ",
    ]),
)


@pytest.mark.django_db
@hsettings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=hostile_text)
def test_hostile_text_is_refused_as_a_scan_and_never_records_a_movement(text, stations, caseta, driver):
    for station in stations.values():
        result = record_scan(code=text, station=station, operator=caseta)
        assert not result.accepted and result.reason in ("invalid", "unknown")
        assert result.message
    assert not Movement.objects.exists()
    for raw in RefusedScan.objects.values_list("raw_input", flat=True):
        assert len(raw) <= 64 and "\x00" not in raw
