"""Django's SQLite backend, with one write transaction at a time per process.

gunicorn's threaded workers run up to QRGATE_THREADS requests of one process at once. SQLite
lets one writer in at a time and makes the others poll (the busy timeout); with dozens of
threads polling, one of them can lose every round for longer than the timeout and fail with
"database is locked". Here a process's threads queue on a lock instead, from BEGIN IMMEDIATE
to COMMIT or ROLLBACK, so SQLite sees at most one waiting writer per process, as with one
request per process.
"""

import threading

from django.db.backends.sqlite3 import base

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _writer_lock(name) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(name), threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_writer_lock = None

    def _start_transaction_under_autocommit(self):
        lock = _writer_lock(self.settings_dict["NAME"])
        # Never wait forever: after the busy timeout SQLite's own waiting takes over.
        if lock.acquire(timeout=float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))):
            self._holds_writer_lock = lock
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer_lock()
            raise

    def _release_writer_lock(self):
        lock, self._holds_writer_lock = self._holds_writer_lock, None
        if lock is not None:
            lock.release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_writer_lock()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_writer_lock()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_writer_lock()
