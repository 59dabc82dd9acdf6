"""A station's printable QR and its self check-in kiosk (the driver's check-in page, which
records a movement, is drivers.views.checkin)."""

from __future__ import annotations

import time

import segno
from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.decorators import permission_required

from . import services
from .models import Station

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
    url = public_link(request, reverse("drivers:self_checkin", args=[station.code, token]))
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
