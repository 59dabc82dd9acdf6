"""Saved filters and scheduled reports: every write and the report run, in one place.

The history page, the admin and the `send_scheduled_reports` command all go through these
functions. Dates are the plant's (settings.TIME_ZONE): a saved "last week" is resolved on
the day it is used, a scheduled report at its scheduled time.

Every refusal is a ValidationError with a code: name_required, invalid_period,
invalid_filters, not_owner, weekday_required, subscriber_not_allowed (and the model's own
codes for a schedule's fields).
"""

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from drivers import exports, selectors
from drivers.filters import HistoryFilter, history_querysets

from .models import Frequency, Period, ReportRun, ReportSchedule, SavedFilter

log = logging.getLogger(__name__)
DATE_KEYS = ("date_from", "date_to")
LINK_SALT = "reports.download"


# -- Dates ------------------------------------------------------------------------------

def resolve_period(period: str, today: date) -> tuple[date, date]:
    """(first day, last day) of a relative period, seen from `today` (a plant date)."""
    monday = today - timedelta(days=today.weekday())
    first_of_month = today.replace(day=1)
    if period == Period.TODAY:
        return today, today
    if period == Period.YESTERDAY:
        return today - timedelta(days=1), today - timedelta(days=1)
    if period == Period.LAST_7_DAYS:
        return today - timedelta(days=6), today
    if period == Period.THIS_WEEK:
        return monday, today
    if period == Period.LAST_WEEK:
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if period == Period.THIS_MONTH:
        return first_of_month, today
    if period == Period.LAST_MONTH:
        last = first_of_month - timedelta(days=1)
        return last.replace(day=1), last
    raise ValidationError(_("Choose dates from the list."), code="invalid_period")


def resolved_query(saved: SavedFilter, today: date | None = None) -> dict[str, str]:
    """The history's query for `saved`, its relative dates made real for `today`."""
    query = {key: str(value) for key, value in saved.query.items() if value not in (None, "")}
    if saved.period:
        start, end = resolve_period(saved.period, today or timezone.localdate())
        query.update(date_from=start.isoformat(), date_to=end.isoformat())
    return query


def clean_query(data) -> dict[str, str]:
    """The history filters in `data` (a QueryDict or dict), checked; ValidationError if invalid."""
    keys = HistoryFilter.base_filters.keys()
    query = {key: data.get(key) for key in keys if data.get(key) not in (None, "")}
    filterset = HistoryFilter(query)
    if not filterset.is_valid():
        raise ValidationError(_("These filters are not valid: correct them before saving."), code="invalid_filters")
    return {key: str(value) for key, value in query.items()}


# -- Saved filters -----------------------------------------------------------------------

def visible_filters(user):
    """The saved filters `user` may use: his own and those shared by others."""
    return SavedFilter.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner")


@transaction.atomic
def save_filter(*, by, name: str, query, period: str = "", shared: bool = False) -> SavedFilter:
    """Save the history filters `query` under `name` for the user `by` (replacing his filter of that name).

    With a `period`, the fixed dates of `query` are dropped: the period gives the dates
    each time the filter is used. Raises ValidationError for an empty name, an unknown
    period or filters the history would refuse.
    """
    name = " ".join((name or "").split())[:80]
    if not name:
        raise ValidationError(_("Give the filter a name."), code="name_required")
    if period and period not in Period.values:
        raise ValidationError(_("Choose dates from the list."), code="invalid_period")
    query = clean_query(query)
    if period:
        for key in DATE_KEYS:
            query.pop(key, None)
    saved, _created = SavedFilter.objects.update_or_create(
        owner=by, name=name, defaults={"query": query, "period": period, "shared": shared}
    )
    return saved


@transaction.atomic
def delete_filter(*, saved: SavedFilter, by) -> None:
    """Delete a saved filter (and its schedules and their runs): its owner only."""
    if saved.owner_id != by.pk:
        raise ValidationError(_("Only the owner of a saved filter can delete it."), code="not_owner")
    saved.delete()


# -- Schedules ---------------------------------------------------------------------------

