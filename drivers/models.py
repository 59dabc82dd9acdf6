import base64
import re
import secrets
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# 16 random bytes in base32 without padding: 26 characters of A-Z and 2-7, 128 bits.
# Upper-case letters and digits only, so a scanner on another keyboard layout still types
# them and the QR uses alphanumeric mode (version 2, small and robust).
BADGE_CODE_LENGTH = 26
BADGE_CODE_RE = re.compile(r"[A-Z0-9]{%d}" % BADGE_CODE_LENGTH)


def new_badge_code() -> str:
    return base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=")


def normalize_badge_code(raw) -> str | None:
    """The badge code in `raw` (trimmed, upper-cased), or None if it cannot be one."""
    if not isinstance(raw, str):
        return None
    code = raw.strip().upper()
    return code if BADGE_CODE_RE.fullmatch(code) else None


def normalize_spaces(text) -> str:
    return " ".join(str(text or "").split())


def normalize_license(text) -> str:
    """Upper case without spaces: 'abc 123' and 'ABC123' are the same licence."""
    return "".join(str(text or "").split()).upper()


def normalize_plate(text) -> str:
    return normalize_spaces(text).upper()


# The driver's field rules. Each validator checks the value as Driver.clean() will store it
# (validators run before clean() in full_clean), so "lic 001" passes as LIC001. The
# registration page, the admin, the import and register_driver/update_driver all meet
# them through Driver.full_clean(), with these messages.
LICENSE_RE = re.compile(r"[A-Z0-9][A-Z0-9./-]{2,39}")
PLATE_RE = re.compile(r"[A-Z0-9][A-Z0-9 -]{1,19}")
PHONE_RE = re.compile(r"\+?[0-9 ()./-]+")
NOTES_MAX_LENGTH = 2000


def validate_full_name(value) -> None:
    value = normalize_spaces(value)
    if not value:
        raise ValidationError(gettext("Write the driver's full name."), code="required")
    if len(value) < 3 or not any(ch.isalpha() for ch in value):
        raise ValidationError(gettext("Write the driver's full name (first name and surname)."), code="invalid")


def validate_license(value) -> None:
    value = normalize_license(value)
    if not value:
        raise ValidationError(gettext("Write the licence number."), code="required")
    if not LICENSE_RE.fullmatch(value):
        raise ValidationError(
            gettext("The licence number must be 3 to 40 letters or digits (also - . /)."), code="invalid"
        )


def validate_company(value) -> None:
    if not normalize_spaces(value):
        raise ValidationError(gettext("Write the carrier company."), code="required")


def validate_phone(value) -> None:
    value = normalize_spaces(value)
    digits = sum(ch.isdigit() for ch in value)
    if value and (not PHONE_RE.fullmatch(value) or not 7 <= digits <= 15):
        raise ValidationError(
            gettext("The phone number must have 7 to 15 digits (spaces, + and - are allowed)."), code="invalid"
        )


def validate_plate(value) -> None:
    value = normalize_plate(value)
    if value and not PLATE_RE.fullmatch(value):
        raise ValidationError(
            gettext("The plate must be 2 to 20 letters or digits (spaces and - are allowed)."), code="invalid"
        )


def validate_notes(value) -> None:
    if len(str(value or "").strip()) > NOTES_MAX_LENGTH:
        raise ValidationError(gettext("The notes are too long (at most 2000 characters)."), code="max_length")


def driver_photo_path(instance, filename):
    return f"drivers/{secrets.token_hex(8)}.jpg"


def normalize_tag_list(values) -> list[str]:
    """Plates or seal numbers as kept on a visit: upper case, single spaces, no empties,
    each once (in the order given). Anything that is not a list of text is refused."""
    if values is None:
        return []
    if isinstance(values, str):
        values = values.replace(";", ",").split(",")
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise ValueError("not a list of text")
    seen, out = set(), []
    for value in values:
        text = normalize_spaces(value).upper()[:40]
        if text and text not in seen:
            seen.add(text)
            out.append(text)
    return out


def seal_key(seal: str) -> str:
    """How two seal numbers are compared: 'ab-12 3' is the same seal as 'AB123'."""
    return "".join(ch for ch in str(seal).upper() if not ch.isspace() and ch != "-")


