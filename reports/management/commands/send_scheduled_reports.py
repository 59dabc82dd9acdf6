"""Send the scheduled history reports that are due: each one once per scheduled time.

    manage.py send_scheduled_reports [--dry-run] [--now 2026-12-07T07:05]

Run every few minutes by deploy/qrgate-reports.timer. For each active schedule whose latest
scheduled time (daily or weekly, at an hour of the plant's time zone) has passed without a
run, the saved filter is exported (its relative dates resolved for that day) and e-mailed
to the subscribers: attached up to REPORT_ATTACH_MAX_BYTES, else as a link for each of them
valid REPORT_LINK_MAX_AGE seconds. Each run is recorded (rows, to whom, error) before the
file is made, so a second command at the same time sends nothing twice. Files of expired
links are deleted. Prints one line.
"""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports import services


class Command(BaseCommand):
    help = "Send the scheduled history reports that are due (each once per scheduled time)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="list what is due, send nothing")
        parser.add_argument("--now", help="act as if it were this plant time (ISO), e.g. to test a schedule")

    def handle(self, *args, dry_run=False, now=None, **options):
        if now:
            try:
                now = datetime.fromisoformat(now)
            except ValueError:
                raise CommandError("--now: use an ISO date and time, e.g. 2026-12-07T07:05") from None
            if timezone.is_naive(now):
                now = timezone.make_aware(now)
        summary = services.run_due_reports(now=now, dry_run=dry_run)
        pruned = 0 if dry_run else services.prune_files(now)
        names = ", ".join(str(s.saved_filter) for s in summary.due)
        prefix = "Dry run: " if dry_run else ""
        line = f"{prefix}{summary}" + (f" ({names})" if names else "") + (f" {pruned} old file(s) deleted." if pruned else "")
        self.stdout.write(line)
