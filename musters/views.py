"""The roll call's screens: the marshal's page, the live board, the report and its
downloads, the start/close/manual accounting forms, and the marshal's JSON mark API.
Every rule is in musters.services; these parse, check the permission and render."""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import permission_required
from drivers.models import Driver
from drivers.spreadsheets import DATETIME, Column, Sheet, csv_text, stream_xlsx
from drivers.views.api import (
    BadRequest,
    _field,
    _json_body,
    _scanned_at,
    api_view,
    error_response,
    photo_url,
)
from stations.models import Station

from . import selectors, services
from .models import AccountedBy, RollCall

MARK_PERM = "musters.mark_muster"
MANAGE_PERM = "musters.manage_muster"


def _open_roll_call() -> RollCall | None:
    return RollCall.objects.filter(is_open=True).first()


@never_cache
@require_GET
@permission_required(MARK_PERM)
def index(request):
    """The marshal's screen while a roll call is open; else the past roll calls and, for
    managers, the start form."""
    roll_call = _open_roll_call()
    context = {
        "roll_call": roll_call,
        "points": list(Station.objects.active().muster_points()),
        "mark_url": reverse("musters:mark", args=[roll_call.pk]) if roll_call else None,
        "board_url": reverse("musters:board", args=[roll_call.pk]) if roll_call else None,
        "can_manage": request.user.has_perm(MANAGE_PERM),
        "recent_roll_calls": list(selectors.recent_roll_calls()),
        "counts": selectors.counts(roll_call) if roll_call else None,
    }
    return render(request, "musters/marshal.html", context)


@require_POST
@permission_required(MANAGE_PERM)
def start(request):
    drill = request.POST.get("drill") in ("on", "1", "true")
    try:
        roll_call = services.start_roll_call(by=request.user, drill=drill)
    except services.MusterError as exc:
        messages.error(request, exc.message)
        return redirect("musters:index")
    return redirect("musters:board", roll_call.pk)


def _board_context(request, roll_call: RollCall, marker: str) -> dict:
    context = selectors.board(roll_call)
    context.update({
        "marker": marker,
        "elapsed_text": selectors.elapsed_text(context["elapsed"]),
        "full_after_text": selectors.elapsed_text(context["full_after"]),
        "can_manage": request.user.has_perm(MANAGE_PERM),
        "live_url": reverse("musters:board_live", args=[roll_call.pk]),
    })
    return context


@never_cache
@require_GET
@permission_required(MARK_PERM)
def board(request, roll_call_id: int):
    """The live board; its fragment polls board_live every 2 s."""
    roll_call = get_object_or_404(RollCall, pk=roll_call_id)
    marker = selectors.live_marker(roll_call)
    return render(request, "musters/board.html", _board_context(request, roll_call, marker))


@never_cache
@require_GET
@permission_required(MARK_PERM)
def board_live(request, roll_call_id: int):
    """The board's fragment, or an empty 204 when nothing changed since the marker sent."""
    roll_call = get_object_or_404(RollCall, pk=roll_call_id)
    marker = selectors.live_marker(roll_call)
    if request.GET.get("since") == marker:
        return HttpResponse(status=204)
    return render(request, "musters/_board_live.html", _board_context(request, roll_call, marker))


@require_POST
@permission_required(MANAGE_PERM)
def close(request, roll_call_id: int):
    roll_call = get_object_or_404(RollCall, pk=roll_call_id)
    try:
        services.close_roll_call(roll_call=roll_call, by=request.user)
    except services.MusterError as exc:
        messages.error(request, exc.message)
        return redirect("musters:board", roll_call.pk)
    messages.success(request, _("Roll call closed."))
    return redirect("musters:report", roll_call.pk)


@require_POST
@permission_required(MANAGE_PERM)
def account_manual(request, roll_call_id: int):
    """A supervisor accounts a missing person for by hand: POST driver (id) and reason."""
    roll_call = get_object_or_404(RollCall, pk=roll_call_id)
    driver_id = request.POST.get("driver", "")
    driver = Driver.objects.filter(pk=int(driver_id)).first() if driver_id.isdigit() and len(driver_id) < 18 else None
    if driver is None:
        messages.error(request, _("Choose a person from the missing list."))
        return redirect("musters:board", roll_call.pk)
    try:
        services.account_manually(roll_call=roll_call, driver=driver, by=request.user,
                                  reason=request.POST.get("reason", ""))
    except services.MusterError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(name)s accounted for by hand.") % {"name": driver.full_name})
    return redirect("musters:board", roll_call.pk)


# --- the report and its downloads ---------------------------------------------------------


def _report_header() -> list[str]:
    return [_("Name"), _("Company"), _("Phone"), _("Expected"), _("Last station"), _("Last seen"),
            _("Accounted for"), _("How"), _("Where"), _("By"), _("Reason")]


def _local(value):
    return timezone.localtime(value).replace(tzinfo=None, microsecond=0) if value else None


