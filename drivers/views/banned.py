"""Banned drivers: the bans in force, their history, ban and unban (through services)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import permission_required

from .. import services
from ..forms import ReasonForm
from ..models import Ban, Driver

PAST_MAX = 100
SEARCH_MAX = 100


def _back(request):
    nxt = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(nxt, {request.get_host()}, request.is_secure()):
        return redirect(nxt)
    return redirect("drivers:banned")


@require_GET
@permission_required("drivers.view_ban")
def banned(request):
    now = timezone.now()
    in_force = list(Ban.objects.in_force(now).select_related("driver", "banned_by").order_by("-banned_at"))
    past = list(
        Ban.objects.exclude(pk__in=[b.pk for b in in_force])
        .select_related("driver", "banned_by", "lifted_by")
        .order_by("-banned_at")[:PAST_MAX]
    )
    can_ban = request.user.has_perm("drivers.ban_driver")
    query = (request.GET.get("q") or "").strip()[:SEARCH_MAX]
    candidates = []
    if can_ban and query:
        banned_ids = {b.driver_id for b in in_force}
        candidates = [d for d in Driver.objects.search(query)[:20]]
        for d in candidates:
            d.is_banned = d.pk in banned_ids
    return render(
        request,
        "drivers/banned.html",
        {
            "in_force": in_force,
            "past": past,
            "can_ban": can_ban,
            "query": query,
            "candidates": candidates,
            "form": ReasonForm(),
            "now": now,
        },
    )


@require_POST
@permission_required("drivers.ban_driver")
def ban(request, driver_id: int):
    driver = get_object_or_404(Driver, pk=driver_id)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back(request)
    try:
        services.ban(
            driver=driver, reason=form.cleaned_data["reason"], by=request.user, until=form.cleaned_data["until"]
        )
    except services.ScanError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("%(name)s is banned: his next scan will be refused.") % {"name": driver.full_name}
        )
    return _back(request)


@require_POST
@permission_required("drivers.ban_driver")
def unban(request, driver_id: int):
    driver = get_object_or_404(Driver, pk=driver_id)
    lifted = services.unban(driver=driver, by=request.user)
    if lifted:
        messages.success(request, _("The ban of %(name)s was lifted.") % {"name": driver.full_name})
    else:
        messages.warning(request, _("%(name)s was not banned.") % {"name": driver.full_name})
    return _back(request)

