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


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")
def test_a_burst_on_many_threads_holds_at_most_db_pool_size_connections_to_postgresql():
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

