"""Turnaround: how long trucks stay inside, by carrier, route and entry station."""

import csv
from datetime import datetime, time, timedelta

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from accounts.decorators import permission_required

from .. import selectors
from ..spreadsheets import csv_text

MAX_DAYS = 366
DEFAULT_DAYS = 30


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")  # what <input type=date> reads, in any language


class TurnaroundForm(forms.Form):
    date_from = forms.DateField(label=gettext_lazy("From"), widget=DateInput)
    date_to = forms.DateField(label=gettext_lazy("To"), widget=DateInput)

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if start > end:
                raise forms.ValidationError(_("The start date must not be after the end date."))
            if (end - start).days >= MAX_DAYS:
                raise forms.ValidationError(
                    _("Choose at most %(days)d days.") % {"days": MAX_DAYS}
                )
        return data


def _bounds(start, end):
    """Plant midnights: from the start day to the end of the end day."""
    return (
        timezone.make_aware(datetime.combine(start, time.min)),
        timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min)),
    )


def _with_durations(rows):
    for row in rows:
        for key in ("median", "p90", "longest"):
            row[key + "_td"] = timedelta(seconds=round(row[key]))
        if row["label"] is None:
            row["label"] = _("No route") if row.get("group") == "route" else "—"
    return rows


def figures(start, end) -> dict:
    lo, hi = _bounds(start, end)
    groups = {}
    for group in selectors.TURNAROUND_GROUPS:
        rows = selectors.turnaround(lo, hi, group)
        for row in rows:
            row["group"] = group
        groups[group] = _with_durations(rows)
    return {"groups": groups, "days": selectors.visits_per_day(lo, hi)}


GROUP_TITLES = {
    "company": gettext_lazy("By carrier company"),
    "route": gettext_lazy("By route"),
    "station": gettext_lazy("By entry station"),
}


@require_GET
@permission_required("drivers.view_dashboard")
def turnaround(request):
    today = timezone.localdate()
    data = request.GET if "date_from" in request.GET or "date_to" in request.GET else {
        "date_from": (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), "date_to": today.isoformat(),
    }
    form = TurnaroundForm(data)
    result = figures(form.cleaned_data["date_from"], form.cleaned_data["date_to"]) if form.is_valid() else None
    if result is not None and request.GET.get("format") == "csv":
        return _csv(form.cleaned_data["date_from"], form.cleaned_data["date_to"], result)
    sections = [(GROUP_TITLES[g], result["groups"][g]) for g in selectors.TURNAROUND_GROUPS] if result else []
    return render(request, "drivers/turnaround.html", {
        "form": form, "sections": sections, "days": result["days"] if result else [],
    }, status=200 if form.is_valid() else 400)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.1f}"


def _csv(start, end, result) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_("turnaround")}_{start}_{end}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([_("Grouped by"), _("Group"), _("Visits"), _("Median (min)"), _("90th percentile (min)"),
                     _("Longest (min)")])
    for group in selectors.TURNAROUND_GROUPS:
        title = str(GROUP_TITLES[group])
        for row in result["groups"][group]:
            writer.writerow([title, csv_text(str(row["label"])), row["visits"], _minutes(row["median"]),
                             _minutes(row["p90"]), _minutes(row["longest"])])
    for day in result["days"]:
        writer.writerow([_("Visits per day"), day["day"].isoformat(), day["visits"], "", "", ""])
    return response
