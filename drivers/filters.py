"""The history's filters. One FilterSet filters both sides of the history (movements and
refused scans): each method knows which model it is given."""

from datetime import UTC, date, datetime, time, timedelta

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stations.models import Station

from .models import Direction, Driver, Movement, RefusedScan, ScanReason

RESULT_ACCEPTED = "accepted"
RESULT_REFUSED = "refused"
RESULT_ANNULLED = "annulled"
REFUSAL_REASONS = [(r.value, r.label) for r in ScanReason if r not in (ScanReason.OK, ScanReason.DUPLICATE)]
RESULT_CHOICES = [
    (RESULT_ACCEPTED, _("Accepted")),
    (RESULT_ANNULLED, _("Annulled")),
    (RESULT_REFUSED, _("Refused (any reason)")),
] + [(value, _("Refused: %(reason)s") % {"reason": label}) for value, label in REFUSAL_REASONS]
FORCED_CHOICES = [("yes", _("Forced only")), ("no", _("Not forced"))]


def _day_start(day):
    """Midnight of `day` in the plant's time zone, or None when it cannot be stored: the
    first and last days a date field accepts (0001-01-01, 9999-12-31) fall outside the range
    of a datetime once shifted to UTC in some time zones (OverflowError)."""
    try:
        start = timezone.make_aware(datetime.combine(day, time.min))
        start.astimezone(UTC)  # what the database is given
    except (OverflowError, ValueError):
        return None
    return start


# A bound this far out is before or after every row: it filters nothing, or everything.
_FAR = date(5000, 1, 1)


class DateInput(forms.DateInput):
    input_type = "date"


class HistoryFilter(django_filters.FilterSet):
    date_from = django_filters.DateFilter(label=_("From"), method="filter_date_from", widget=DateInput)
    date_to = django_filters.DateFilter(label=_("To"), method="filter_date_to", widget=DateInput)
    driver = django_filters.CharFilter(
        label=_("Driver"), method="filter_driver",
        widget=forms.TextInput(attrs={"placeholder": _("Name, licence or plate"), "type": "search"}),
    )
    company = django_filters.CharFilter(
        label=_("Company"), method="filter_company", widget=forms.TextInput(attrs={"type": "search"})
    )
    station = django_filters.ModelChoiceFilter(
        label=_("Station"), queryset=Station.objects.gates(), method="filter_station", empty_label=_("All")
    )
    direction = django_filters.ChoiceFilter(
        label=_("Direction"), choices=Direction.choices, method="filter_direction", empty_label=_("All")
    )
    operator = django_filters.ModelChoiceFilter(
        label=_("Operator"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        method="filter_operator",
        empty_label=_("All"),
    )
    result = django_filters.ChoiceFilter(
        label=_("Result"), choices=RESULT_CHOICES, method="filter_result", empty_label=_("All")
    )
    forced = django_filters.ChoiceFilter(
        label=_("Forced"), choices=FORCED_CHOICES, method="filter_forced", empty_label=_("All")
    )

    class Meta:
        model = Movement
        fields = []

    def filter_date_from(self, qs, name, value):
        start = _day_start(value)
        if start is None:
            return qs if value < _FAR else qs.none()
        return qs.filter(at__gte=start)

    def filter_date_to(self, qs, name, value):
        end = _day_start(value + timedelta(days=1)) if value < date.max else None
        if end is None:
            return qs.none() if value < _FAR else qs
        return qs.filter(at__lt=end)

    def filter_driver(self, qs, name, value):
        value = value.strip()
        return qs.filter(driver__in=Driver.objects.search(value).values("pk")) if value else qs

    def filter_company(self, qs, name, value):
        value = value.strip()
        if not value:
            return qs
        if connection.vendor != "postgresql":
            # SQLite walks the history's time index and checks each row's driver: a page
            # reads about a page of rows. Given an IN of names it would use the company
            # index instead and sort every movement of those drivers (150 ms at 2 M).
            return qs.filter(driver__company__icontains=value)
        # PostgreSQL guessed that `company ILIKE '%x%'` matched 2 drivers (there were 986)
        # and sorted all their 400 000 movements for one page (270 ms at 2 M). The matching
        # names first (from the drivers table), then an IN it estimates from its statistics:
        # the same rows, read in time order (3 ms).
        companies = list(
            Driver.objects.filter(company__icontains=value).values_list("company", flat=True).distinct()
        )
        return qs.filter(driver__company__in=companies)

    def filter_station(self, qs, name, value):
        return qs.filter(station=value)

    def filter_direction(self, qs, name, value):
        return qs.filter(direction=value)

    def filter_operator(self, qs, name, value):
        return qs.filter(operator=value)

    def filter_result(self, qs, name, value):
        if qs.model is Movement:
            if value == RESULT_ACCEPTED:
                return qs.filter(annulled_at__isnull=True)
            if value == RESULT_ANNULLED:
                return qs.filter(annulled_at__isnull=False)
            return qs.none()
        if value in (RESULT_ACCEPTED, RESULT_ANNULLED):
            return qs.none()
        return qs if value == RESULT_REFUSED else qs.filter(reason=value)

    def filter_forced(self, qs, name, value):
        if qs.model is Movement:
            return qs.filter(forced=(value == "yes"))
        return qs.none() if value == "yes" else qs

    @classmethod
    def for_refused(cls, data):
        """The same filters, applied to the refused scans."""
        return cls(data, queryset=RefusedScan.objects.all())


def history_querysets(data):
    """(filter form, filtered movements, filtered refused scans) for the query `data`.

    Invalid input gives a form with errors and two empty querysets, never a 500.
    """
    movements = HistoryFilter(data, queryset=Movement.objects.all())
    refused = HistoryFilter.for_refused(data)
    if not movements.is_valid():
        return movements, Movement.objects.none(), RefusedScan.objects.none()
    return movements, movements.qs, refused.qs
