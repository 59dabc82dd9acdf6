"""Saved history filters, their schedules, and every run of a scheduled report.

A small app of its own beside `drivers` (whose filters and exports it uses): the history's
tables stay as they are, and its migrations do not queue behind the drivers app's.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Period(models.TextChoices):
    """Dates relative to the day a filter is used, resolved in the plant's time zone."""

    TODAY = "today", _("Today")
    YESTERDAY = "yesterday", _("Yesterday")
    LAST_7_DAYS = "last_7_days", _("Last 7 days")
    THIS_WEEK = "this_week", _("This week")
    LAST_WEEK = "last_week", _("Last week")
    THIS_MONTH = "this_month", _("This month")
    LAST_MONTH = "last_month", _("Last month")


class SavedFilter(models.Model):
    """The history's filters under a name; `period` (when set) replaces the fixed dates."""

    name = models.CharField(_("name"), max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="saved_filters"
    )
    # The history's query parameters (driver, station, result...), without the dates when
    # `period` is set. Checked against the history's FilterSet when saved and when used.
    query = models.JSONField(_("filters"), default=dict, blank=True)
    period = models.CharField(_("dates"), max_length=16, choices=Period.choices, blank=True)
    shared = models.BooleanField(_("shared with other supervisors"), default=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved filter")
        verbose_name_plural = _("saved filters")
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="reports_savedfilter_unique_name"),
            models.CheckConstraint(
                condition=Q(period="") | Q(period__in=Period.values), name="reports_savedfilter_period_valid"
            ),
        ]

    def __str__(self):
        return self.name


class Frequency(models.TextChoices):
    DAILY = "daily", _("Every day")
    WEEKLY = "weekly", _("Every week")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class ReportFormat(models.TextChoices):
    XLSX = "xlsx", _("Excel")
    CSV = "csv", _("CSV")


class ReportSchedule(models.Model):
    """A saved filter e-mailed to its subscribers every day or week, at an hour of the plant."""

    saved_filter = models.ForeignKey(
        SavedFilter, verbose_name=_("saved filter"), on_delete=models.CASCADE, related_name="schedules"
    )
    frequency = models.CharField(_("frequency"), max_length=8, choices=Frequency.choices, default=Frequency.WEEKLY)
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices, null=True, blank=True)
    hour = models.PositiveSmallIntegerField(_("hour"), default=7, help_text=_("In the plant's time zone."))
    format = models.CharField(_("format"), max_length=4, choices=ReportFormat.choices, default=ReportFormat.XLSX)
    subscribers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("subscribers"), related_name="report_subscriptions"
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["saved_filter__name", "id"]
        verbose_name = _("report schedule")
        verbose_name_plural = _("report schedules")
        constraints = [
            models.CheckConstraint(condition=Q(hour__lte=23), name="reports_reportschedule_hour_valid"),
            models.CheckConstraint(
                condition=(Q(frequency="daily", weekday__isnull=True)
                           | Q(frequency="weekly", weekday__isnull=False, weekday__lte=6)),
                name="reports_reportschedule_weekday_iff_weekly",
            ),
        ]

    def __str__(self):
        return f"{self.saved_filter} · {self.describe()}"

    def describe(self) -> str:
        if self.frequency == Frequency.WEEKLY:
            return _("%(weekday)s at %(hour)02d:00") % {"weekday": self.get_weekday_display(), "hour": self.hour}
        return _("every day at %(hour)02d:00") % {"hour": self.hour}


class ReportRun(models.Model):
    """One sending of a scheduled report, for one scheduled time (`due_at`): at most one each."""

    schedule = models.ForeignKey(ReportSchedule, verbose_name=_("schedule"), on_delete=models.CASCADE,
                                 related_name="runs")
    due_at = models.DateTimeField(_("scheduled for"))
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    date_from = models.DateField(_("from"), null=True, blank=True)
    date_to = models.DateField(_("to"), null=True, blank=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField(_("file size"), default=0)
    attached = models.BooleanField(_("attached"), default=False, help_text=_("Otherwise sent as a link."))
    sent_to = models.JSONField(_("sent to"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-due_at", "-id"]
        verbose_name = _("report run")
        verbose_name_plural = _("report runs")
        constraints = [
            # The last guard of "each report once per period", whoever runs the command.
            models.UniqueConstraint(fields=["schedule", "due_at"], name="reports_reportrun_once_per_due_time"),
        ]

    def __str__(self):
        return f"{self.schedule.saved_filter} {timezone.localtime(self.due_at):%Y-%m-%d %H:%M}"
