"""The scan JSON API: POST /api/scan/ and /api/scan/annul/.

Parsing, errors and serialisation only; every rule is in drivers.services. The API
answers JSON for every outcome, errors included, because the scan screen (and its
offline queue) must tell "refused" from "malformed" from "not logged in". Errors are
`{"error": message, "code": code}`; `scan_result_json` is the one serialisation of a
ScanResult, for any endpoint that answers a scan.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import timedelta
from functools import wraps

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from drivers.models import Direction, Movement, ScanReason, Source, Visit
from drivers import selectors
from drivers.services import ScanError, ScanResult, annul_movement, can_annul, record_scan, set_visit_vehicle
from qrgate.prepared import PreparedQuery
from stations.models import Station

# Refusals that a user with drivers.force_movement may override from the result panel.
FORCIBLE_REASONS = {
    ScanReason.ALREADY_INSIDE, ScanReason.NOT_INSIDE,
    ScanReason.DOCUMENT_MISSING, ScanReason.DOCUMENT_EXPIRED, ScanReason.ROUTE_INCOMPLETE, ScanReason.SEAL_MISMATCH,
}
# A ScanError's code decides the status; any other code is a 400.
STATUS_BY_CODE = {"nonce_conflict": 409, "annul_forbidden": 403}


class BadRequest(Exception):
    """A malformed API call: answered with a 400, this (translated) message and `code`."""

    def __init__(self, message, code: str = "bad_request"):
        super().__init__(message)
        self.code = code


def error_response(message: str, status: int, code: str) -> JsonResponse:
    return JsonResponse({"error": str(message), "code": code}, status=status)


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
                response = error_response(_("Use POST."), 405, "method_not_allowed")
                response["Allow"] = "POST"
                return response
            if not request.user.is_authenticated:
                return error_response(_("Your session has ended. Log in again."), 401, "not_authenticated")
            if (reason := _csrf_failure(request)) is not None:
                return error_response(_("Security check failed (CSRF): reload the page. %(reason)s")
                                      % {"reason": reason}, 403, "csrf_failed")
            if not request.user.has_perms(perms):
                return error_response(_("You are not allowed to do this."), 403, "forbidden")
            try:
                return view(request, *args, **kwargs)
            except BadRequest as exc:
                return error_response(str(exc), 400, exc.code)
            except ScanError as exc:
                return error_response(exc.message, STATUS_BY_CODE.get(exc.code, 400), exc.code)

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


def _text(value: str | None, limit: int = 500) -> str:
    # Control characters (NUL above all: PostgreSQL refuses it) never reach the database.
    return "".join(ch for ch in (value or "")[:limit] if unicodedata.category(ch)[0] != "C")


STATION_CODE_RE = re.compile(r"[^\x00-\x1f\x7f]{1,16}")


def station_by_code(code) -> Station | None:
    """The station with this code, or None; odd text never reaches the database."""
    code = (code or "").strip().upper() if isinstance(code, str) else ""
    return _STATION.first(code=code) if STATION_CODE_RE.fullmatch(code) else None


# Read on every scan: compiled once per process (qrgate/prepared.py).
_STATION = PreparedQuery(lambda code: Station.objects.filter(code=code).order_by("pk")[:1])


def _station(data: dict) -> Station:
    code = _field(data, "station", str, required=True).strip().upper()
    station = station_by_code(code)
    if station is None:
        raise BadRequest(_("Unknown station: %(code)s") % {"code": code[:20]}, code="unknown_station")
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


def _result_visit(result: ScanResult) -> Visit | None:
    visit = result.visit
    if visit is None and not result.accepted and result.driver is not None:
        visit = _OPEN_VISIT.first(driver_pk=result.driver.pk)
    return visit


_OPEN_VISIT = PreparedQuery(lambda driver_pk: Visit.objects.open().filter(driver=driver_pk).order_by("pk")[:1])


def _visit_json(visit: Visit | None) -> dict | None:
    """The visit's vehicle and route (stops done and missing); None outside a visit."""
    if visit is None or visit.pk is None:
        return None
    return {
        "id": visit.pk,
        "plate": visit.plate,
        "trailers": list(visit.trailers or []),
        "seals": list(visit.seals or []),
        "route": selectors.route_progress(visit),  # no query for a visit without a route
    }


