"""Deliver the outbox: webhooks (signed JSON POSTs) and e-mail alerts, with retries.

    manage.py run_outbox            # loop forever (systemd: deploy/qrgate-worker.service)
    manage.py run_outbox --once     # deliver what is due now, then exit (cron, tests)

Every pending event and retry lives in the database (stations.OutboxEvent, Delivery), so
the worker can be stopped or restarted at any time and several may run at once: a
delivery is claimed by one worker only. SIGTERM finishes the current pass and exits.
"""

import signal
import threading

from django.core.management.base import BaseCommand

from stations import worker


class Command(BaseCommand):
    help = "Send webhooks and e-mail alerts from the outbox (loops; --once for one pass)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Deliver what is due now, then exit.")
        parser.add_argument("--poll", type=float, default=worker.POLL_SECONDS,
                            help="Seconds between polls when idle (default %(default)s).")

    def handle(self, *args, **options):
        if options["once"]:
            events, sent, failed = worker.drain()
            self.stdout.write(f"{events} events fanned out, {sent} delivered, {failed} failed")
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.stdout.write(f"Delivering the outbox every {options['poll']} s (SIGTERM stops)")
        worker.run(stop, poll=max(options["poll"], 0.05))
        self.stdout.write("Stopped.")
