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
