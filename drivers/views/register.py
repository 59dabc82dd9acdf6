"""Register, edit and list drivers (the guard's "new driver" screen)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.decorators import permission_required

from .. import photos, services
from ..forms import DriverForm, NewDocumentsForm
from ..models import Ban, DocumentType, Driver

PAGE_SIZE = 50


@permission_required("drivers.view_driver")
def driver_list(request):
    query = request.GET.get("q", "").strip()[:100]
    drivers = Driver.objects.search(query).only(
        "pk", "full_name", "license_number", "company", "plate", "photo_thumb", "badge_issued_at"
    ).annotate(banned=Exists(Ban.objects.in_force().filter(driver=OuterRef("pk"))))
    page = Paginator(drivers, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "drivers/driver_list.html", {"page": page, "q": query})


def _form_context(form, driver):
    return {
        "form": form,
        "driver": driver,
        # The company field's suggestions: typing "Trans" offers the carriers already known.
        "companies": Driver.objects.order_by("company").values_list("company", flat=True).distinct()[:300],
        "photo_max_mb": photos.max_bytes() // (1024 * 1024),
        "webcam_messages": {
            "unsupported": _(
                "This browser cannot use the camera here (it needs HTTPS or this computer). Choose a file instead."
            ),
            "denied": _("The camera was not allowed. Allow it in the browser, or choose a file."),
            "notFound": _("No camera found. Connect one, or choose a file."),
            "busy": _("The camera is in use by another program."),
            "starting": _("Starting the camera…"),
            "ready": _("Look at the camera and press “Take photo”."),
            "taken": _("Photo taken. Save, or take it again."),
            "fileChosen": _("Photo file chosen."),
            "retake": _("Take again"),
        },
    }


@permission_required("drivers.add_driver")
def register(request):
    form = DriverForm(request.POST or None, request.FILES or None)
    documents = NewDocumentsForm(request.POST or None, types=DocumentType.objects.order_by("name"))
    if request.method == "POST" and form.is_valid() and documents.is_valid():
        try:
            with transaction.atomic():  # the driver and his documents, or nothing
                driver = services.register_driver(by=request.user, photo=form.processed_photo,
                                                  **form.driver_fields())
                services.add_documents(driver=driver, by=request.user, documents=documents.documents())
        except ValidationError as error:  # e.g. the licence registered at another booth meanwhile
            form.add_service_error(error)
        else:
            messages.success(request, _("%(name)s is registered. Print the badge and hand it over.") % {
                "name": driver.full_name})
            return redirect("drivers:badge", pk=driver.pk)
    return render(request, "drivers/driver_form.html", {**_form_context(form, None), "documents": documents})


@permission_required("drivers.change_driver")
def edit(request, pk):
    driver = get_object_or_404(Driver, pk=pk)
    form = DriverForm(request.POST or None, request.FILES or None, instance=driver)
    if request.method == "POST" and form.is_valid():
        photo = {"photo": form.processed_photo} if form.processed_photo else {}
        try:
            services.update_driver(driver=driver, by=request.user, **form.driver_fields(), **photo)
        except ValidationError as error:
            form.add_service_error(error)
        else:
            messages.success(request, _("Changes to %(name)s saved.") % {"name": driver.full_name})
            return redirect("drivers:badge", pk=driver.pk)
    return render(request, "drivers/driver_form.html", _form_context(form, driver))
