"""A station's printable QR, its self check-in kiosk, and the driver's check-in page."""

from __future__ import annotations

import time
import uuid

import segno
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.decorators import permission_required
from drivers.models import Driver, ScanReason, Source
from drivers.services import ScanError, record_scan

from . import services
from .models import Station

# After a valid kiosk code is opened, the driver has this long to log in and confirm:
# the code itself may rotate meanwhile, a photo of it taken later still does not work.
SELF_CHECKIN_PASS_SECONDS = 120
PASS_KEY = "self_checkin_pass"


def _qr_svg(text: str) -> str:
    return segno.make(text, error="m").svg_inline(scale=4, omitsize=True, svgclass="qr-svg")


def public_link(request, path: str) -> str:
    """The absolute link a QR carries: PUBLIC_URL + path when set (a printed sheet must
    not depend on the Host header, nor on the address the page happened to be opened by),
    else the origin of the request."""
    if settings.PUBLIC_URL:
        return settings.PUBLIC_URL + path
    return request.build_absolute_uri(path)


def _station(code: str) -> Station:
    return get_object_or_404(Station, code=code.upper())


@permission_required("stations.view_station")
@require_GET
def station_qr(request, code):
    """A printable sheet whose QR binds the scan screen of a device to this station."""
    station = _station(code)
    url = public_link(request, f"{reverse('drivers:scan')}?station={station.code}")
    return render(request, "stations/station_qr.html", {
        "station": station, "url": url, "qr_svg": _qr_svg(url),
    })


def _kiosk_code_context(request, station: Station) -> dict:
    now = time.time()
    token = services.kiosk_token(station, now=now)
    url = public_link(request, reverse("stations:self_checkin", args=[station.code, token]))
    return {
        "station": station,
        "token": token,
        "url": url,
        "qr_svg": _qr_svg(url),
        # Refresh a moment after the slot ends; the previous code stays valid for the grace time.
        "refresh_in": round(services.seconds_left(now) + 0.5, 1),
    }


@permission_required("stations.view_station")
@require_GET
def kiosk(request, code):
    """The kiosk screen of a self check-in station: a QR that changes every few seconds."""
    station = _station(code)
    if not (station.self_check_in and station.records_scans):
        return render(request, "stations/kiosk.html", {
            "station": station,
            "error": _("Self check-in is not enabled at this station."),
        }, status=404)
    return render(request, "stations/kiosk.html", _kiosk_code_context(request, station))


@permission_required("stations.view_station")
@require_GET
@never_cache
def kiosk_code(request, code):
    """The kiosk's current code: an HTML fragment that reloads itself when the slot ends
    (htmx), or JSON with ?format=json."""
    station = _station(code)
    if not (station.self_check_in and station.records_scans):
        return JsonResponse({"error": _("Self check-in is not enabled at this station.")}, status=404)
    context = _kiosk_code_context(request, station)
    if request.GET.get("format") == "json":
        return JsonResponse({k: context[k] for k in ("token", "url", "refresh_in")})
    return render(request, "stations/_kiosk_code.html", context)


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
    station = _station(code)
    if services.token_is_valid(station, token):
        request.session[PASS_KEY] = {"station": station.code, "at": time.time()}
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not request.user.has_perm("drivers.self_check_in"):
        raise PermissionDenied

    def refuse(message, status=403):
        return render(request, "stations/self_checkin.html",
                      {"station": station, "error": message}, status=status)

    if not (station.self_check_in and station.records_scans):
        return refuse(_("Self check-in is not enabled at this station. Show your badge at the booth."))
    if not _has_pass(request, station):
        return refuse(_("This code has expired. Scan the code on the station's screen again."))
    driver = Driver.objects.filter(user=request.user).first()
    if driver is None:
        return refuse(_("Your account is not linked to a driver. Ask at the booth."))

    if request.method == "GET":
        return render(request, "stations/self_checkin.html", {
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
    return render(request, "stations/self_checkin.html", {
        "station": station, "driver": driver, "result": result, "message": message,
    })
