"""The booth's scan screen.

The page (`scan`) is plain HTML plus the ES modules of static/js/scan/; every scan, from the hardware
scanner, the camera or the offline queue, goes through the JSON API (drivers/views/api.py).
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.decorators import permission_required
from drivers.models import Movement, RefusedScan
from drivers.services import can_annul
from stations.models import Route, Station

from .api import station_by_code

RECENT_LIMIT = 10
RESULT_SECONDS = 5  # how long a result fills the screen before the page is ready again


def _station_qr_origins(request) -> list[str]:
    """Origins whose station QR may rebind a booth: this request's own, and the one the
    app prints on station sheets (PUBLIC_URL when set)."""
    origins = [request.build_absolute_uri("/").rstrip("/")]
    public = getattr(settings, "PUBLIC_URL", "") or ""
    if public:
        parts = urlsplit(public)
        origins.append(f"{parts.scheme}://{parts.netloc}")
    return origins


def _scan_config(request, station: Station | None) -> dict:
    user = request.user
    return {
        "apiScan": reverse("drivers:api_scan"),
        "apiAnnul": reverse("drivers:api_annul"),
        "recentUrl": reverse("drivers:scan_recent"),
        "scanPath": reverse("drivers:scan"),
        "stationQrOrigins": _station_qr_origins(request),
        "maxAgeHours": settings.SCAN_MAX_AGE_HOURS,
        "station": station.code if station else None,
        "stations": [
            {"code": s.code, "name": s.name, "kind": s.kind, "kindLabel": str(s.get_kind_display()),
             # The gate checks' fields on the screen (static/js/scan/gate.js).
             "defaultRoute": s.default_route.code if s.default_route and s.default_route.is_active else None,
             "checksSeals": s.checks_seals, "asksVehicle": s.asks_vehicle}
            for s in Station.objects.active().gates().select_related("default_route")
        ],
        "routes": [{"code": r.code, "name": r.name} for r in Route.objects.active()],
        "apiVehicle": reverse("drivers:api_vehicle"),
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
        "invalid": _("INVALID"),
        "invalidHelp": _("This code is not a badge. Show the driver's badge."),
        "stationSame": _("This device is already the station"),
        "retry": _("Retry"),
        "discard": _("Discard"),
        "route": _("Route of the truck"),
        "routeDefault": _("Station's route"),
        "routeDone": _("done"),
        "routeMissing": _("missing"),
        "seals": _("Seals seen on the truck"),
        "sealsArmed": _("Seals for the next scan:"),
        "sealsClear": _("Clear seals"),
        "vehicleTitle": _("Vehicle of this entry"),
        "plate": _("Tractor plate"),
        "trailers": _("Trailer plates (comma between them)"),
        "vehicleSeals": _("Seals (comma between them)"),
        "vehicleSave": _("Save vehicle"),
        "vehicleSkip": _("Skip"),
        "vehicleSaved": _("Vehicle saved."),
        "expired": _("Too old to be sent: scanned more than %(hours)s hours ago.")
        % {"hours": settings.SCAN_MAX_AGE_HOURS},
    }


@permission_required("drivers.record_movement")
@require_GET
def scan(request):
    """The booth's all-day screen. The station comes from ?station=, then the device's
    saved choice (static/js/scan/station.js, localStorage), then the user's default station."""
    station = station_by_code(request.GET.get("station"))
    station = station if station and station.records_scans else None
    from_url = station is not None
    if station is None and request.user.default_station_id:
        station = Station.objects.active().gates().filter(pk=request.user.default_station_id).first()
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
        return {"recent": [], "recent_station": None, "marker": ""}
    movements = list(
        Movement.objects.filter(station=station)
        .with_is_latest()  # can_annul's "latest of the driver" in the same query
        .select_related("driver", "operator")
        .order_by("-at", "-id")[:RECENT_LIMIT]
    )
    refused = list(
        RefusedScan.objects.filter(station=station)
        .select_related("driver", "operator")
        .order_by("-at", "-id")[:RECENT_LIMIT]
    )
    rows = [
        # The Undo button exactly where the service would accept the undo.
        {"kind": "movement", "at": m.at, "obj": m, "undoable": can_annul(movement=m, by=request.user)}
        for m in movements
    ] + [{"kind": "refused", "at": r.at, "obj": r, "undoable": False} for r in refused]
    rows.sort(key=lambda row: row["at"], reverse=True)
    rows = rows[:RECENT_LIMIT]
    return {"recent": rows, "recent_station": station, "marker": _recent_marker(request, station, rows)}


def _recent_marker(request, station: Station, rows: list[dict]) -> str:
    """Changes whenever the fragment would show something else: a new row, an annulment,
    an Undo button that appears or goes (its window ends, the driver moved on elsewhere)."""
    state = [station.code, request.user.pk, translation.get_language()] + [
        (row["kind"], row["obj"].pk, bool(getattr(row["obj"], "annulled_at", None)), row["undoable"])
        for row in rows
    ]
    return hashlib.blake2s(repr(state).encode(), digest_size=8).hexdigest()


@require_GET
@never_cache
def scan_recent(request):
    """The last scans of one station (?station=CODE): the scan page's htmx fragment, which
    polls itself and is answered 204 while nothing changed (as the dashboard is)."""
    if request.htmx and not request.user.is_authenticated:
        # The poll of a booth whose session ended: the login page must not be swapped into
        # the list. The page shows "log in again" on this 401.
        return HttpResponse(status=401)
    return _recent_fragment(request)


@permission_required("drivers.record_movement")
def _recent_fragment(request):
    station = station_by_code(request.GET.get("station"))
    context = _recent_context(request, station)
    if request.htmx and context["marker"] and request.GET.get("since") == context["marker"]:
        return HttpResponse(status=204)
    return render(request, "drivers/_scan_recent.html", context)
