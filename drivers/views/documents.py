"""Documents that expire soon: the supervisor renews them before the gate refuses the driver."""

import csv

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.decorators import permission_required

from .. import selectors
from ..exports import csv_text

PER_PAGE = 100


def _rows(today, include_expired):
    for doc in selectors.expiring_documents(today, include_expired=include_expired):
        yield doc, (doc.expires_on - today).days


@require_GET
@permission_required("drivers.view_dashboard")
def expiring(request):
    today = timezone.localdate()
    include_expired = request.GET.get("expired") != "0"
    if request.GET.get("format") == "csv":
        return _csv(today, include_expired)
    documents = selectors.expiring_documents(today, include_expired=include_expired)
    page = Paginator(documents, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "drivers/documents_expiring.html", {
        "page": page, "rows": [(doc, (doc.expires_on - today).days) for doc in page],
        "today": today, "include_expired": include_expired,
    })


def _csv(today, include_expired) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_("expiring-documents")}_{today}.csv"'
    response.write("\ufeff")  # Excel keeps the accents
    writer = csv.writer(response)
    writer.writerow([_("Driver"), _("Licence"), _("Company"), _("Document"), _("Number"), _("Expires on"),
                     _("Days left")])
    for doc, days in _rows(today, include_expired):
        writer.writerow([
            csv_text(doc.driver.full_name), csv_text(doc.driver.license_number), csv_text(doc.driver.company),
            csv_text(doc.doc_type.name), csv_text(doc.number), doc.expires_on.isoformat(), days,
        ])
    return response
