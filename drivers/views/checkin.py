"""A driver's phone checks himself in at a kiosk station: the page behind the kiosk's QR."""

from __future__ import annotations

import time
import uuid

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from stations import services as station_services
from stations.models import Station

from ..models import Driver, ScanReason, Source
from ..services import ScanError, record_scan

# After a valid kiosk code is opened, the driver has this long to log in and confirm:
# the code itself may rotate meanwhile, a photo of it taken later still does not work.
SELF_CHECKIN_PASS_SECONDS = 120
PASS_KEY = "self_checkin_pass"


def _has_pass(request, station: Station) -> bool:
    held = request.session.get(PASS_KEY)
    return bool(
        isinstance(held, dict)
        and held.get("station") == station.code
        and isinstance(held.get("at"), (int, float))
        and 0 <= time.time() - held["at"] <= SELF_CHECKIN_PASS_SECONDS
    )


@require_http_methods(["GET", "POST"])
@never_cache
def self_checkin(request, code, token):
    """A driver's phone opened the kiosk's QR: confirm, then record his own scan.

    Checked by hand rather than with permission_required because an anonymous visitor with
    a valid code must keep his right to check in through the login page.
    """
    station = get_object_or_404(Station, code=code.upper())
    if station_services.token_is_valid(station, token):
        request.session[PASS_KEY] = {"station": station.code, "at": time.time()}
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not request.user.has_perm("drivers.self_check_in"):
        raise PermissionDenied

    def refuse(message, status=403):
        return render(request, "drivers/self_checkin.html",
                      {"station": station, "error": message}, status=status)

    if not (station.self_check_in and station.records_scans):
        return refuse(_("Self check-in is not enabled at this station. Show your badge at the booth."))
    if not _has_pass(request, station):
        return refuse(_("This code has expired. Scan the code on the station's screen again."))
    driver = Driver.objects.filter(user=request.user).first()
    if driver is None:
        return refuse(_("Your account is not linked to a driver. Ask at the booth."))

    if request.method == "GET":
        return render(request, "drivers/self_checkin.html", {
            "station": station, "driver": driver, "nonce": uuid.uuid4().hex,
        })
    # The server's namespace for the driver's nonce: a nonce is bound to its operator, and
    # a driver can never be answered with the result of a scan that was not his own.
    nonce = request.POST.get("nonce") or None
    try:
        result = record_scan(
            code=driver.badge_code,
            station=station,
            operator=request.user,
            nonce=f"self-{request.user.pk}-{nonce}" if nonce else None,
            source=Source.SELF,
        )
    except ScanError as exc:
        return refuse(str(exc), status=400)
    request.session.pop(PASS_KEY, None)
    message = result.message
    if result.reason == ScanReason.BANNED:
        # The ban's reason is for the guard and the supervisors (history, scan screen),
        # not for the driver's phone: the same words as /my-badge/.
        message = _("Your access is blocked. Ask at the gate.")
    return render(request, "drivers/self_checkin.html", {
        "station": station, "driver": driver, "result": result, "message": message,
    })
