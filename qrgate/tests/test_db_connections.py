"""The database under threaded gunicorn workers: many threads in one process.

(SQLite's many writers through threaded gunicorn workers: tests/test_sturdiness.py.)
"""

import threading

import pytest
from django.conf import settings
from django.core import signals
from django.db import connection, connections

from drivers.models import Driver

THREADS = 30

pytestmark = pytest.mark.django_db(transaction=True)


def run_requests_in_threads(work, count=THREADS):
    """`count` threads each serve one request (request_started/finished around `work`) at
    the same moment, and stay alive afterwards like a worker's idle threads."""
    barrier, done, release = threading.Barrier(count), threading.Barrier(count + 1), threading.Event()
    errors = []

    def thread():
        try:
            barrier.wait(30)
            signals.request_started.send(sender=None)
            work()
            signals.request_finished.send(sender=None)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            done.wait(30)
            release.wait(30)
            connections.close_all()

    threads = [threading.Thread(target=thread) for _ in range(count)]
    for t in threads:
        t.start()
    done.wait(30)
    return threads, release, errors


def test_a_burst_on_many_threads_gets_through_without_exhausting_the_database():
    """PostgreSQL: Django's pool lends a process at most DB_POOL_SIZE connections. SQLite
    (one file, no server to exhaust): the same burst of threads, each writing at once,
    all get through on Django's own backend, queued by SQLite's busy timeout."""
    if connection.vendor != "postgresql":
        def write():
            Driver.objects.create(full_name="Ráfaga", license_number=f"B{threading.get_ident() % 10**9:09d}",
                                  company="Transportes", phone="5512345678")

        threads, release, errors = run_requests_in_threads(write)
        release.set()
        for t in threads:
            t.join(30)
        assert errors == []
        assert Driver.objects.filter(full_name="Ráfaga").count() == THREADS
        return

    def backends():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            return cursor.fetchone()[0]

    before = backends()
    threads, release, errors = run_requests_in_threads(lambda: Driver.objects.count())
    try:
        open_now = backends() - before
    finally:
        release.set()
        for t in threads:
            t.join(30)
    assert errors == []
    assert open_now <= settings.DB_POOL_SIZE < THREADS
