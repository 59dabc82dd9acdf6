"""The administrator's upload page for the bulk import: check first, then apply."""

import secrets

from django.contrib import messages
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.decorators import permission_required
from qrgate import sharedcache

from ..forms import ImportUploadForm
from ..importing import MAX_FILE_BYTES, ImportFileError, import_drivers

# The checked file waits in the shared cache (the database) between the dry run and the
# confirmation, so the confirmation may reach any app server; an hour is plenty.
PENDING_SECONDS = 3600


def _key(request, token: str) -> str:
    return f"drivers-import:{request.user.pk}:{token}"


@permission_required("drivers.import_drivers")
def import_view(request):
    form = ImportUploadForm()
    context = {"form": form, "report": None, "token": None}
    if request.method != "POST":
        return render(request, "drivers/import.html", context)

    token = request.POST.get("token", "")
    if token:  # the confirmation of a checked file
        pending = sharedcache.get(_key(request, token)) if token.isalnum() else None
        if pending is None:
            messages.error(request, _("The checked file expired. Upload it again."))
            return render(request, "drivers/import.html", context)
        try:
            report = import_drivers(pending["data"], filename=pending["name"], by=request.user, dry_run=False)
        except ImportFileError as error:
            messages.error(request, str(error))
            return render(request, "drivers/import.html", context)
        sharedcache.delete(_key(request, token))
        messages.success(request, _("Import done: %(summary)s.") % {"summary": report.summary()})
        context.update(report=report, filename=pending["name"])
        return render(request, "drivers/import.html", context)

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
        if sharedcache.set(_key(request, token), {"data": data, "name": upload.name}, PENDING_SECONDS):
            context["token"] = token
        else:
            messages.error(request, _("The checked file could not be kept for the confirmation. Try again in a moment."))
    context.update(report=report, filename=upload.name)
    return render(request, "drivers/import.html", context)