def subscriber_choices():
    """Who may receive a report: active users with an e-mail who may export the history."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    perm = Permission.objects.get(content_type__app_label="drivers", codename="export_history")
    return (
        get_user_model().objects.filter(is_active=True).exclude(email="")
        .filter(Q(is_superuser=True) | Q(groups__permissions=perm) | Q(user_permissions=perm))
        .distinct().order_by("username")
    )


@transaction.atomic
def schedule_report(*, saved: SavedFilter, by, frequency: str, hour: int, weekday: int | None = None,
                    fmt: str = "xlsx", subscribers=(), is_active: bool = True,
                    schedule: ReportSchedule | None = None) -> ReportSchedule:
    """Create (or change) the schedule of a saved filter; its owner only.

    A daily report has no weekday; a weekly one needs one. Subscribers must be allowed to
    export the history and have an e-mail.
    """
    if saved.owner_id != by.pk:
        raise ValidationError(_("Only the owner of a saved filter can schedule its report."), code="not_owner")
    weekday = weekday if frequency == Frequency.WEEKLY else None
    if frequency == Frequency.WEEKLY and weekday is None:
        raise ValidationError(_("Choose the day of the week."), code="weekday_required")
    allowed = set(subscriber_choices().values_list("pk", flat=True))
    if any(user.pk not in allowed for user in subscribers):
        raise ValidationError(_("Every subscriber needs an e-mail and the permission to export the history."),
                              code="subscriber_not_allowed")
    schedule = schedule or ReportSchedule(saved_filter=saved, created_by=by)
    schedule.frequency, schedule.weekday, schedule.hour = frequency, weekday, hour
    schedule.format, schedule.is_active = fmt, is_active
    schedule.full_clean(exclude=["saved_filter", "created_by"])
    schedule.save()
    schedule.subscribers.set(subscribers)
    return schedule


def last_due(schedule: ReportSchedule, now: datetime) -> datetime:
    """The latest scheduled time at or before `now` (aware), on the plant's clock."""
    local = timezone.localtime(now)
    day = local.date()
    if schedule.frequency == Frequency.WEEKLY:
        day -= timedelta(days=(day.weekday() - schedule.weekday) % 7)
    due = timezone.make_aware(datetime.combine(day, time(schedule.hour)))
    if due > now:
        due = timezone.make_aware(datetime.combine(
            day - timedelta(days=7 if schedule.frequency == Frequency.WEEKLY else 1), time(schedule.hour)))
    return due


# -- Running reports ---------------------------------------------------------------------

@dataclass
class RunSummary:
    sent: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    due: list = field(default_factory=list)

    def __str__(self):  # the command's line in the journal, in English like the rest of the log
        return f"{len(self.due)} report(s) due, {len(self.sent)} sent, {len(self.failed)} failed."


def reports_dir() -> Path:
    """Where a report is produced, on this server, before it is mailed or stored."""
    path = Path(settings.DATA_DIR) / "reports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def due_schedules(now: datetime) -> list[tuple[ReportSchedule, datetime]]:
    """Active schedules whose latest scheduled time has passed without a run."""
    due = []
    for schedule in ReportSchedule.objects.filter(is_active=True).select_related("saved_filter"):
        at = last_due(schedule, now)
        if at < schedule.created_at:  # scheduled after that time: its first run is the next one
            continue
        if not ReportRun.objects.filter(schedule=schedule, due_at=at).exists():
            due.append((schedule, at))
    return due


def run_due_reports(*, now: datetime | None = None, dry_run: bool = False) -> RunSummary:
    """Send every report whose scheduled time has passed and that was not sent for that time.

    Idempotent: a run is claimed by inserting its ReportRun (unique per schedule and
    scheduled time) before anything is produced, so two runs of the command at once, or
    one every few minutes, send each report once. A missed time (the machine was off) is
    sent late, once; only the latest missed time of each schedule.
    """
    now = now or timezone.now()
    summary = RunSummary()
    for schedule, due_at in due_schedules(now):
        summary.due.append(schedule)
        if dry_run:
            continue
        try:
            with transaction.atomic():
                run = ReportRun.objects.create(schedule=schedule, due_at=due_at, started_at=now)
        except IntegrityError:  # another runner claimed it first
            summary.due.pop()
            continue
        send_run(run)
        (summary.failed if run.error else summary.sent).append(run)
    return summary


def send_run(run: ReportRun) -> ReportRun:
    """Produce the run's file and e-mail it (attached, or as a link) to each subscriber."""
    schedule, saved = run.schedule, run.schedule.saved_filter
    with translation.override(settings.LANGUAGE_CODE):
        try:
            path = _produce(run, today=timezone.localdate(run.due_at))
            try:
                attach = run.file_size <= settings.REPORT_ATTACH_MAX_BYTES
                run.attached = attach
                if not attach:  # stored before any link to it is mailed
                    _keep(run, path)
                recipients = list(subscriber_choices().filter(pk__in=schedule.subscribers.values("pk")))
                for user in recipients:
                    _mail(run, saved, user, path if attach else None)
                    run.sent_to.append(user.email)
            finally:
                path.unlink(missing_ok=True)  # attached: it went with the mail; linked: stored
            if not recipients:
                run.error = _("No subscriber with an e-mail may receive it.")
        except ValidationError as error:
            run.error = " ".join(error.messages)
        except Exception as error:  # noqa: BLE001 - listed on the run, the next report still goes
            log.exception("report run %s failed", run.pk)
            run.error = f"{type(error).__name__}: {error}"[:2000]
    run.finished_at = timezone.now()
    run.save()
    return run


