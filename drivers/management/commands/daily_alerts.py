"""The day's alerts: documents about to expire, and the daily digest e-mails.

    manage.py daily_alerts             # deploy/qrgate-daily.timer runs it every morning
    manage.py daily_alerts --dry-run   # say what would be sent, write nothing

1. One `document.expiring` event per driver's document that enters its type's warning
   window (DocumentType.warn_days), once per document and expiry date: running the
   command twice a day, or every day of the window, tells each document once.
2. One digest e-mail per user who chose the daily digest, with his alerts of the last
   24 hours (banned drivers at the gate, forced movements, documents about to expire).
Both go through the outbox; the worker (run_outbox) sends them.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from drivers import selectors
from drivers.events import document_expiring_event
from stations import outbox
from stations.models import EventName, OutboxEvent


class Command(BaseCommand):
    help = "Emit document.expiring alerts and queue the daily digest e-mails (--dry-run writes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be sent; write nothing.")

    def handle(self, *args, **options):
        now = timezone.now()
        today = timezone.localdate(now)
        with transaction.atomic():
            told = {
                (e["document"]["id"], e["document"]["expires_on"])
                for e in OutboxEvent.objects.filter(
                    name=EventName.DOCUMENT_EXPIRING, created_at__gte=now - timedelta(days=400)
                ).values_list("payload", flat=True)
                if isinstance(e, dict) and isinstance(e.get("document"), dict)
            }
            new = [
                document_expiring_event(doc, today=today)
                for doc in selectors.expiring_documents(today, include_expired=False)
                if (doc.pk, doc.expires_on.isoformat()) not in told
            ]
            digests = 0
            if not options["dry_run"]:
                outbox.emit(new, station=None, at=now)
                digests = outbox.queue_digests(since=now - timedelta(hours=24), until=now + timedelta(seconds=1))
        verb = "would emit" if options["dry_run"] else "emitted"
        self.stdout.write(f"{verb} {len(new)} document.expiring events; {digests} digest e-mails queued")
