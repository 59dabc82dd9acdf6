import base64
import re
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import photos
from .models import Driver, normalize_license, normalize_plate, normalize_spaces  # noqa: F401 (used by importing)


class ReasonForm(forms.Form):
    """The reason an admin action asks for (ban, unban, reissue)."""

    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=500)
    until = forms.DateTimeField(
        label=_("Until (optional)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Empty: until someone lifts the ban."),
    )


# --- registration and import (issue 5) ---

LICENSE_RE = re.compile(r"[A-Z0-9][A-Z0-9./-]{2,39}")
PLATE_RE = re.compile(r"[A-Z0-9][A-Z0-9 -]{1,19}")
PHONE_RE = re.compile(r"\+?[0-9 ()./-]+")




def name_key(text) -> str:
    """Compare names ignoring case, accents and spacing (duplicate detection)."""
    text = unicodedata.normalize("NFKD", normalize_spaces(text))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def validate_full_name(value: str) -> str:
    value = normalize_spaces(value)
    if not value:
        raise ValidationError(gettext("Write the driver's full name."), code="required")
    if len(value) < 3 or not any(ch.isalpha() for ch in value):
        raise ValidationError(gettext("Write the driver's full name (first name and surname)."), code="invalid")
    if len(value) > 120:
        raise ValidationError(gettext("The name is too long (at most 120 characters)."), code="max_length")
    return value


def validate_license(value: str) -> str:
    value = normalize_license(value)
    if not value:
        raise ValidationError(gettext("Write the licence number."), code="required")
    if not LICENSE_RE.fullmatch(value):
        raise ValidationError(
            gettext("The licence number must be 3 to 40 letters or digits (also - . /)."), code="invalid"
        )
    return value


def validate_company(value: str) -> str:
    value = normalize_spaces(value)
    if not value:
        raise ValidationError(gettext("Write the carrier company."), code="required")
    if len(value) > 120:
        raise ValidationError(gettext("The company is too long (at most 120 characters)."), code="max_length")
    return value


def validate_phone(value: str) -> str:
    value = normalize_spaces(value)
    if not value:
        return ""
    digits = sum(ch.isdigit() for ch in value)
    if not PHONE_RE.fullmatch(value) or not 7 <= digits <= 15 or len(value) > 30:
        raise ValidationError(
            gettext("The phone number must have 7 to 15 digits (spaces, + and - are allowed)."), code="invalid"
        )
    return value


def validate_plate(value: str) -> str:
    value = normalize_plate(value)
    if not value:
        return ""
    if not PLATE_RE.fullmatch(value):
        raise ValidationError(
            gettext("The plate must be 2 to 20 letters or digits (spaces and - are allowed)."), code="invalid"
        )
    return value


def validate_notes(value: str) -> str:
    value = str(value or "").strip()
    if len(value) > 2000:
        raise ValidationError(gettext("The notes are too long (at most 2000 characters)."), code="max_length")
    return value


def same_name_and_company(full_name: str, company: str, exclude_pk=None):
    """Drivers with the same name and company, ignoring case, accents and spacing."""
    key = (name_key(full_name), name_key(company))
    # iexact narrows the search in the database; the exact comparison (accents too, which
    # SQLite's iexact does not fold) is done in Python among those few candidates.
    candidates = Driver.objects.filter(
        Q(full_name__iexact=normalize_spaces(full_name)) | Q(company__iexact=normalize_spaces(company))
    ).exclude(pk=exclude_pk)
    return [
        d
        for d in candidates.only("pk", "full_name", "company", "license_number")[:500]
        if (name_key(d.full_name), name_key(d.company)) == key
    ]


class DriverForm(forms.ModelForm):
    """Register or edit a driver: every field checked, the photo decoded, duplicates warned."""

    photo = forms.FileField(
        label=_("Photo (file)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    photo_data = forms.CharField(required=False, widget=forms.HiddenInput)
    confirm_duplicate = forms.BooleanField(
        label=_("Yes, it is a different person: register anyway"), required=False
    )

    class Meta:
        model = Driver
        fields = ["full_name", "license_number", "company", "phone", "plate", "notes"]
        widgets = {
            "full_name": forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
            "license_number": forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
            "company": forms.TextInput(attrs={"autocomplete": "off", "list": "company-list"}),
            "phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "inputmode": "tel"}),
            "plate": forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.processed_photo = None
        self.duplicates = []
        for name in ("full_name", "license_number", "company"):
            self.fields[name].error_messages["required"] = {
                "full_name": _("Write the driver's full name."),
                "license_number": _("Write the licence number."),
                "company": _("Write the carrier company."),
            }[name]

    def clean_full_name(self):
        return validate_full_name(self.cleaned_data.get("full_name"))

    def clean_license_number(self):
        value = validate_license(self.cleaned_data.get("license_number"))
        taken = Driver.objects.filter(license_number=value).exclude(pk=self.instance.pk).first()
        if taken:
            raise ValidationError(
                gettext("Licence %(license)s is already registered to %(name)s (%(company)s).")
                % {"license": value, "name": taken.full_name, "company": taken.company},
                code="taken",
            )
        return value

    def clean_company(self):
        return validate_company(self.cleaned_data.get("company"))

    def clean_phone(self):
        return validate_phone(self.cleaned_data.get("phone"))

    def clean_plate(self):
        return validate_plate(self.cleaned_data.get("plate"))

    def clean_notes(self):
        return validate_notes(self.cleaned_data.get("notes"))

    def clean(self):
        cleaned = super().clean()
        upload, data_url = cleaned.get("photo"), (cleaned.get("photo_data") or "").strip()
        try:
            if upload:
                self.processed_photo = photos.process(photos.read_upload(upload))
            elif data_url:
                self.processed_photo = photos.process(photos.read_data_url(data_url))
        except ValidationError as error:
            self.add_error("photo", error)
        name, company = cleaned.get("full_name"), cleaned.get("company")
        if name and company and not self.errors:
            self.duplicates = same_name_and_company(name, company, exclude_pk=self.instance.pk)
            if self.duplicates and not cleaned.get("confirm_duplicate"):
                self.add_error(
                    None,
                    ValidationError(
                        gettext(
                            "%(name)s of %(company)s is already registered (licence %(license)s). "
                            "If this is a different person, tick the box below and save again."
                        )
                        % {
                            "name": self.duplicates[0].full_name,
                            "company": self.duplicates[0].company,
                            "license": self.duplicates[0].license_number,
                        },
                        code="duplicate",
                    ),
                )
        return cleaned

    @property
    def kept_photo(self) -> str:
        """The accepted photo as a data URL, so a form sent back for another field keeps it."""
        if self.processed_photo is None:
            return ""
        data = base64.b64encode(self.processed_photo.badge.file.getvalue()).decode("ascii")
        return "data:image/jpeg;base64," + data

    def save(self, commit=True):
        driver = super().save(commit=False)
        old_files = photos.store(driver, self.processed_photo) if self.processed_photo else []
        if commit:
            driver.save()
            if old_files:
                transaction.on_commit(lambda: photos.delete_files(old_files))
        return driver


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or Excel file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
    )
