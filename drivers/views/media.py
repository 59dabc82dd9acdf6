"""Driver photos are personal data: served only after checking who asks, never publicly.

Files are read through the media storage (settings.STORAGES["default"]): a folder on this
server, one shared by several app servers, or an S3 bucket. Whichever it is, its files are
reached only through this view.
"""

import mimetypes
from pathlib import Path

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from ..models import Driver, DriverDocument

# The linked scheduled reports (reports.services.report_file): only reports.views.download,
# for the subscriber its link was made for, serves them.
PRIVATE_FOLDERS = ("reports/",)


def _stored_name(path: str) -> str:
    """`path` as the name of a stored file, or Http404: no absolute path, no "..", no folder."""
    if not path or len(path) > 255 or "\x00" in path or "\\" in path or path.startswith("/"):
        raise Http404
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise Http404
    if path.startswith(PRIVATE_FOLDERS):  # kept in the same storage, served by their own views
        raise Http404
    try:
        local = default_storage.path(path)
    except NotImplementedError:  # a remote storage (S3): no symlinks to follow there
        local = None
    except SuspiciousFileOperation:
        raise Http404 from None
    if local is not None:
        # A folder: resolve() follows symlinks, so one pointing elsewhere is not served.
        root = Path(default_storage.location).resolve()
        full = Path(local).resolve()
        if not full.is_relative_to(root) or full == root or not full.is_file():
            raise Http404
        return full.relative_to(root).as_posix()
    if not default_storage.exists(path):
        raise Http404
    return path


def _may_see(user, name: str) -> bool:
    if user.has_perm("drivers.view_driver"):
        return True
    # A Chofer sees his own photo (for his badge page) and his own documents, nothing else.
    return user.has_perm("drivers.view_own_badge") and (
        Driver.objects.filter(user=user).filter(Q(photo=name) | Q(photo_thumb=name)).exists()
        or DriverDocument.objects.filter(driver__user=user, file=name).exists()
    )


@require_GET
def media(request, path):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    name = _stored_name(path)
    if not _may_see(request.user, name):
        raise PermissionDenied
    content_type = mimetypes.guess_type(name)[0] or ""
    # Only images render inline: anything else downloads, so no stored HTML runs as ours.
    inline = content_type.startswith("image/") and content_type != "image/svg+xml"
    try:
        stored = default_storage.open(name, "rb")
    except FileNotFoundError:  # deleted since it was checked (a photo replaced meanwhile)
        raise Http404 from None
    response = FileResponse(
        stored,
        content_type=content_type if inline else "application/octet-stream",
        as_attachment=not inline,
        filename=name.rsplit("/", 1)[-1],
    )
    # Personal data: kept by no cache at all, not even the booth browser's disk cache
    # (a shared PC's next user could read it back).
    response["Cache-Control"] = "private, no-store"
    if inline:
        # Opened on its own (a click on a photo), the image is a page the browser builds and
        # styles inline to centre and zoom it; under the site's policy those styles were
        # refused. Nothing of ours runs in that page: allow its styles, and nothing else.
        response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return response