def _report_rows(context: dict):
    """One row per expected person, then the unexpected ones found: naive local times."""
    for r in context["rows"]:
        f = r.found
        yield [r.driver.full_name, r.driver.company, r.driver.phone, _("Yes"), r.last_station, _local(r.last_seen_at),
               _local(f.at) if f else None, f.how_label if f else _("MISSING"), f.point if f else "",
               f.by if f else "", f.reason if f else ""]
    for a in context["unexpected"]:
        yield [a.driver.full_name, a.driver.company, a.driver.phone, _("No"), "", None, _local(a.at),
               str(AccountedBy(a.how).label), a.point, (a.by.get_full_name() or a.by.get_username()) if a.by else "",
               a.reason]


def _file_name(roll_call: RollCall, extension: str) -> str:
    kind = "simulacro" if roll_call.drill else "evacuacion"
    return f"pase-de-lista-{kind}-{timezone.localtime(roll_call.started_at):%Y%m%d-%H%M}.{extension}"


def _csv_response(roll_call: RollCall, context: dict) -> StreamingHttpResponse:
    def chunks():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(_report_header())
        yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
        for row in _report_rows(context):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow([csv_text(v) if isinstance(v, str) else (v.strftime("%Y-%m-%d %H:%M:%S") if v else "")
                             for v in row])
            yield buffer.getvalue().encode("utf-8")

    response = StreamingHttpResponse(chunks(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_file_name(roll_call, "csv")}"'
    return response


def _xlsx_response(roll_call: RollCall, context: dict) -> StreamingHttpResponse:
    widths = [30, 24, 16, 10, 20, 18, 18, 18, 20, 20, 40]
    kinds = {5: DATETIME, 6: DATETIME}
    columns = [Column(title, widths[i], kinds.get(i, "any")) for i, title in enumerate(_report_header())]
    rc = roll_call

    def about():
        yield (_("Roll call"), _("Drill") if rc.drill else _("Real evacuation"))
        yield (_("Started"), _local(rc.started_at))
        yield (_("Closed"), _local(rc.closed_at) if rc.closed_at else _("Open"))
        yield (_("Expected"), context["expected_count"])
        yield (_("Accounted for"), context["accounted_count"])
        yield (_("Missing"), context["missing_count"])
        yield (_("Time to full accountability"), context["full_after_text"] or _("Not reached"))

    sheets = [Sheet(_("Roll call"), columns, _report_rows(context)),
              Sheet(_("Summary"), [Column(_("Item"), 30), Column(_("Value"), 40, kind="any")], about)]
    response = StreamingHttpResponse(stream_xlsx(sheets), content_type=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    response["Content-Disposition"] = f'attachment; filename="{_file_name(roll_call, "xlsx")}"'
    return response


@never_cache
@require_GET
@permission_required(MARK_PERM)
def report(request, roll_call_id: int):
    """The printable report: every expected person, when, where and by whom he was
    accounted for, the unexpected ones, the time to full accountability; ?format=csv|xlsx."""
    roll_call = get_object_or_404(RollCall, pk=roll_call_id)
    context = _board_context(request, roll_call, "")
    fmt = request.GET.get("format")
    if fmt == "csv":
        return _csv_response(roll_call, context)
    if fmt == "xlsx":
        return _xlsx_response(roll_call, context)
    return render(request, "musters/report.html", context)


# --- the marshal's JSON API ---------------------------------------------------------------


STATUS_BY_CODE = {"nonce_conflict": 409}


def _first_json(first: services.First | None) -> dict | None:
    if first is None:
        return None
    return {"at": timezone.localtime(first.at).isoformat(), "point": first.point, "by": first.by}


def mark_result_json(result: services.MarkResult, roll_call: RollCall) -> dict:
    driver = result.driver
    return {
        "accepted": result.accepted,
        "reason": str(result.reason),
        "message": result.message,
        "replayed": result.replayed,
        "driver": {"id": driver.pk, "name": driver.full_name, "company": driver.company,
                   "photo_url": photo_url(driver)} if driver else None,
        **selectors.counts(roll_call),
        "first": _first_json(result.first),
        "at": timezone.localtime(result.mark.at).isoformat() if result.mark else None,
    }


@api_view(MARK_PERM)
def api_mark(request, roll_call_id: int):
    """POST {"code", "station" | "point_name", "nonce", "scanned_at"?}: a marshal's scan."""
    roll_call = RollCall.objects.filter(pk=roll_call_id).first()
    if roll_call is None:
        return error_response(_("Unknown roll call."), 404, "not_found")
    data = _json_body(request)
    code = _field(data, "code", str, required=True)
    if not code.strip():
        raise BadRequest(_("The field “%(field)s” is required.") % {"field": "code"})
    station_code = _field(data, "station", str)
    point_name = _field(data, "point_name", str)
    if (station_code is None) == (point_name is None or not point_name.strip()):
        raise BadRequest(_("Give either a muster point (station) or a point name, not both."))
    if station_code is not None:
        point = Station.objects.muster_points().filter(code=station_code.strip().upper()[:16]).first()
        if point is None:
            raise BadRequest(_("Unknown muster point: %(code)s") % {"code": station_code[:20]},
                             code="unknown_station")
    else:
        point = point_name
    try:
        result = services.mark_safe(roll_call=roll_call, code=code, point=point, by=request.user,
                                    nonce=_field(data, "nonce", str), scanned_at=_scanned_at(data))
    except services.MusterError as exc:
        return error_response(exc.message, STATUS_BY_CODE.get(exc.code, 400), exc.code)
    return JsonResponse(mark_result_json(result, roll_call))
