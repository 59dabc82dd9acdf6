"""gunicorn settings for the qrgate.service unit (values from /etc/qrgate/qrgate.env).

QRGATE_BIND     address:port to listen on (default 0.0.0.0:5000, the whole LAN)
QRGATE_WORKERS  worker processes; empty = 2 per CPU core + 1, at most 9 (SQLite has one writer)
QRGATE_TIMEOUT  seconds before a stuck worker is killed and replaced (default 300: a large
                history export streams for a while in one request)

The unit adds --no-control-socket and --forwarded-allow-ips on its command line.
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
timeout = int(os.environ.get("QRGATE_TIMEOUT", "300"))
graceful_timeout = 20
# Logs go to stderr, which the unit hands to the journal.
accesslog = "-"
errorlog = "-"
# The journal stamps each line; gunicorn's own timestamp would be noise.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
