import base64
import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import photos
from .services import DRIVER_FIELDS
from .models import RULE_FIELDS, Driver, normalize_spaces


class ReasonForm(forms.Form):
    """The reason an admin action asks for (ban, unban, reissue)."""

    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=500)
    until = forms.DateTimeField(
        label=_("Until (optional)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Empty: until someone lifts the ban."),
    )


def name_key(text) -> str:
    """Compare names ignoring case, accents and spacing (duplicate detection)."""
    text = unicodedata.normalize("NFKD", normalize_spaces(text))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


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


class DriverFieldsForm(forms.ModelForm):
    """A driver's fields and an optional photo, for the registration page and the admin.

    The rules and their messages are the model's (Driver.full_clean runs in the form's
    validation, an empty required field says what the model says); the photo is checked
    and processed here already, so its error shows beside it and the service stores it.
    Saving is the services' job: `driver_fields()` is what they take.
    """

    photo = forms.FileField(
        label=_("Photo (file)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    class Meta:
        model = Driver
        fields = ["full_name", "license_number", "company", "phone", "plate", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.processed_photo = None
        for name, field in self.fields.items():
            if name in RULE_FIELDS and "blank" in Driver._meta.get_field(name).error_messages:
                field.error_messages["required"] = Driver._meta.get_field(name).error_messages["blank"]

    def photo_bytes(self) -> bytes | None:
        upload = self.cleaned_data.get("photo")
        return photos.read_upload(upload) if upload else None

    def clean(self):
        cleaned = super().clean()
        try:
            data = self.photo_bytes()
            if data is not None:
                self.processed_photo = photos.process(data)
        except ValidationError as error:
            self.add_error("photo", error)
        return cleaned

    def driver_fields(self, names=None) -> dict:
        """The model fields of this form (or only `names`), for register/update_driver."""
        names = self._meta.fields if names is None else names
        return {name: self.cleaned_data[name] for name in names
                if name in DRIVER_FIELDS and name in self.cleaned_data}

    def add_service_error(self, error: ValidationError) -> None:
        """Show a service's ValidationError beside the fields it names (the rest on top)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, errors in error.error_dict.items():
            self.add_error(name if name in self.fields else None, errors)


class DriverForm(DriverFieldsForm):
    """Register or edit a driver at the booth: the photo from a file or the webcam,
    duplicates of name and company warned before saving."""

    photo_data = forms.CharField(required=False, widget=forms.HiddenInput)
    confirm_duplicate = forms.BooleanField(
        label=_("Yes, it is a different person: register anyway"), required=False
    )

    class Meta(DriverFieldsForm.Meta):
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
        self.duplicates = []

    def photo_bytes(self) -> bytes | None:
        data_url = (self.cleaned_data.get("photo_data") or "").strip()
        if not self.cleaned_data.get("photo") and data_url:
            return photos.read_data_url(data_url)
        return super().photo_bytes()

    def clean(self):
        cleaned = super().clean()
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


class NewDocumentsForm(forms.Form):
    """The registration page's documents: one row per document type, number and expiry
    date, all optional (the documents page adds, renews and attaches scans later)."""

    def __init__(self, *args, types, **kwargs):
        super().__init__(*args, **kwargs)
        self.types = list(types)
        for kind in self.types:
            self.fields[f"doc{kind.pk}_number"] = forms.CharField(
                label=_("Number"), max_length=60, required=False,
                widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
            )
            self.fields[f"doc{kind.pk}_expires"] = forms.DateField(
                label=_("Expires on"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
            )

    def rows(self):
        """(type, number field, date field) per type, for the template."""
        return [(kind, self[f"doc{kind.pk}_number"], self[f"doc{kind.pk}_expires"]) for kind in self.types]

    def clean(self):
        data = super().clean()
        for kind in self.types:
            if data.get(f"doc{kind.pk}_number") and not data.get(f"doc{kind.pk}_expires"):
                self.add_error(f"doc{kind.pk}_expires", _("Give the expiry date of this document."))
        return data

    def documents(self) -> list[dict]:
        return [
            {"doc_type": kind, "number": self.cleaned_data.get(f"doc{kind.pk}_number") or "",
             "expires_on": self.cleaned_data[f"doc{kind.pk}_expires"]}
            for kind in self.types if self.cleaned_data.get(f"doc{kind.pk}_expires")
        ]


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or Excel file"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
    )
