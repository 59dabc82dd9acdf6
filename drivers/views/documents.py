"""Drivers' documents: each driver's list, and those that expire soon, which the supervisor
renews before the gate refuses the driver."""

import csv

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.forms import inlineformset_factory
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.decorators import permission_required

from .. import selectors
from ..spreadsheets import csv_text
from ..models import DocumentType, Driver, DriverDocument

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


DocumentFormSet = inlineformset_factory(
    Driver,
    DriverDocument,
    fields=("doc_type", "number", "expires_on", "file"),
    widgets={"expires_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")},
    extra=2,
    can_delete=True,
)


@permission_required("drivers.change_driver")
def driver_documents(request, pk):
    """A driver's documents: add, renew (a new row with the new date), correct or remove."""
    driver = get_object_or_404(Driver, pk=pk)
    formset = DocumentFormSet(request.POST or None, request.FILES or None, instance=driver,
                              queryset=driver.documents.select_related("doc_type").order_by("doc_type__name",
                                                                                            "-expires_on"))
    if request.method == "POST" and formset.is_valid():
        with transaction.atomic():
            formset.save()
        messages.success(request, _("Documents of %(name)s saved.") % {"name": driver.full_name})
        return redirect("drivers:driver_documents", pk=driver.pk)
    return render(request, "drivers/driver_documents.html", {
        "driver": driver, "formset": formset, "documents": selectors.document_status(driver),
        "has_types": DocumentType.objects.exists(),
    }, status=400 if request.method == "POST" else 200)
