"""Driver documents with an expiry date: configured and kept in the admin."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from drivers.models import DocumentType, DriverDocument

pytestmark = pytest.mark.django_db


def test_a_document_type_code_is_lower_case_and_unique():
    DocumentType.objects.create(code="licencia_federal", name="Licencia federal")
    with pytest.raises(IntegrityError), transaction.atomic():
        DocumentType.objects.create(code="licencia_federal", name="Otra")
    with pytest.raises(IntegrityError), transaction.atomic():
        DocumentType.objects.create(code="SEGURO", name="Seguro")


def test_a_new_document_type_blocks_entry_when_expired_warns_15_days_and_is_not_required():
    kind = DocumentType.objects.create(code="seguro", name="Seguro")
    assert (kind.required, kind.blocks_entry, kind.warn_days) == (False, True, 15)


def test_a_scanned_document_must_be_a_pdf_or_an_image(driver):
    from django.core.files.uploadedfile import SimpleUploadedFile

    kind = DocumentType.objects.create(code="seguro", name="Seguro")
    doc = DriverDocument(driver=driver, doc_type=kind, expires_on=date(2027, 1, 1),
                         file=SimpleUploadedFile("x.html", b"<script>"))
    with pytest.raises(ValidationError):
        doc.full_clean()


def test_the_driver_admin_keeps_his_documents(client, admin_user, driver):
    kind = DocumentType.objects.create(code="licencia_federal", name="Licencia federal")
    client.force_login(admin_user)
    url = reverse("admin:drivers_driver_change", args=[driver.pk])
    page = client.get(url)
    assert page.status_code == 200 and b"documents-TOTAL_FORMS" in page.content
    response = client.post(url, {
        "full_name": driver.full_name, "license_number": driver.license_number, "company": driver.company,
        "phone": "", "plate": driver.plate, "notes": "",
        "documents-TOTAL_FORMS": "1", "documents-INITIAL_FORMS": "0",
        "documents-0-doc_type": kind.pk, "documents-0-number": "lf 123", "documents-0-expires_on": "2027-03-31",
        "bans-TOTAL_FORMS": "0", "bans-INITIAL_FORMS": "0",
    })
    assert response.status_code == 302, response.content[:2000]
    doc = DriverDocument.objects.get()
    assert (doc.driver, doc.doc_type, doc.number, doc.expires_on) == (driver, kind, "LF 123", date(2027, 3, 31))


def management(total, initial=0):
    return {"documents-TOTAL_FORMS": str(total), "documents-INITIAL_FORMS": str(initial),
            "documents-MIN_NUM_FORMS": "0", "documents-MAX_NUM_FORMS": "1000"}


def test_the_supervisor_adds_and_renews_a_drivers_documents(sup, driver):
    kind = DocumentType.objects.create(code="licencia_federal", name="Licencia federal")
    url = reverse("drivers:driver_documents", args=[driver.pk])
    assert sup.get(url).status_code == 200
    response = sup.post(url, {**management(1), "documents-0-doc_type": kind.pk, "documents-0-number": "a1",
                              "documents-0-expires_on": "2027-01-31"})
    assert response.status_code == 302
    first = DriverDocument.objects.get()
    assert (first.driver, first.number, first.expires_on) == (driver, "A1", date(2027, 1, 31))
    renewed = sup.post(url, {**management(2, 1), "documents-0-id": first.pk, "documents-0-doc_type": kind.pk,
                             "documents-0-number": "A1", "documents-0-expires_on": "2027-01-31",
                             "documents-1-doc_type": kind.pk, "documents-1-number": "A2",
                             "documents-1-expires_on": "2029-01-31"})
    assert renewed.status_code == 302 and DriverDocument.objects.count() == 2
    page = sup.get(url).content.decode()
    assert "31/01/2029" in page


def test_a_bad_document_date_is_refused_and_nothing_is_saved(sup, driver):
    kind = DocumentType.objects.create(code="seguro", name="Seguro")
    response = sup.post(reverse("drivers:driver_documents", args=[driver.pk]),
                        {**management(1), "documents-0-doc_type": kind.pk, "documents-0-expires_on": "2027-13-45"})
    assert response.status_code == 400 and not DriverDocument.objects.exists()


def test_a_document_can_be_removed(sup, driver):
    kind = DocumentType.objects.create(code="seguro", name="Seguro")
    doc = DriverDocument.objects.create(driver=driver, doc_type=kind, expires_on=date(2027, 1, 1))
    response = sup.post(reverse("drivers:driver_documents", args=[driver.pk]),
                        {**management(1, 1), "documents-0-id": doc.pk, "documents-0-doc_type": kind.pk,
                         "documents-0-expires_on": "2027-01-01", "documents-0-DELETE": "on"})
    assert response.status_code == 302 and not DriverDocument.objects.exists()


def test_the_edit_page_links_to_the_documents(sup, driver):
    page = sup.get(reverse("drivers:edit", args=[driver.pk])).content.decode()
    assert reverse("drivers:driver_documents", args=[driver.pk]) in page


def test_the_registration_page_takes_the_documents_with_the_driver(client, caseta):
    from drivers.models import Driver

    kind = DocumentType.objects.create(code="licencia_federal", name="Licencia federal", required=True)
    DocumentType.objects.create(code="seguro", name="Seguro")
    client.force_login(caseta)
    page = client.get(reverse("drivers:register")).content.decode()
    assert "Licencia federal" in page and f"doc{kind.pk}_expires" in page
    fields = {"full_name": "Rosa Luna", "license_number": "LIC777", "company": "Fletes Sur", "phone": "",
              "plate": "", "notes": ""}
    refused = client.post(reverse("drivers:register"), {**fields, f"doc{kind.pk}_number": "LF-1"})
    assert refused.status_code == 200 and not Driver.objects.exists()  # a number without its date
    response = client.post(reverse("drivers:register"), {**fields, f"doc{kind.pk}_number": "lf-1",
                                                         f"doc{kind.pk}_expires": "2027-05-31"})
    assert response.status_code == 302
    doc = DriverDocument.objects.get()
    assert (doc.driver.license_number, doc.doc_type, doc.number, doc.expires_on) == (
        "LIC777", kind, "LF-1", date(2027, 5, 31))