def _produce(run: ReportRun, *, today: date) -> Path:
    saved = run.schedule.saved_filter
    query = resolved_query(saved, today=today)
    filterset, movements, refused = history_querysets(query)
    if filterset.errors:
        raise ValidationError(_("The saved filters are no longer valid (a station or user was removed?)."),
                              code="invalid_filters")
    cleaned = filterset.form.cleaned_data
    run.date_from, run.date_to = cleaned.get("date_from"), cleaned.get("date_to")
    fmt = run.schedule.format
    run.file_name = exports.file_name(cleaned, fmt)
    path = reports_dir() / f"run-{run.pk}.{fmt}"
    rows, count = selectors.history_rows(movements, refused), exports.ExportCount()
    if fmt == "csv":
        chunks = exports.csv_chunks(rows, count)
    else:
        described = [(_("Saved filter"), saved.name)] + exports.describe_filters(filterset.form)
        chunks = exports.xlsx_chunks(rows, described, count)
    with open(path, "wb") as out:
        for chunk in chunks:
            out.write(chunk)
    run.rows, run.file_size = count.rows, path.stat().st_size
    return path


def download_token(run: ReportRun, user) -> str:
    return signing.dumps({"run": run.pk, "user": user.pk}, salt=LINK_SALT)


def check_download(run: ReportRun, user, token: str) -> bool:
    """True when `token` was made for this run and this user, within REPORT_LINK_MAX_AGE."""
    try:
        payload = signing.loads(token, salt=LINK_SALT, max_age=settings.REPORT_LINK_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired included
        return False
    return payload == {"run": run.pk, "user": user.pk}


def report_file(run: ReportRun) -> str:
    """The name of a linked report's file in the media storage (settings.STORAGES["default"],
    shared by every app server), never served by the /media/ view: only by `download`."""
    return f"{REPORTS_PREFIX}run-{run.pk}.{run.schedule.format}"


REPORTS_PREFIX = "reports/"
PRUNE_DAYS = 7


def _keep(run: ReportRun, path: Path) -> None:
    """Store the produced file whose link is mailed, so that any app server serves it."""
    name = report_file(run)
    default_storage.delete(name)  # a leftover of a restored database's run of the same id
    with open(path, "rb") as produced:
        default_storage.save(name, File(produced))


def _mail(run: ReportRun, saved: SavedFilter, user, attachment: Path | None) -> None:
    span = ""
    if run.date_from or run.date_to:
        span = f" ({run.date_from or '…'} – {run.date_to or '…'})"
    subject = f"{settings.PLANT_NAME}: {saved.name}{span}"
    lines = [
        _("Scheduled report \"%(name)s\": %(rows)s rows.") % {"name": saved.name, "rows": run.rows},
    ]
    if attachment is None:
        url = reverse("reports:download", args=[run.pk]) + "?t=" + download_token(run, user)
        days = settings.REPORT_LINK_MAX_AGE // 86400
        lines.append(_("The file is too large to attach. Download it (after logging in, for %(days)s "
                       "days, only with your account):") % {"days": days})
        lines.append(settings.REPORTS_BASE_URL.rstrip("/") + url)
    else:
        lines.append(_("The file is attached."))
    message = EmailMessage(subject, "\n\n".join(lines), None, [user.email])
    if attachment is not None:
        content_type = exports.XLSX_TYPE if run.schedule.format == "xlsx" else "text/csv"
        message.attach(run.file_name, attachment.read_bytes(), content_type)
    message.send()


def prune_files(now: datetime | None = None) -> int:
    """Delete the stored files of linked reports whose links have expired; returns how many.

    Only the runs that expired in the last PRUNE_DAYS are looked at (one look-up each in
    the storage, maybe a bucket, every 5 minutes), so the timer must not stop that long."""
    now = now or timezone.now()
    expired = now - timedelta(seconds=settings.REPORT_LINK_MAX_AGE)
    old = ReportRun.objects.filter(finished_at__lt=expired, attached=False,
                                   finished_at__gte=expired - timedelta(days=PRUNE_DAYS))
    removed = 0
    for run in old.select_related("schedule"):
        name = report_file(run)
        if default_storage.exists(name):
            default_storage.delete(name)
            removed += 1
    return removed
