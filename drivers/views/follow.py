"""Follow one driver: where he is now and his route through the stations."""

from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.decorators import permission_required

from .. import selectors
from ..forms import ReasonForm
from ..models import Driver

SEARCH_MAX = 100
RESULTS_MAX = 30


def _badge_url(driver):
    try:
        return reverse("drivers:badge", args=[driver.pk])
    except NoReverseMatch:  # badges not installed
        return None


@require_GET
@permission_required("drivers.view_movement")
def follow(request):
    query = (request.GET.get("q") or "").strip()[:SEARCH_MAX]
    results = list(Driver.objects.search(query)[:RESULTS_MAX]) if query else []
    context = {"query": query, "results": results, "driver": None, "error": ""}
    status = 200
    raw_id = (request.GET.get("driver") or "").strip()
    if raw_id:
        try:
            driver = Driver.objects.get(pk=int(raw_id))
        except (ValueError, Driver.DoesNotExist):
            context["error"] = _("No driver with this number. Search him by name, licence, company or plate.")
            status = 404
        else:
            visit = selectors.inside_now().filter(driver=driver).first()
            context.update(
                driver=driver,
                visit=visit,
                route_state=selectors.route_progress(visit),
                documents=selectors.document_status(driver),
                ban=driver.active_ban(),
                route=selectors.driver_route(driver),
                badge_url=_badge_url(driver),
                can_ban=request.user.has_perm("drivers.ban_driver"),
                ban_form=ReasonForm(),
            )
    return render(request, "drivers/follow.html", context, status=status)

