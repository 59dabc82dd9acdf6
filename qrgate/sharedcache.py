"""The shared cache (CACHES: the database), used so that a failing cache never breaks a page.

Everything kept in the cache can be computed again or asked for again: a read that fails is
a miss, a write that fails is skipped, and both are logged. Use these instead of
`django.core.cache.cache` in views and selectors.
"""

import logging

from django.core.cache import cache
from django.db import connection, transaction

log = logging.getLogger(__name__)


def _guarded(operation, *args):
    """(True, result) or (False, None) when the cache failed (missing table, database error...)."""
    try:
        if connection.in_atomic_block and connection.vendor == "postgresql":
            # The database cache uses the caller's connection: on PostgreSQL a failed query
            # would abort the caller's whole transaction; a savepoint keeps it to this call.
            # (Views run outside transactions: this is for services and tests.)
            with transaction.atomic():
                return True, operation(*args)
        return True, operation(*args)
    except Exception:
        log.warning("The shared cache failed (%s); going on without it.", operation.__name__, exc_info=True)
        return False, None


def get(key: str, default=None):
    ok, value = _guarded(cache.get, key, default)
    return value if ok else default


def set(key: str, value, timeout: float) -> bool:
    """Keep `value`; False when the cache could not take it."""
    ok, _ = _guarded(cache.set, key, value, timeout)
    return ok


def delete(key: str) -> None:
    _guarded(cache.delete, key)


def clear() -> None:
    _guarded(cache.clear)