class Direction(models.TextChoices):
    IN = "in", _("Entry")
    OUT = "out", _("Exit")
    PASS = "pass", _("Checkpoint pass")


class Source(models.TextChoices):
    SCAN = "scan", _("Badge scan")
    SELF = "self", _("Self check-in")
    MANUAL = "manual", _("Manual")


class ScanReason(models.TextChoices):
    OK = "ok", _("Accepted")
    DUPLICATE = "duplicate", _("Double read")
    INVALID = "invalid", _("Invalid code")
    UNKNOWN = "unknown", _("Unknown badge")
    REVOKED = "revoked", _("Revoked badge")
    BANNED = "banned", _("Banned driver")
    ALREADY_INSIDE = "already_inside", _("Already inside")
    NOT_INSIDE = "not_inside", _("Not inside")
    STATION_INACTIVE = "station_inactive", _("Station inactive")
    FORBIDDEN = "forbidden", _("Not allowed")
    DOCUMENT_MISSING = "document_missing", _("Document missing")
    DOCUMENT_EXPIRED = "document_expired", _("Document expired")
    ROUTE_INCOMPLETE = "route_incomplete", _("Route incomplete")
    SEAL_MISMATCH = "seal_mismatch", _("Seals do not match")


class DriverQuerySet(models.QuerySet):
    def search(self, text: str):
        # Untrusted text: control characters (NUL above all, which PostgreSQL refuses in a
        # query parameter) can never match a name, licence, company or plate.
        text = "".join(ch for ch in str(text or "") if unicodedata.category(ch)[0] != "C").strip()
        if not text:
            return self
        return self.filter(
            Q(full_name__icontains=text)
            | Q(license_number__icontains=text)
            | Q(company__icontains=text)
            | Q(plate__icontains=text)
        )


# The fields a person types: the rules above, normalized by Driver.clean().
RULE_FIELDS = ("full_name", "license_number", "company", "phone", "plate", "notes")