def _driver_json(result: ScanResult, visit: Visit | None = None) -> dict | None:
    driver = result.driver
    if driver is None:
        return None
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
    """The JSON answer to a scan, as `user` may see it (force and undo offered only where
    the service would accept them)."""
    movement = result.movement
    at = movement.at if movement else (result.refused.at if result.refused else timezone.now())
    visit = _result_visit(result)
    return {
        "accepted": result.accepted,
        "reason": str(result.reason),
        "direction": result.direction,
        "level": result.level,
        "message": result.message,
        "replayed": result.replayed,
        "movement_id": movement.pk if movement else None,
        "late": bool(movement and movement.is_late),
        "driver": _driver_json(result, visit),
        "visit": _visit_json(visit),
        "forcible": (
            not result.accepted
            and result.reason in FORCIBLE_REASONS
            and result.driver is not None
            and user.has_perm("drivers.force_movement")
        ),
        "annullable": bool(movement) and can_annul(movement=movement, by=user),
        "station": result.station.code if result.station else None,
        "at": timezone.localtime(at).isoformat(),
    }


@api_view("drivers.record_movement")
def api_scan(request):
    """POST {"code", "station", "nonce"?, "direction"?, "force"?, "note"?, "scanned_at"?,
    "route"?, "vehicle"? {"plate", "trailers", "seals"}, "seals"?}."""
    return JsonResponse(scan_from_json(_json_body(request), operator=request.user))


def scan_from_json(data: dict, *, operator) -> dict:
    """Record the scan a JSON object asks for (the /api/scan/ contract); its JSON answer.

    Raises BadRequest or ScanError, which the caller answers with error_response."""
    code = _field(data, "code", str, required=True)
    if not code.strip():
        raise BadRequest(_("The field “%(field)s” is required.") % {"field": "code"})
    station = _station(data)
    result = record_scan(
        code=code,
        station=station,
        operator=operator,
        nonce=_field(data, "nonce", str),
        direction=_field(data, "direction", str),
        force=_field(data, "force", bool) or False,
        note=_text(_field(data, "note", str)),
        source=Source.SCAN,
        scanned_at=_scanned_at(data),
        route=_field(data, "route", str),
        vehicle=_field(data, "vehicle", dict),
        seals=_field(data, "seals", list),
    )
    return scan_result_json(result, operator)


@api_view("drivers.record_movement")
def api_vehicle(request):
    """POST {"movement_id", "station", "vehicle": {"plate"?, "trailers"?, "seals"?}}: the
    vehicle of the visit that this station's entry `movement_id` opened, added just after it."""
    data = _json_body(request)
    movement_id = _field(data, "movement_id", int, required=True)
    if not 0 < movement_id < 2**63:
        raise BadRequest(_("Unknown movement."), code="unknown_movement")
    station = _station(data)
    vehicle = _field(data, "vehicle", dict, required=True)
    movement = Movement.objects.filter(pk=movement_id, direction=Direction.IN).select_related("visit").first()
    if movement is None or movement.visit is None or movement.annulled_at:
        raise BadRequest(_("Unknown movement."), code="unknown_movement")
    if movement.station_id != station.pk:
        raise BadRequest(_("Only the station that recorded the entry can add its vehicle."), code="wrong_station")
    visit = set_visit_vehicle(visit=movement.visit, by=request.user, vehicle=vehicle)
    return JsonResponse({"saved": True, "visit": _visit_json(visit), "message": _("Vehicle saved.")})


@api_view("drivers.annul_movement")
def api_annul(request):
    """POST {"movement_id", "station", "reason"}: undo a mistaken scan of this station."""
    data = _json_body(request)
    movement_id = _field(data, "movement_id", int, required=True)
    if not 0 < movement_id < 2**63:
        raise BadRequest(_("Unknown movement."), code="unknown_movement")
    station = _station(data)
    reason = _text(_field(data, "reason", str)).strip() or _("Mistaken scan, undone at the booth")
    movement = Movement.objects.select_related("driver").filter(pk=movement_id).first()
    if movement is None:
        raise BadRequest(_("Unknown movement."), code="unknown_movement")
    if movement.station_id != station.pk:
        raise BadRequest(_("Only the station that recorded a scan can undo it."), code="wrong_station")
    movement = annul_movement(movement=movement, by=request.user, reason=reason)
    # One whole sentence per direction, so the translation can agree in gender.
    message = {
        Direction.IN: _("Scan undone: the entry of %(name)s was annulled."),
        Direction.OUT: _("Scan undone: the exit of %(name)s was annulled."),
        Direction.PASS: _("Scan undone: the checkpoint pass of %(name)s was annulled."),
    }[movement.direction] % {"name": movement.driver.full_name}
    return JsonResponse({"annulled": True, "movement_id": movement.pk, "message": message})
