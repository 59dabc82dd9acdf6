"""The badge: printable card (CR80), A4 sheet, reissue, and the driver's own badge page."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from qr_code.qrcode.maker import make_embedded_qr_code, make_qr
from qr_code.qrcode.utils import QRCodeOptions

from accounts.decorators import permission_required

from .. import services
from ..models import Driver

# PNG at 10 px per module: version 2 (25 modules + 4 of quiet zone) is 290 px, sharp when
# printed at 24 mm (about 300 dpi) and exactly what a test can decode back.
# Error correction Q survives a scratched or bent card.
QR_OPTIONS = QRCodeOptions(size=10, border=4, error_correction="Q", image_format="png")
SHEET_MAX = 60  # six A4 pages of ten cards


def badge_qr(code: str):
    """The segno QR of a badge code: force_text=False lets segno pick alphanumeric mode."""
    return make_qr(code, QR_OPTIONS, force_text=False)


def badge_qr_img(code: str, css_class: str = "id-card__qr") -> str:
    """An <img> with the QR of `code` as a data URL (no extra request, prints as shown)."""
    return make_embedded_qr_code(
        code, QR_OPTIONS, force_text=False, alt_text=_("Badge QR code"), class_names=css_class
    )


def _card(driver: Driver) -> dict:
    return {"driver": driver, "qr": badge_qr_img(driver.badge_code)}


# A badge QR opens the gate: no browser or proxy may keep a copy (no-store).
@never_cache
@permission_required("drivers.view_driver")
def badge(request, pk):
    driver = get_object_or_404(Driver.objects.select_related("created_by"), pk=pk)
    return render(
        request,
        "drivers/badge_card.html",
        {
            "card": _card(driver),
            "driver": driver,
            "ban": driver.active_ban(),
            "revoked_count": driver.revoked_badges.count(),
            "plant_name": settings.PLANT_NAME,
        },
    )


def _ids(request) -> list[int] | None:
    raw = ",".join(request.GET.getlist("ids"))
    ids = []
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            return None
        if int(part) not in ids:
            ids.append(int(part))
    return ids


# A badge QR opens the gate: no browser or proxy may keep a copy (no-store).
@never_cache
@permission_required("drivers.view_driver")
def badge_sheet(request):
    ids = _ids(request)
    if ids is None:
        return HttpResponseBadRequest(_("The list of drivers must be numbers separated by commas."))
    if not ids:
        messages.warning(request, _("Tick the drivers whose badges you want to print."))
        return redirect("drivers:driver_list")
    if len(ids) > SHEET_MAX:
        return HttpResponseBadRequest(
            _("At most %(max)d badges at a time.") % {"max": SHEET_MAX}
        )
    found = {d.pk: d for d in Driver.objects.filter(pk__in=ids)}
    drivers = [found[i] for i in ids if i in found]
    cards = [_card(d) for d in drivers]
    pages = [cards[i : i + 10] for i in range(0, len(cards), 10)]
    return render(
        request,
        "drivers/badge_sheet.html",
        {"pages": pages, "count": len(cards), "missing": len(ids) - len(cards), "plant_name": settings.PLANT_NAME},
    )


@require_POST
@permission_required("drivers.reissue_badge")
def reissue(request, pk):
    driver = get_object_or_404(Driver, pk=pk)
    reason = " ".join(request.POST.get("reason", "").split())[:200] or _("Lost badge")
    services.reissue_badge(driver=driver, by=request.user, reason=reason)
    messages.success(
        request,
        _("New badge issued for %(name)s. The old badge no longer works: print this one.")
        % {"name": driver.full_name},
    )
    return redirect("drivers:badge", pk=driver.pk)


@never_cache
@permission_required("drivers.view_own_badge")
def my_badge(request):
    driver = Driver.objects.filter(user=request.user).first()
    context = {"driver": driver, "plant_name": settings.PLANT_NAME}
    if driver is not None:
        context["qr"] = badge_qr_img(driver.badge_code, "my-badge-qr")
        context["ban"] = driver.active_ban()
    return render(request, "drivers/my_badge.html", context)
