"""Driver photos are personal data: served only after checking who asks, never publicly."""

import mimetypes
from pathlib import Path

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from ..models import Driver, DriverDocument


def _file_under_media_root(path: str) -> Path:
    root = Path(settings.MEDIA_ROOT).resolve()
    if "\x00" in path or path.startswith(("/", "\\")):
        raise Http404
    # resolve() follows "..", and symlinks, so the containment check cannot be bypassed.
    full = (root / path).resolve()
    if not full.is_relative_to(root) or full == root or not full.is_file():
        raise Http404
    return full


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
    full = _file_under_media_root(path)
    name = full.relative_to(Path(settings.MEDIA_ROOT).resolve()).as_posix()
    if not _may_see(request.user, name):
        raise PermissionDenied
    content_type = mimetypes.guess_type(full.name)[0] or ""
    # Only images render inline: anything else downloads, so no stored HTML runs as ours.
    inline = content_type.startswith("image/") and content_type != "image/svg+xml"
    response = FileResponse(
        full.open("rb"),
        content_type=content_type if inline else "application/octet-stream",
        as_attachment=not inline,
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
