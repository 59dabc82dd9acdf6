"""The booth's scan screen and its JSON API.

The page (`scan`) is plain HTML plus static/js/scan.js; every scan, from the hardware
scanner, the camera or the offline queue, goes through `api_scan`, which parses the JSON,
checks the session and the permission, calls drivers.services.record_scan and serializes
its result. The API answers JSON for every outcome, errors included, because scan.js (and
the offline queue) must tell "refused" from "malformed" from "not logged in".
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from accounts.decorators import permission_required
from drivers.models import Direction, Movement, RefusedScan, ScanReason, Source
from drivers.services import ScanError, ScanResult, annul_movement, record_scan
from stations.models import Station

# Refusals that a user with drivers.force_movement may override from the result panel.
FORCIBLE_REASONS = {ScanReason.ALREADY_INSIDE, ScanReason.NOT_INSIDE}
RECENT_LIMIT = 10
RESULT_SECONDS = 5  # how long a result fills the screen before the page is ready again


class BadRequest(Exception):
    """A malformed API call: answered with a 400 and this (translated) message."""


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": str(message)}, status=status)


class _CsrfCheck(CsrfViewMiddleware):
    # Django's middleware answers a CSRF failure with an HTML page; the API wants JSON.
    def _reject(self, request, reason):
        return reason


def _csrf_failure(request) -> str | None:
    check = _CsrfCheck(lambda request: None)
    check.process_request(request)
    return check.process_view(request, None, (), {})


def api_view(*perms: str):
    """Guard a JSON endpoint: POST only, 401 without a session, 403 without CSRF or `perms`.

    The HTML views use accounts.decorators.permission_required, which redirects an
    anonymous user to the login page; an API caller needs a status code instead.
    """

    def decorator(view):
        @csrf_exempt  # checked below, after the session, so a lapsed session is a 401
        @never_cache
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method != "POST":
                response = _error(_("Use POST."), 405)
                response["Allow"] = "POST"
                return response
            if not request.user.is_authenticated:
                return _error(_("Your session has ended. Log in again."), 401)
            if (reason := _csrf_failure(request)) is not None:
                return _error(_("Security check failed (CSRF): reload the page. %(reason)s")
                              % {"reason": reason}, 403)
            if not request.user.has_perms(perms):
                return _error(_("You are not allowed to do this."), 403)
            try:
                return view(request, *args, **kwargs)
            except (BadRequest, ScanError) as exc:
                return _error(str(exc), 400)

        return wrapper

    return decorator


def _json_body(request) -> dict:
    try:
        data = json.loads(request.body)
    except RequestDataTooBig:
        raise BadRequest(_("The request is too large."))
    # ValueError covers bad JSON, bad UTF-8 and over-long integers; RecursionError deep nesting.
    except (ValueError, RecursionError):
        raise BadRequest(_("The request is not valid JSON."))
    if not isinstance(data, dict):
        raise BadRequest(_("The request must be a JSON object."))
    return data


def _field(data: dict, name: str, kind: type, *, required: bool = False):
    value = data.get(name)
    if value is None:
        if required:
            raise BadRequest(_("The field “%(field)s” is required.") % {"field": name})
        return None
    # bool is a subclass of int: {"movement_id": true} is not an id.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadRequest(_("The field “%(field)s” has the wrong type.") % {"field": name})
    return value


STATION_CODE_RE = re.compile(r"[^\x00-\x1f\x7f]{1,16}")


def station_by_code(code) -> Station | None:
    """The station with this code, or None; odd text never reaches the database."""
    code = (code or "").strip().upper() if isinstance(code, str) else ""
    return Station.objects.filter(code=code).first() if STATION_CODE_RE.fullmatch(code) else None


def _station(data: dict) -> Station:
    code = _field(data, "station", str, required=True).strip().upper()
    station = station_by_code(code)
    if station is None:
        raise BadRequest(_("Unknown station: %(code)s") % {"code": code[:20]})
    return station


def _scanned_at(data: dict):
    text = _field(data, "scanned_at", str)
    if text is None:
        return None
    try:
        value = parse_datetime(text.strip())
    except ValueError:  # well-formed but impossible, e.g. month 13
        value = None
    if value is None:
        raise BadRequest(_("The field “scanned_at” must be an ISO-8601 date and time."))
    return value


def photo_url(driver) -> str | None:
    image = driver.photo_thumb or driver.photo
    if not image:
        return None
    try:
        return reverse("drivers:media", args=[image.name])
    except NoReverseMatch:  # the media view is not installed
        return None


def _duration(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)d min") % {"minutes": minutes}


def _driver_json(result: ScanResult) -> dict | None:
    driver = result.driver
    if driver is None:
        return None
    visit = result.visit
    if visit is None and not result.accepted:
        visit = driver.visits.filter(left_at__isnull=True).first()
    inside_since = time_inside = None
    if visit is not None:
        inside_since = timezone.localtime(visit.entered_at).isoformat()
        until = visit.left_at or timezone.now()
        time_inside = _duration(until - visit.entered_at)
    return {
        "id": driver.pk,
        "name": driver.full_name,
        "company": driver.company,
        "plate": driver.plate,
        "photo_url": photo_url(driver),
        "inside_since": inside_since,
        "time_inside": time_inside,
    }


def scan_result_json(result: ScanResult, user) -> dict:
    movement = result.movement
    at = movement.at if movement else (result.refused.at if result.refused else timezone.now())
    return {
        "accepted": result.accepted,
        "reason": str(result.reason),
        "direction": result.direction,
        "level": result.level,
        "message": result.message,
        "replayed": result.replayed,
        "movement_id": movement.pk if movement else None,
        "driver": _driver_json(result),
        "forcible": (
            not result.accepted
            and result.reason in FORCIBLE_REASONS
            and result.driver is not None
            and user.has_perm("drivers.force_movement")
        ),
        "annullable": bool(
            movement and not movement.annulled_at and user.has_perm("drivers.annul_movement")
        ),
        "station": result.station.code if result.station else None,
        "at": timezone.localtime(at).isoformat(),
    }


@api_view("drivers.record_movement")
def api_scan(request):
    """POST {"code", "station", "nonce"?, "direction"?, "force"?, "note"?, "scanned_at"?}."""
    data = _json_body(request)
    code = _field(data, "code", str, required=True)
    if not code.strip():
        raise BadRequest(_("The field “%(field)s” is required.") % {"field": "code"})
    station = _station(data)
    nonce = _field(data, "nonce", str)
    direction = _field(data, "direction", str)
    force = _field(data, "force", bool) or False
    # Control characters (NUL above all: PostgreSQL refuses it) never reach the database.
    note = "".join(ch for ch in (_field(data, "note", str) or "")[:500]
                   if unicodedata.category(ch)[0] != "C")
    scanned_at = _scanned_at(data)
    result = record_scan(
        code=code,
        station=station,
        operator=request.user,
        nonce=nonce,
        direction=direction,
        force=force,
        note=note,
        source=Source.SCAN,
        scanned_at=scanned_at,
    )
    return JsonResponse(scan_result_json(result, request.user))


@api_view("drivers.annul_movement")
def api_annul(request):
    """POST {"movement_id", "station", "reason"}: undo a mistaken scan of this station."""
    data = _json_body(request)
    movement_id = _field(data, "movement_id", int, required=True)
    if not 0 < movement_id < 2**63:
        raise BadRequest(_("Unknown movement."))
    station = _station(data)
    reason = "".join(ch for ch in (_field(data, "reason", str) or "")[:500]
                     if unicodedata.category(ch)[0] != "C").strip()
    reason = reason or _("Mistaken scan, undone at the booth")
    movement = Movement.objects.select_related("driver").filter(pk=movement_id).first()
    if movement is None:
        raise BadRequest(_("Unknown movement."))
    if movement.station_id != station.pk:
        raise BadRequest(_("Only the station that recorded a scan can undo it."))
    movement = annul_movement(movement=movement, by=request.user, reason=reason)
    # One whole sentence per direction, so the translation can agree in gender.
    message = {
        Direction.IN: _("Scan undone: the entry of %(name)s was annulled."),
        Direction.OUT: _("Scan undone: the exit of %(name)s was annulled."),
        Direction.PASS: _("Scan undone: the checkpoint pass of %(name)s was annulled."),
    }[movement.direction] % {"name": movement.driver.full_name}
    return JsonResponse({"annulled": True, "movement_id": movement.pk, "message": message})


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
