"""The SQLite backend queues the writers of several processes on an flock beside the database.

Each test opens its own SQLite file through the backend, whatever database the suite runs on.
"""

import fcntl
import os
import threading
import time

import pytest
from django.db.utils import ConnectionHandler


@pytest.fixture
def sqlite(tmp_path, django_db_blocker):
    handlers = []
    django_db_blocker.unblock()  # its own throwaway file, not the test database

    def open_connection():
        handler = ConnectionHandler(
            {"default": {"ENGINE": "qrgate.db.sqlite3", "NAME": str(tmp_path / "plant.sqlite3"),
                         "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 5}}}
        )
        handlers.append(handler)
        connection = handler["default"]
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS scans (code TEXT)")
        return connection

    yield open_connection
    for handler in handlers:
        handler.close_all()
    django_db_blocker.restore()


def write(connection, code):
    connection._start_transaction_under_autocommit()  # what transaction.atomic() does first
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO scans VALUES (%s)", [code])


def is_locked(path):
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def test_a_write_transaction_holds_the_lock_file_until_it_commits(sqlite):
    connection = sqlite()
    write(connection, "A")
    path = connection._write_lock_path()
    assert is_locked(path)  # another worker would wait here, not in SQLite's busy sleeps
    connection.commit()
    assert not is_locked(path)


def test_a_rollback_or_a_closed_connection_frees_the_lock(sqlite):
    connection = sqlite()
    write(connection, "A")
    connection.rollback()
    assert not is_locked(connection._write_lock_path())
    write(connection, "B")
    connection.close()
    assert not is_locked(connection._write_lock_path())


def test_a_second_writer_waits_for_the_first_then_goes_in(sqlite):
    first = sqlite()
    write(first, "A")
    done = threading.Event()

    def later():
        second = sqlite()  # another worker, with its own connection
        write(second, "B")
        second.commit()
        done.set()

    thread = threading.Thread(target=later)
    thread.start()
    time.sleep(0.3)
    assert not done.is_set()
    first.commit()
    thread.join(5)
    assert done.is_set()
    with first.cursor() as cursor:
        cursor.execute("SELECT code FROM scans ORDER BY code")
        assert [row[0] for row in cursor.fetchall()] == ["A", "B"]


def test_a_lock_file_it_may_not_open_does_not_stop_writes(sqlite, monkeypatch):
    connection = sqlite()

    def refuse(*args, **kwargs):
        raise PermissionError("owned by another user")

    monkeypatch.setattr("qrgate.db.sqlite3.base.os.open", refuse)
    write(connection, "A")
    connection.commit()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM scans")
        assert cursor.fetchone()[0] == 1
