"""Who is inside now, the evacuation list, and the supervisor's manual check-out."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import permission_required

from .. import selectors, services
from ..models import Driver

SEARCH_MAX = 100


class CheckOutForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500)


def _inside(request, now):
    query = (request.GET.get("q") or "").strip()[:SEARCH_MAX]
    visits = selectors.inside_now()
    if query:
        visits = visits.filter(driver__in=Driver.objects.search(query).values("pk"))
    visits = list(visits)
    overstay_before = now - timedelta(hours=settings.OVERSTAY_HOURS)
    for visit in visits:
        visit.overstay = visit.entered_at < overstay_before
        visit.stay = now - visit.entered_at
    return query, visits


@never_cache
@require_GET
@permission_required("drivers.view_visit")
def active(request):
    now = timezone.now()
    marker = selectors.live_marker(now)
    if request.htmx and request.GET.get("since") == marker:
        return HttpResponse(status=204)
    query, visits = _inside(request, now)
    context = {
        "visits": visits,
        "query": query,
        "marker": marker,
        "now": now,
        "poll_url": reverse("drivers:active") + "?" + urlencode({"q": query, "since": marker}),
        "can_check_out": request.user.has_perm("drivers.check_out_driver"),
        "form": CheckOutForm(),
        "OVERSTAY_HOURS": settings.OVERSTAY_HOURS,
    }
    template = "drivers/_active_rows.html" if request.htmx else "drivers/active.html"
    return render(request, template, context)


@never_cache
@require_GET
@permission_required("drivers.view_visit")
def evacuation(request):
    """Everyone inside now on one printable page, for a fire drill or an emergency."""
    now = timezone.now()
    return render(
        request,
        "drivers/evacuation.html",
        {"visits": list(selectors.inside_now()), "now": now, "autoprint": "print" in request.GET},
    )


@require_POST
@permission_required("drivers.check_out_driver")
def check_out(request, driver_id: int):
    driver = get_object_or_404(Driver, pk=driver_id)
    form = CheckOutForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why %(name)s is checked out by hand.") % {"name": driver.full_name})
    else:
        try:
            services.check_out(driver=driver, by=request.user, reason=form.cleaned_data["reason"])
        except services.ScanError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("%(name)s was checked out by hand.") % {"name": driver.full_name})
    return redirect("drivers:active")