class Driver(models.Model):
    """A truck driver with his current badge. Presence lives in Visit, bans in Ban."""

    full_name = models.CharField(
        _("full name"),
        max_length=120,
        validators=[validate_full_name],
        error_messages={"blank": _("Write the driver's full name.")},
    )
    license_number = models.CharField(
        _("licence number"),
        max_length=40,
        unique=True,
        validators=[validate_license],
        error_messages={"blank": _("Write the licence number.")},
    )
    company = models.CharField(
        _("carrier company"),
        max_length=120,
        validators=[validate_company],
        error_messages={"blank": _("Write the carrier company.")},
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True, validators=[validate_phone])
    plate = models.CharField(_("vehicle plate"), max_length=20, blank=True, validators=[validate_plate])
    # Set through services.set_photo only: processed by photos.process (EXIF rotation,
    # badge size) with its thumbnail, which is what the booth shows.
    photo = models.ImageField(_("photo"), upload_to=driver_photo_path, blank=True, editable=False)
    photo_thumb = models.ImageField(upload_to=driver_photo_path, blank=True, editable=False)
    notes = models.TextField(_("notes"), blank=True, validators=[validate_notes])
    badge_code = models.CharField(
        _("badge code"), max_length=32, unique=True, default=new_badge_code, editable=False
    )
    badge_issued_at = models.DateTimeField(_("badge issued"), default=timezone.now, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("driver's own account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="driver_profile",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = DriverQuerySet.as_manager()

    class Meta:
        ordering = ["full_name"]
        verbose_name = _("driver")
        verbose_name_plural = _("drivers")
        permissions = [
            ("ban_driver", _("Can ban and unban drivers")),
            ("reissue_badge", _("Can reissue a driver's badge")),
            ("import_drivers", _("Can import drivers from a file")),
            ("view_own_badge", _("Can see his own badge")),
        ]
        indexes = [models.Index(fields=["company"], name="drivers_driver_company_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(license_number=""), name="drivers_driver_license_not_empty"
            ),
            models.CheckConstraint(condition=~Q(full_name=""), name="drivers_driver_name_not_empty"),
        ]

    def __str__(self):
        return f"{self.full_name} ({self.company})"

    def clean(self):
        """The one normalizing of a driver's fields, whoever writes them: 'lic 001' and
        'LIC001' are the same licence, 'abc-1' the plate ABC-1, spacing never counts."""
        self.full_name = normalize_spaces(self.full_name)
        self.license_number = normalize_license(self.license_number)
        self.company = normalize_spaces(self.company)
        self.phone = normalize_spaces(self.phone)
        self.plate = normalize_plate(self.plate)
        self.notes = str(self.notes or "").strip()

    def check_rules(self) -> None:
        """Normalize (clean) and check the field rules without a query: full_clean minus its
        look-ups (unique licence, foreign keys, check constraints), for bulk writers (the
        import's check, seed_demo) that leave those to the database's constraints. Raises
        ValidationError with the same messages, per field."""
        exclude = {f.name for f in self._meta.fields if f.name not in RULE_FIELDS}
        self.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)

    def unique_error_message(self, model_class, unique_check):
        # A taken licence names who has it, so the guard can tell a typo from a re-registration.
        if model_class is Driver and tuple(unique_check) == ("license_number",):
            taken = Driver.objects.filter(license_number=self.license_number).exclude(pk=self.pk).first()
            if taken is not None:
                return ValidationError(
                    gettext("Licence %(license)s is already registered to %(name)s (%(company)s).")
                    % {"license": taken.license_number, "name": taken.full_name, "company": taken.company},
                    code="unique",
                )
        return super().unique_error_message(model_class, unique_check)

    def active_ban(self, at=None):
        return Ban.objects.in_force(at).filter(driver=self).order_by("-banned_at").first()


class RevokedBadge(models.Model):
    """A badge code that was replaced: its scans are refused as revoked, not unknown."""

    code = models.CharField(_("badge code"), max_length=32, unique=True)
    driver = models.ForeignKey(Driver, on_delete=models.CASCADE, related_name="revoked_badges")
    issued_at = models.DateTimeField(_("issued"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), default=timezone.now)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["-revoked_at"]
        verbose_name = _("revoked badge")
        verbose_name_plural = _("revoked badges")

    def __str__(self):
        return self.code


class BanQuerySet(models.QuerySet):
    def in_force(self, at=None):
        at = at or timezone.now()
        return self.filter(lifted_at__isnull=True, banned_at__lte=at).filter(
            Q(until__isnull=True) | Q(until__gt=at)
        )


class Ban(models.Model):
    """One ban of a driver: kept for history when lifted or expired."""

    driver = models.ForeignKey(
        Driver, verbose_name=_("driver"), on_delete=models.CASCADE, related_name="bans"
    )
    reason = models.TextField(_("reason"))
    banned_at = models.DateTimeField(_("since"), default=timezone.now)
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("banned by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    until = models.DateTimeField(_("until"), null=True, blank=True)
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("lifted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = BanQuerySet.as_manager()

    class Meta:
        ordering = ["-banned_at"]
        verbose_name = _("ban")
        verbose_name_plural = _("bans")
        constraints = [
            # At most one ban not lifted per driver; ban() lifts the previous one first.
            models.UniqueConstraint(
                fields=["driver"],
                condition=Q(lifted_at__isnull=True),
                name="drivers_ban_one_open_per_driver",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="drivers_ban_reason_required"),
            models.CheckConstraint(
                condition=Q(until__isnull=True) | Q(until__gt=models.F("banned_at")),
                name="drivers_ban_until_after_start",
            ),
        ]

    def __str__(self):
        return f"{self.driver} — {self.reason[:40]}"


class VisitQuerySet(models.QuerySet):
    def open(self):
        """Visits not yet closed by an exit: who is inside (the partial unique index and
        drivers_visit_open_idx serve it)."""
        return self.filter(left_at__isnull=True)


class Visit(models.Model):
    """One stay inside the plant, from an entry to an exit: the current presence."""

    driver = models.ForeignKey(
        Driver, verbose_name=_("driver"), on_delete=models.CASCADE, related_name="visits"
    )
    entered_at = models.DateTimeField(_("entered"))
    left_at = models.DateTimeField(_("left"), null=True, blank=True)
    entry_station = models.ForeignKey(
        "stations.Station",
        verbose_name=_("entry station"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    exit_station = models.ForeignKey(
        "stations.Station",
        verbose_name=_("exit station"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    last_station = models.ForeignKey(
        "stations.Station",
        verbose_name=_("last station"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    last_seen_at = models.DateTimeField(_("last seen"))
    plate = models.CharField(_("vehicle plate"), max_length=20, blank=True)
    # The vehicle, as lists of normalized text (normalize_tag_list): trailer plates, the
    # seals recorded at the entry, and those seen at the exit.
    trailers = models.JSONField(_("trailer plates"), default=list, blank=True)
    seals = models.JSONField(_("seals at entry"), default=list, blank=True)
    exit_seals = models.JSONField(_("seals at exit"), default=list, blank=True)
    route = models.ForeignKey(
        "stations.Route",
        verbose_name=_("route"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="visits",
    )

    objects = VisitQuerySet.as_manager()

    class Meta:
        ordering = ["-entered_at"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        permissions = [("check_out_driver", _("Can check a driver out by hand"))]
        constraints = [
            # The database itself refuses a second open visit: no double entry, even when
            # two stations scan the same driver at once and select_for_update is a no-op.
            models.UniqueConstraint(
                fields=["driver"],
                condition=Q(left_at__isnull=True),
                name="drivers_visit_one_open_per_driver",
            ),
            models.CheckConstraint(
                condition=Q(left_at__isnull=True) | Q(left_at__gte=models.F("entered_at")),
                name="drivers_visit_leaves_after_entering",
            ),
        ]
        indexes = [
            # Serves the live screens: who is inside now, oldest first, O(drivers inside).
            models.Index(
                fields=["entered_at"],
                condition=Q(left_at__isnull=True),
                name="drivers_visit_open_idx",
            ),
            # Serves the visits that left in a time range, read from the index alone: the
            # dashboard's stay figures for today and the turnaround report (time inside per
            # company, route and entry station). With left_at only, a year of a 2 M history
            # meant 120 k random reads of visit rows.
            models.Index(
                fields=["left_at", "entered_at", "driver", "route", "entry_station"],
                name="drivers_visit_left_idx",
            ),
        ]

    def __str__(self):
        return f"{self.driver} {self.entered_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        return (self.left_at or timezone.now()) - self.entered_at


class MovementQuerySet(models.QuerySet):
    def valid(self):
        return self.filter(annulled_at__isnull=True)

    def with_is_latest(self):
        """Annotate `is_latest`: whether each row is its driver's latest valid movement
        (what drivers.services.can_annul would otherwise query row by row)."""
        newer = Movement.objects.valid().filter(driver=models.OuterRef("driver")).filter(
            Q(at__gt=models.OuterRef("at")) | Q(at=models.OuterRef("at"), id__gt=models.OuterRef("id"))
        )
        return self.annotate(is_latest=~models.Exists(newer))


class Movement(models.Model):
    """An accepted scan (or a manual check-out): never deleted, annulled when mistaken."""

    driver = models.ForeignKey(
        Driver, verbose_name=_("driver"), on_delete=models.PROTECT, related_name="movements"
    )
    station = models.ForeignKey(
        "stations.Station",
        verbose_name=_("station"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="movements",
    )
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    at = models.DateTimeField(_("time"), default=timezone.now)
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    is_late = models.BooleanField(
        _("late upload"), default=False, help_text=_("Sent after the scan, e.g. from an offline booth.")
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.SCAN)
    forced = models.BooleanField(_("forced"), default=False)
    force_reason = models.TextField(_("force reason"), blank=True)
    nonce = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="movements"
    )
    plate = models.CharField(_("vehicle plate"), max_length=20, blank=True)
    annulled_at = models.DateTimeField(_("annulled"), null=True, blank=True)
    annulled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("annulled by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    annul_reason = models.TextField(_("annul reason"), blank=True)

    objects = MovementQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("movement")
        verbose_name_plural = _("movements")
        permissions = [
            ("record_movement", _("Can record movements (scan badges)")),
            ("force_movement", _("Can force a movement past anti-passback")),
            ("annul_movement", _("Can annul a mistaken scan")),
            ("self_check_in", _("Can check himself in at a self check-in station")),
            ("view_dashboard", _("Can see the live dashboard")),
            ("export_history", _("Can export the history")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction__in=Direction.values), name="drivers_movement_direction_valid"
            ),
            models.CheckConstraint(
                condition=Q(forced=False) | ~Q(force_reason=""),
                name="drivers_movement_forced_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(station__isnull=False) | Q(source=Source.MANUAL),
                name="drivers_movement_station_unless_manual",
            ),
        ]
        indexes = [
            # History, newest first, and its date-range filter.
            models.Index(fields=["-at", "-id"], name="drivers_movement_at_idx"),
            # A driver's route / last movement, and the double-read check.
            models.Index(fields=["driver", "-at"], name="drivers_movement_driver_idx"),
            # Station cards (each station's last movement: ORDER BY at DESC, id DESC LIMIT 1,
            # one probe only when the index holds both keys of the order) and the history's
            # station filter, newest first.
            models.Index(fields=["station", "-at", "-id"], name="drivers_move_station_at_idx"),
            # The history's audit filters, "annulled" and "forced only": those few rows,
            # newest first, instead of a walk of the whole history's (-at, -id) index
            # (2.5 s for "annulled" at 2 M movements). Partial: nothing for normal scans.
            models.Index(
                fields=["-at", "-id"],
                condition=Q(annulled_at__isnull=False),
                name="drivers_move_annulled_idx",
            ),
            models.Index(fields=["-at", "-id"], condition=Q(forced=True), name="drivers_move_forced_idx"),
        ]

    def __str__(self):
        return f"{self.get_direction_display()} {self.driver} {self.at:%Y-%m-%d %H:%M}"


class RefusedScan(models.Model):
    """A scan that was refused, with its reason: shown in the history and the dashboard."""

    raw_input = models.CharField(_("scanned text"), max_length=64, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=ScanReason.choices)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    station = models.ForeignKey(
        "stations.Station",
        verbose_name=_("station"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refused_scans",
    )
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("operator"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    driver = models.ForeignKey(
        Driver,
        verbose_name=_("driver"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="refused_scans",
    )
    direction = models.CharField(
        _("direction"), max_length=8, choices=Direction.choices, blank=True
    )
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.SCAN)
    at = models.DateTimeField(_("time"), default=timezone.now)
    nonce = models.CharField(max_length=64, null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("refused scan")
        verbose_name_plural = _("refused scans")
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason__in=[ScanReason.OK, ScanReason.DUPLICATE]),
                name="drivers_refusedscan_reason_is_refusal",
            ),
        ]
        indexes = [
            models.Index(fields=["-at", "-id"], name="drivers_refused_at_idx"),
            models.Index(fields=["driver", "-at"], name="drivers_refused_driver_idx"),
            # Station cards: each station's last refused scan (ORDER BY at DESC, id DESC
            # LIMIT 1). With (station, -at) only, SQLite walked the (-at, -id) index of every
            # refused scan for a station that had none lately. Also the station filter.
            models.Index(fields=["station", "-at", "-id"], name="drivers_refused_station_at_idx"),
        ]

    def __str__(self):
        return f"{self.get_reason_display()} {self.at:%Y-%m-%d %H:%M}"


def document_file_path(instance, filename):
    # A random name: the file is personal data, served only by the permission-checked media view.
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"documents/{secrets.token_hex(8)}.{ext[:5]}"


class DocumentType(models.Model):
    """A kind of document a driver must carry, e.g. licencia federal, seguro, inducción."""

    code = models.SlugField(
        _("code"),
        max_length=40,
        unique=True,
        help_text=_("Lower-case letters, digits and underscores, e.g. licencia_federal. "
                    "The import reads its expiry from the column licencia_federal_vence."),
    )
    name = models.CharField(_("name"), max_length=80)
    required = models.BooleanField(
        _("required"), default=False, help_text=_("A driver without this document is refused at entry.")
    )
    blocks_entry = models.BooleanField(
        _("blocks entry when expired"),
        default=True,
        help_text=_("A driver whose latest document of this type has expired is refused at entry."),
    )
    warn_days = models.PositiveSmallIntegerField(
        _("warn days before expiry"), default=15,
        help_text=_("The dashboard lists the documents that expire within this many days."),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("document type")
        verbose_name_plural = _("document types")
        constraints = [
            models.CheckConstraint(
                condition=Q(code=Lower("code")) & ~Q(code=""), name="drivers_documenttype_code_lower"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="drivers_documenttype_name_not_empty"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        self.code = (self.code or "").strip().lower().replace("-", "_")
        self.name = normalize_spaces(self.name)


class DriverDocument(models.Model):
    """One document of a driver with its expiry date; of several of one type, the one that
    expires last counts."""

    driver = models.ForeignKey(
        Driver, verbose_name=_("driver"), on_delete=models.CASCADE, related_name="documents"
    )
    doc_type = models.ForeignKey(
        DocumentType, verbose_name=_("document type"), on_delete=models.PROTECT, related_name="documents"
    )
    number = models.CharField(_("number"), max_length=60, blank=True)
    expires_on = models.DateField(_("expires on"))
    file = models.FileField(
        _("scanned document"),
        upload_to=document_file_path,
        blank=True,
        validators=[FileExtensionValidator(["pdf", "jpg", "jpeg", "png"])],
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["doc_type__name", "-expires_on"]
        verbose_name = _("driver document")
        verbose_name_plural = _("driver documents")
        indexes = [
            # The entry rules (does he have one of this type, does one still hold today).
            models.Index(fields=["driver", "doc_type", "-expires_on"], name="drivers_doc_driver_type_idx"),
            # The documents expiring soon (dashboard, /documents/expiring/).
            models.Index(fields=["expires_on"], name="drivers_doc_expires_idx"),
        ]

    def __str__(self):
        return f"{self.doc_type} {self.number}".strip()

    def clean(self):
        self.number = normalize_spaces(self.number).upper()


class ImportJob(models.Model):
    """One confirmed import of a drivers' file, written by the import worker (manage.py
    run_imports) in chunks, each its own transaction, with its progress stored here so any
    app server can show it and a worker that dies is found out by its stale heartbeat."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("waiting")
        RUNNING = "running", _("importing")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    filename = models.CharField(_("file"), max_length=255)
    # The file itself, in the database (private, seen by every worker), emptied when finished.
    data = models.BinaryField(editable=False, default=b"")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    refused = models.PositiveIntegerField(_("refused"), default=0)
    error = models.TextField(_("error"), blank=True)
    worker = models.CharField(max_length=64, blank=True, editable=False)  # the claim's token
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Where the current run began (after a resume too): the estimate's rate.
    run_started_at = models.DateTimeField(null=True, blank=True)
    run_rows_start = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("driver import")
        verbose_name_plural = _("driver imports")
        indexes = [
            # The worker's idle poll: jobs waiting or running (few), by age.
            models.Index(fields=["status", "created_at"], name="drivers_importjob_status_idx"),
        ]

    def __str__(self):
        return self.filename

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        return round(100 * self.rows_done / self.total_rows) if self.total_rows else 0

    def seconds_left(self, now=None) -> int | None:
        """The time left at the rate of the current run; None until a chunk is written."""
        done = self.rows_done - self.run_rows_start
        if self.status != self.Status.RUNNING or not self.run_started_at or done <= 0:
            return None
        elapsed = ((now or timezone.now()) - self.run_started_at).total_seconds()
        return max(0, round(elapsed / done * (self.total_rows - self.rows_done)))

    @property
    def rows(self) -> list:
        """The per-row report, [row number, action, licence, name, reason] in the file's order
        (one query: every chunk's part)."""
        parts = self.reports.order_by("first_row").values_list("rows", flat=True)
        return [row for part in parts for row in part]


class ImportJobReport(models.Model):
    """One chunk's part of an import's per-row report, written in that chunk's transaction:
    a chunk adds its own rows instead of rewriting the job's whole report, so the last chunk
    of a 50 000-row file holds the write lock no longer than the first."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="reports")
    first_row = models.PositiveIntegerField()  # rows done before the chunk: the parts' order
    rows = models.JSONField(default=list)

    class Meta:
        ordering = ["job", "first_row"]
        constraints = [
            models.UniqueConstraint(fields=["job", "first_row"], name="drivers_importjobreport_once"),
        ]
