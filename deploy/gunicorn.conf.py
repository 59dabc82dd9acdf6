"""gunicorn settings for the qrgate.service unit and `make run` (values from the environment,
/etc/qrgate/qrgate.env on a server).

QRGATE_BIND     address:port to listen on (default 0.0.0.0:5000, the whole LAN)
QRGATE_WORKERS  worker processes; empty = 2 per CPU core + 1, at most 9 (SQLite has one writer)
QRGATE_THREADS  threads per worker (default 100): how many requests one worker serves at once
QRGATE_TIMEOUT  seconds before a worker whose main loop stopped answering is killed and
                replaced (default 300)

Threaded workers (gthread): a worker's main loop accepts connections and waits for their
bytes without tying up anything; a request gets one of the worker's threads only once its
first bytes arrived, and keeps it until it is answered. A phone on bad Wi-Fi, or a client that
sends a request a byte at a time (slowloris), holds one thread and nothing else: with
QRGATE_WORKERS x QRGATE_THREADS threads (3 x 100 under `make run`) the booths keep scanning
while hundreds of such connections hang. Synchronous workers would each be held by one of
them: two slow sockets froze every booth.

On SQLite each thread that touches the database has its own connection and writers queue on
SQLite's busy timeout; on PostgreSQL Django's connection pool lends a process at most
DB_POOL_SIZE connections (qrgate/settings.py). Threads are made
only when that many requests are in flight at once, so a quiet gate has a few.

The unit and `make run` add --no-control-socket and --forwarded-allow-ips on their command
line; `make run` also gives --bind and --workers (PORT, WORKERS).
"""

import os


def _workers() -> int:
    configured = os.environ.get("QRGATE_WORKERS", "").strip()
    if configured:
        return max(1, int(configured))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(2 * cores + 1, 9)


bind = [address.strip() for address in os.environ.get("QRGATE_BIND", "0.0.0.0:5000").split(",") if address.strip()]
workers = _workers()
worker_class = "gthread"
threads = max(1, int(os.environ.get("QRGATE_THREADS", "").strip() or 100))
# A worker takes no more connections than it has threads: a request never waits in a worker
# whose threads are all held by slow clients while another worker has free ones (the full
# worker stops accepting). So no keep-alive: each response closes its connection, as with
# synchronous workers, and a connection that sends nothing within 5 s is closed.
worker_connections = threads
keepalive = 0
timeout = int(os.environ.get("QRGATE_TIMEOUT", "").strip() or 300)
graceful_timeout = 20
# Logs go to stderr, which the unit hands to the journal.
accesslog = "-"
errorlog = "-"
# The journal stamps each line; gunicorn's own timestamp would be noise.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
