"""The administrator's upload page for the bulk import: check first, then the import runs
in the background (drivers.importjobs) and its page shows the progress."""

import csv
import io
import secrets

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.decorators import permission_required
from accounts.models import Role
from qrgate import sharedcache

from .. import importjobs
from ..forms import ImportUploadForm
from ..importing import MAX_FILE_BYTES, Action, ImportFileError, import_drivers
from ..models import ImportJob
from ..spreadsheets import csv_text

RECENT_JOBS = 10
ROWS_SHOWN = 500  # per table on the page; the download has them all

# The checked file waits in the shared cache (the database) between the dry run and the
# confirmation, so the confirmation may reach any app server; an hour is plenty.
PENDING_SECONDS = 3600


def _key(request, token: str) -> str:
    return f"drivers-import:{request.user.pk}:{token}"


@permission_required("drivers.import_drivers")
def import_view(request):
    form = ImportUploadForm()
    context = {"form": form, "report": None, "token": None, "jobs": _recent_jobs(request.user)}
    if request.method != "POST":
        return render(request, "drivers/import.html", context)

    token = request.POST.get("token", "")
    if token:  # the confirmation of a checked file
        pending = sharedcache.get(_key(request, token)) if token.isalnum() else None
        if pending is None:
            messages.error(request, _("The checked file expired. Upload it again."))
            return render(request, "drivers/import.html", context)
        sharedcache.delete(_key(request, token))
        job = importjobs.start_import(data=pending["data"], filename=pending["name"],
                                      total_rows=pending.get("rows", 0), by=request.user)
        return redirect("drivers:import_job", pk=job.pk)

    form = ImportUploadForm(request.POST, request.FILES)
    context["form"] = form
    if not form.is_valid():
        return render(request, "drivers/import.html", context, status=400)
    upload = form.cleaned_data["file"]
    if upload.size > MAX_FILE_BYTES:
        form.add_error("file", _("The file is too large: at most %(mb)d MB.") % {"mb": MAX_FILE_BYTES // 2**20})
        return render(request, "drivers/import.html", context, status=400)
    data = upload.read()
    try:
        report = import_drivers(data, filename=upload.name, dry_run=True)
    except ImportFileError as error:
        form.add_error("file", str(error))
        return render(request, "drivers/import.html", context, status=400)
    if report.created or report.updated:
        token = secrets.token_hex(16)
        if sharedcache.set(_key(request, token), {"data": data, "name": upload.name, "rows": len(report.rows)}, PENDING_SECONDS):
            context["token"] = token
        else:
            messages.error(request, _("The checked file could not be kept for the confirmation. Try again in a moment."))
    context.update(report=report, filename=upload.name)
    return render(request, "drivers/import.html", context)


def _sees_all(user) -> bool:
    return user.is_superuser or user.groups.filter(name=Role.ADMIN).exists()


def _visible_jobs(user):
    """An administrator sees every import (a colleague's running one too, so the same list is
    not loaded twice); anyone else given the permission only his own."""
    jobs = ImportJob.objects.defer("data").select_related("created_by")
    return jobs if _sees_all(user) else jobs.filter(created_by=user)


def _recent_jobs(user):
    running = [ImportJob.Status.QUEUED, ImportJob.Status.RUNNING]
    jobs = _visible_jobs(user)
    return [*jobs.filter(status__in=running).order_by("created_at"),
            *jobs.exclude(status__in=running).order_by("-created_at")[:RECENT_JOBS]]


def _job(request, pk) -> ImportJob:
    job = _visible_jobs(request.user).filter(pk=pk).first()  # the file itself stays deferred
    if job is None:
        raise Http404
    return job


def _marker(job: ImportJob) -> str:
    return f"{job.status}-{job.rows_done}"


@never_cache
@require_GET
@permission_required("drivers.import_drivers")
def job_view(request, pk):
    """The import's page; its progress fragment polls itself every second (204 when unchanged)."""
    job = _job(request, pk)
    marker = _marker(job)
    if request.htmx and request.GET.get("since") == marker and not job.finished:
        return HttpResponse(status=204)
    now = timezone.now()
    rows = job.rows if job.finished else []  # the tables are shown at the end only
    context = {
        "job": job,
        "marker": marker,
        "seconds_left": (left := job.seconds_left(now)),
        "minutes_left": round(left / 60) if left else 0,
        "stalled": job.status == ImportJob.Status.RUNNING and job.heartbeat_at
        and (now - job.heartbeat_at).total_seconds() > importjobs.STALE_SECONDS,
        "waiting_long": job.status == ImportJob.Status.QUEUED and (now - job.created_at).total_seconds() > 30,
        "refused_rows": [r for r in rows if r[1] == Action.REFUSE][:ROWS_SHOWN],
        "written_rows": [r for r in rows if r[1] in (Action.CREATE, Action.UPDATE)][:ROWS_SHOWN],
        "rows_shown": ROWS_SHOWN,
    }
    template = "drivers/_import_job.html" if request.htmx else "drivers/import_job.html"
    return render(request, template, context)


@require_GET
@permission_required("drivers.import_drivers")
def job_report(request, pk):
    """The per-row report as CSV, every text formula-safe."""
    job = _job(request, pk)
    labels = {Action.CREATE: _("created"), Action.UPDATE: _("updated"),
              Action.UNCHANGED: _("already up to date"), Action.REFUSE: _("refused")}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([_("Row"), _("Action"), _("Licence"), _("Name"), _("Reason")])
    for number, action, licence, name, reason in job.rows:
        writer.writerow([number, labels.get(action, action), csv_text(licence), csv_text(name), csv_text(reason)])
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="importacion-{job.pk}.csv"'
    return response
