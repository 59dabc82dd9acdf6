"""Saved filters on the history page, their schedule page, and a report's download link."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import permission_required

from . import services
from .forms import SaveFilterForm, ScheduleForm
from .models import ReportRun, SavedFilter

PERM = "drivers.export_history"  # saving and scheduling the history is part of exporting it


def _history_url(query: dict | QueryDict) -> str:
    query = urlencode(query) if isinstance(query, dict) else query.urlencode()
    return reverse("drivers:history") + (f"?{query}" if query else "")


@require_POST
@permission_required(PERM)
def save_filter(request):
    """Save the history's current filters (sent as the page's query string) under a name."""
    current = QueryDict(request.POST.get("query", ""))
    form = SaveFilterForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the filter a name."))
        return redirect(_history_url(current))
    try:
        saved = services.save_filter(by=request.user, query=current, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(_history_url(current))
    messages.success(request, _("Filters saved as \"%(name)s\".") % {"name": saved.name})
    return redirect("reports:apply_filter", pk=saved.pk)


@require_GET
@permission_required(PERM)
def apply_filter(request, pk):
    """The history with a saved filter, its relative dates resolved today."""
    saved = get_object_or_404(services.visible_filters(request.user), pk=pk)
    return redirect(_history_url({**services.resolved_query(saved), "saved": saved.pk}))


@require_POST
@permission_required(PERM)
def delete_filter(request, pk):
    saved = get_object_or_404(SavedFilter, pk=pk, owner=request.user)
    services.delete_filter(saved=saved, by=request.user)
    messages.success(request, _("Saved filter \"%(name)s\" deleted.") % {"name": saved.name})
    return redirect("drivers:history")


@require_http_methods(["GET", "POST"])
@permission_required(PERM)
def schedule(request, pk):
    """Schedule a saved filter (its owner) and see every run of its report."""
    saved = get_object_or_404(SavedFilter, pk=pk, owner=request.user)
    current = saved.schedules.order_by("id").first()
    form = ScheduleForm(request.POST or None, schedule=current)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.schedule_report(
                saved=saved, by=request.user, frequency=data["frequency"], weekday=data["weekday"],
                hour=data["hour"], fmt=data["format"], subscribers=data["subscribers"],
                is_active=data["is_active"], schedule=current,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Report scheduled."))
            return redirect("reports:schedule", pk=saved.pk)
    runs = ReportRun.objects.filter(schedule__saved_filter=saved).select_related("schedule")[:50]
    return render(request, "reports/schedule.html", {
        "saved": saved, "schedule": current, "form": form, "runs": runs,
        "query": urlencode(services.resolved_query(saved)),
    })


@require_GET
@permission_required(PERM)  # a subscriber who may no longer export gets nothing either
def download(request, pk):
    """A report too large to attach: only for the subscriber its link was made for, for a while."""
    run = get_object_or_404(ReportRun.objects.select_related("schedule"), pk=pk)
    if not services.check_download(run, request.user, request.GET.get("t", "")):
        raise Http404(_("This link is not valid for your account, or it has expired."))
    name = services.report_file(run)
    if not default_storage.exists(name):
        raise Http404(_("This report's file was deleted."))
    return FileResponse(default_storage.open(name, "rb"), as_attachment=True, filename=run.file_name)
