"""The booth's scan screen.

The page (`scan`) is plain HTML plus static/js/scan.js; every scan, from the hardware
scanner, the camera or the offline queue, goes through the JSON API (drivers/views/api.py).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.decorators import permission_required
from drivers.models import Movement, RefusedScan
from stations.models import Station

from .api import station_by_code

RECENT_LIMIT = 10
RESULT_SECONDS = 5  # how long a result fills the screen before the page is ready again


def _scan_config(request, station: Station | None) -> dict:
    user = request.user
    return {
        "apiScan": reverse("drivers:api_scan"),
        "apiAnnul": reverse("drivers:api_annul"),
        "recentUrl": reverse("drivers:scan_recent"),
        "station": station.code if station else None,
        "stations": [
            {"code": s.code, "name": s.name, "kind": s.kind, "kindLabel": str(s.get_kind_display())}
            for s in Station.objects.active()
        ],
        "canForce": user.has_perm("drivers.force_movement"),
        "canAnnul": user.has_perm("drivers.annul_movement"),
        "resultSeconds": RESULT_SECONDS,
        "duplicateSeconds": settings.SCAN_DUPLICATE_WINDOW_SECONDS,
        "annulMinutes": settings.SCAN_ANNUL_WINDOW_MINUTES,
    }


def _scan_strings() -> dict:
    return {
        "entry": _("ENTRY"),
        "exit": _("EXIT"),
        "pass": _("CHECKPOINT"),
        "refused": _("REFUSED"),
        "duplicate": _("ALREADY RECORDED"),
        "forced": _("FORCED"),
        "pending": _("PENDING"),
        "pendingHelp": _(
            "No connection to the server. The scan is kept on this device and will be sent automatically."
        ),
        "alreadyQueued": _("This badge is already waiting to be sent."),
        "insideSince": _("Inside since"),
        "timeInside": _("Time inside"),
        "forceIn": _("Force entry"),
        "forceOut": _("Force exit"),
        "forcePass": _("Force pass"),
        "forceReason": _("Reason for forcing (required)"),
        "forceConfirm": _("Confirm"),
        "cancel": _("Cancel"),
        "undo": _("Undo this scan"),
        "undoReason": _("Why is it undone?"),
        "undoDefault": _("Mistaken scan"),
        "undoConfirm": _("Undo scan"),
        "undone": _("UNDONE"),
        "chooseStation": _("Choose this device's station before scanning."),
        "stationBound": _("This device is now the station"),
        "unknownStation": _("Unknown station in the QR code."),
        "error": _("ERROR"),
        "sessionEnded": _("Your session has ended. Log in again; pending scans are kept."),
        "pendingCount": _("Scans waiting to be sent:"),
        "cameraStart": _("Start camera"),
        "cameraStop": _("Stop camera"),
        "cameraError": _("The camera could not be opened. Allow camera access (the page must use HTTPS)."),
        "cameraDefault": _("Camera"),
        "late": _("sent late"),
    }


@permission_required("drivers.record_movement")
@require_GET
def scan(request):
    """The booth's all-day screen. The station comes from ?station=, then the device's
    saved choice (scan.js, localStorage), then the user's default station."""
    station = station_by_code(request.GET.get("station"))
    station = station if station and station.is_active else None
    from_url = station is not None
    if station is None and request.user.default_station_id:
        station = Station.objects.active().filter(pk=request.user.default_station_id).first()
    config = _scan_config(request, station)
    config["stationFromUrl"] = from_url
    return render(request, "drivers/scan.html", {
        "station": station,
        "scan_config": config,
        "scan_strings": _scan_strings(),
        **_recent_context(request, station),
    })


def _recent_context(request, station: Station | None) -> dict:
    if station is None:
        return {"recent": [], "recent_station": None}
    movements = list(
        Movement.objects.filter(station=station)
        .select_related("driver", "operator")
        .order_by("-at", "-id")[:RECENT_LIMIT]
    )
    refused = list(
        RefusedScan.objects.filter(station=station)
        .select_related("driver", "operator")
        .order_by("-at", "-id")[:RECENT_LIMIT]
    )
    annul_after = timezone.now() - timedelta(minutes=settings.SCAN_ANNUL_WINDOW_MINUTES)
    can_annul = request.user.has_perm("drivers.annul_movement")
    rows = [
        {"kind": "movement", "at": m.at, "obj": m,
         "undoable": can_annul and not m.annulled_at and m.at >= annul_after}
        for m in movements
    ] + [{"kind": "refused", "at": r.at, "obj": r, "undoable": False} for r in refused]
    rows.sort(key=lambda row: row["at"], reverse=True)
    return {"recent": rows[:RECENT_LIMIT], "recent_station": station}


@permission_required("drivers.record_movement")
@require_GET
@never_cache
def scan_recent(request):
    """The last scans of one station (?station=CODE), refreshed by scan.js after each scan."""
    station = station_by_code(request.GET.get("station"))
    return render(request, "drivers/_scan_recent.html", _recent_context(request, station))
