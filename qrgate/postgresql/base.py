"""Django's PostgreSQL backend, keeping at most DB_KEEP_CONNECTIONS connections per process.

Each thread of a threaded gunicorn worker has its own connection, kept between requests
(CONN_MAX_AGE). After a burst (or slow clients) a worker has many threads, and they take
turns, so each would end up holding a connection: 5 workers x 100 threads is more than
PostgreSQL's 100. Here a request that ends while the process holds more than
DB_KEEP_CONNECTIONS connections closes its own, so the process keeps that many open at rest.
"""

import threading

from django.conf import settings
from django.db.backends.postgresql import base

_open = set()
_open_guard = threading.Lock()


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        with _open_guard:
            _open.add(id(self))
        return connection

    def _close(self):
        try:
            return super()._close()
        finally:
            with _open_guard:
                _open.discard(id(self))

    def close_if_unusable_or_obsolete(self):
        super().close_if_unusable_or_obsolete()
        if self.connection is None or self.in_atomic_block:
            return
        with _open_guard:
            too_many = len(_open) > getattr(settings, "DB_KEEP_CONNECTIONS", 8)
        if too_many:
            self.close()
