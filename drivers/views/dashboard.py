"""The live dashboard. The page polls itself every second sending the marker it shows;
when nothing changed the answer is an empty 204 after one cheap query (selectors.live_marker),
otherwise the live fragment. All state is read from the database, so any number of
workers or app servers can answer the polls."""

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.decorators import permission_required

from .. import selectors

CHART_HEIGHT = 150
EXPIRING_SHOWN = 8


def bar_chart(groups: list[dict], label_key: str, *, bar: int = 11, gap: int = 8) -> dict:
    """Geometry of an inline SVG bar chart: one pair of bars (entries, exits) per group."""
    top = max([max(g["in"], g["out"]) for g in groups] + [1])
    step = 2 * bar + gap
    bars = []
    for i, g in enumerate(groups):
        x = i * step
        h_in = round(g["in"] / top * CHART_HEIGHT)
        h_out = round(g["out"] / top * CHART_HEIGHT)
        bars.append({
            "x_in": x, "x_out": x + bar, "x_label": x + bar,
            "y_in": CHART_HEIGHT - h_in, "h_in": h_in, "y_out": CHART_HEIGHT - h_out, "h_out": h_out,
            "n_in": g["in"], "n_out": g["out"], "label": g[label_key],
        })
    return {"bars": bars, "width": len(groups) * step, "height": CHART_HEIGHT, "top": top,
            "bar": bar, "label_y": CHART_HEIGHT + 18, "total_height": CHART_HEIGHT + 24}


def live_context(now, marker: str) -> dict:
    hours = selectors.hourly_counts(now)
    entries, exits = sum(h["in"] for h in hours), sum(h["out"] for h in hours)
    days = selectors.daily_counts(now, today={"in": entries, "out": exits})
    for d in days:
        d["short"] = d["date"].strftime("%d/%m")
    inside = selectors.inside_now()
    banned = selectors.recent_banned_attempts(now)
    return {
        "marker": marker,
        "now": now,
        "inside_count": inside.count(),
        "entries_today": entries,
        "exits_today": exits,
        "refused_today": selectors.refused_today_count(now),
        "stays": selectors.stays_today(now),
        "cards": selectors.station_cards(now),
        "events": selectors.latest_events(15),
        "hour_chart": bar_chart(hours, "label"),
        "day_chart": bar_chart(days, "short", bar=34, gap=34),
        "overstaying": selectors.overstaying(now),
        "banned_attempts": banned,
        "alert_id": banned[0].pk if banned else 0,
        "OVERSTAY_HOURS": settings.OVERSTAY_HOURS,
        "STATION_IDLE_MINUTES": settings.STATION_IDLE_MINUTES,
    }


@never_cache
@require_GET
@permission_required("drivers.view_dashboard")
def dashboard(request):
    now = timezone.now()
    marker = selectors.live_marker(now)
    if request.htmx and request.GET.get("since") == marker:
        return HttpResponse(status=204)  # nothing new: htmx keeps the page as it is
    if request.htmx:
        return render(request, "drivers/_dashboard_live.html", live_context(now, marker))
    context = live_context(now, marker)
    # Documents change by the day, not by the second: on the page, not in the live fragment.
    # Only those not yet expired: expired ones are on /documents/expiring/ and refused at the gate.
    expiring = selectors.expiring_documents(include_expired=False)
    context["expiring_documents"] = list(expiring[:EXPIRING_SHOWN])
    context["expiring_count"] = expiring.count()
    context["today"] = timezone.localdate(now)
    context["dashboard_messages"] = {"soundOn": _("Alert sound on"), "soundOff": _("Turn alert sound on")}
    return render(request, "drivers/dashboard.html", context)
