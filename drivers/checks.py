"""The plant's configurable gate checks, called by record_scan only.

Documents at an entry, the route and the seals at an exit. Each check gives record_scan
a subquery to fold into its one state query (so that a plant that configures none of
them pays no extra SQL statement per scan), and loads the details for the message only
when it actually refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, Max, OuterRef, Subquery
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from stations.models import Route, RouteStop, Station, StationKind

from .models import (
    DocumentType,
    DriverDocument,
    Movement,
    ScanReason,
    Visit,
    normalize_plate,
    normalize_tag_list,
    seal_key,
)
from .selectors import route_progress

ENTRY_KINDS = (StationKind.ENTRY, StationKind.GATE)
EXIT_KINDS = (StationKind.EXIT, StationKind.GATE)


class CheckInputError(ValueError):
    """Malformed route, vehicle or seals: record_scan turns it into a ScanError (a 400)."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


@dataclass
class Vehicle:
    plate: str | None = None  # None: keep the driver's usual plate
    trailers: list[str] | None = None
    seals: list[str] | None = None


# --- input -----------------------------------------------------------------------------

def resolve_route(code) -> Route | None:
    """The active route with this code; None for no code. Unknown or inactive: an error."""
    if code is None:
        return None
    if not isinstance(code, str) or not code.strip() or len(code.strip()) > 16:
        raise CheckInputError(_("Unknown route."), "unknown_route")
    route = Route.objects.active().filter(code=code.strip().upper()).first()
    if route is None:
        raise CheckInputError(
            _("Unknown or inactive route: %(code)s") % {"code": code.strip().upper()[:16]}, "unknown_route"
        )
    return route


def parse_seals(seals) -> list[str] | None:
    if seals is None:
        return None
    try:
        return normalize_tag_list(seals)
    except ValueError:
        raise CheckInputError(_("The seals must be a list of seal numbers."), "invalid_seals") from None


def parse_vehicle(vehicle) -> Vehicle | None:
    if vehicle is None:
        return None
    if not isinstance(vehicle, dict):
        raise CheckInputError(
            _("The vehicle must be an object with plate, trailers and seals."), "invalid_vehicle"
        )
    plate = vehicle.get("plate")
    if plate is not None and not isinstance(plate, str):
        raise CheckInputError(_("The vehicle's plate must be text."), "invalid_vehicle")
    try:
        trailers = normalize_tag_list(vehicle["trailers"]) if vehicle.get("trailers") is not None else None
    except ValueError:
        raise CheckInputError(_("The trailers must be a list of plates."), "invalid_vehicle") from None
    return Vehicle(
        plate=normalize_plate(plate)[:20] if plate is not None else None,
        trailers=[t[:20] for t in trailers] if trailers is not None else None,
        seals=parse_seals(vehicle.get("seals")),
    )


# --- the state query's subqueries ------------------------------------------------------

def state_annotations(*, station: Station, today: date, route: Route | None) -> dict:
    """Subqueries over the driver row (OuterRef("pk")) that the checks of a scan at
    `station` need. Empty for checks that cannot apply at this station.

    The scan's state query is compiled once per station kind and whether `route` is None
    (drivers.services._state_query): which subqueries there are may depend on those only,
    and on whether station.default_route_id is set; everything else must be a parameter."""
    driver_ref = OuterRef(OuterRef("pk"))
    found = {}
    if station.kind in ENTRY_KINDS:
        own = DriverDocument.objects.filter(driver=driver_ref, doc_type=OuterRef("pk"))
        found["doc_missing"] = Exists(DocumentType.objects.filter(required=True).filter(~Exists(own)))
        found["doc_expired"] = Exists(
            DocumentType.objects.filter(blocks_entry=True)
            .filter(Exists(own))
            .filter(~Exists(own.filter(expires_on__gte=today)))
        )
        if route is None and station.default_route_id:
            found["default_route_id"] = Subquery(
                Route.objects.active().filter(pk=station.default_route_id).values("pk")[:1]
            )
    if station.kind in EXIT_KINDS:
        done = Movement.objects.valid().filter(
            visit__driver=driver_ref, visit__left_at__isnull=True, station=OuterRef("station")
        )
        found["route_missing"] = Exists(
            RouteStop.objects.filter(
                route__visits__driver=OuterRef("pk"), route__visits__left_at__isnull=True
            ).filter(~Exists(done))
        )
    return found


# --- the rules -------------------------------------------------------------------------

def _day(value: date) -> str:
    return date_format(value, "SHORT_DATE_FORMAT")


def entry_refusal(state: dict, *, driver, today: date) -> tuple[str, str] | None:
    """(reason, detail) when documents refuse this entry, else None. Missing comes first."""
    if state.get("doc_missing"):
        names = DocumentType.objects.filter(required=True).exclude(documents__driver=driver)
        return ScanReason.DOCUMENT_MISSING, ", ".join(t.name for t in names)
    if state.get("doc_expired"):
        expired = (
            DocumentType.objects.filter(blocks_entry=True, documents__driver=driver)
            .annotate(latest=Max("documents__expires_on"))
            .filter(latest__lt=today)
        )
        return ScanReason.DOCUMENT_EXPIRED, "; ".join(
            _("%(document)s expired on %(date)s") % {"document": t.name, "date": _day(t.latest)}
            for t in expired
        )
    return None


def _seals_text(seals) -> str:
    return ", ".join(seals)


def seal_difference(entry_seals: list[str], exit_seals: list[str] | None) -> str:
    """What differs between the entry's and the exit's seals ('' when they match):
    compared as sets, ignoring case, spaces and hyphens."""
    entry_seals = list(entry_seals or [])
    exit_seals = list(exit_seals or [])
    entry_keys = {seal_key(s) for s in entry_seals}
    exit_keys = {seal_key(s) for s in exit_seals}
    if entry_keys == exit_keys:
        return ""
    if not exit_seals:
        return _("no seals given; the entry recorded %(seals)s") % {"seals": _seals_text(entry_seals)}
    parts = []
    missing = [s for s in entry_seals if seal_key(s) not in exit_keys]
    extra = [s for s in exit_seals if seal_key(s) not in entry_keys]
    if missing:
        parts.append(_("missing %(seals)s") % {"seals": _seals_text(missing)})
    if extra:
        parts.append(_("not recorded at entry %(seals)s") % {"seals": _seals_text(extra)})
    if not entry_seals:
        parts = [_("the entry recorded no seals; given %(seals)s") % {"seals": _seals_text(exit_seals)}]
    return "; ".join(parts)


def exit_refusal(state: dict, *, visit: Visit | None, station: Station, seals: list[str] | None):
    """(reason, detail) when the route or the seals hold this exit, else None. `visit` is
    the open visit as the state query read it (with its route and seals)."""
    if visit is None:
        return None
    if state.get("route_missing"):
        progress = route_progress(visit)
        if progress and progress["missing"]:
            return ScanReason.ROUTE_INCOMPLETE, ", ".join(progress["missing"])
    if station.checks_seals:
        difference = seal_difference(visit.seals, seals)
        if difference:
            return ScanReason.SEAL_MISMATCH, difference
    return None
