import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StationKind(models.TextChoices):
    ENTRY = "entry", _("Entry gate")
    EXIT = "exit", _("Exit gate")
    GATE = "gate", _("Two-way gate")
    CHECKPOINT = "checkpoint", _("Checkpoint")
    # Where people gather in an evacuation (the musters app's roll call): never a gate.
    MUSTER = "muster", _("Muster point")


ROUTE_START_KINDS = [StationKind.ENTRY, StationKind.GATE]
SEAL_CHECK_KINDS = [StationKind.EXIT, StationKind.GATE]
# A station's code goes into addresses (/stations/<code>/qr/, the kiosk's check-in links),
# printed QRs and the scan API: a slash or a `<` in it broke the station list.
validate_station_code = RegexValidator(
    r"^[A-Za-z0-9-]{1,16}\Z",
    _("Use 1 to 16 letters, digits or dashes (no spaces, slashes or other signs)."),
    code="invalid_station_code",
)


def new_kiosk_secret() -> str:
    return secrets.token_hex(32)


class StationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)

    def gates(self):
        """Stations where the gate's scans are recorded: every kind but muster points."""
        return self.exclude(kind=StationKind.MUSTER)

    def muster_points(self):
        return self.filter(kind=StationKind.MUSTER)


class Station(models.Model):
    """A place where badges are scanned: a gate or a checkpoint of the plant."""

    name = models.CharField(_("name"), max_length=80)
    code = models.CharField(
        _("code"),
        max_length=16,
        unique=True,
        validators=[validate_station_code],
        help_text=_("Short code, e.g. G1. Letters, digits and dashes."),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=StationKind.choices)
    is_active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("display order"), default=0)
    self_check_in = models.BooleanField(
        _("self check-in"),
        default=False,
        help_text=_("Drivers may record their own pass by scanning this station's kiosk code."),
    )
    kiosk_secret = models.CharField(max_length=64, default=new_kiosk_secret, editable=False)
    default_route = models.ForeignKey(
        "stations.Route",
        verbose_name=_("default route"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Entry and two-way gates: the route a visit that starts here must follow."),
    )
    asks_vehicle = models.BooleanField(
        _("asks for the vehicle at entry"),
        default=False,
        help_text=_("Entry and two-way gates: after an accepted entry the scan screen asks for the plates and seals."),
    )
    checks_seals = models.BooleanField(
        _("checks seals at exit"),
        default=False,
        help_text=_("Exit and two-way gates: an exit here must give the seals, which must match the entry's."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = StationQuerySet.as_manager()

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = _("station")
        verbose_name_plural = _("stations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=StationKind.values),
                name="stations_station_kind_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(code=Upper("code")) & ~models.Q(code=""),
                name="stations_station_code_upper",
            ),
            models.CheckConstraint(
                condition=models.Q(default_route__isnull=True) | models.Q(kind__in=ROUTE_START_KINDS),
                name="stations_station_route_at_entry",
            ),
            models.CheckConstraint(
                condition=models.Q(checks_seals=False) | models.Q(kind__in=SEAL_CHECK_KINDS),
                name="stations_station_seals_at_exit",
            ),
            models.CheckConstraint(
                condition=models.Q(asks_vehicle=False) | models.Q(kind__in=ROUTE_START_KINDS),
                name="stations_station_vehicle_at_entry",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    @property
    def records_scans(self) -> bool:
        """Whether the gate's scans (record_scan, the scan screen, the kiosk) may use it."""
        return self.is_active and self.kind != StationKind.MUSTER

    def clean(self):
        self.code = (self.code or "").strip().upper()
        errors = {}
        if self.self_check_in and self.kind == StationKind.MUSTER:
            errors["self_check_in"] = ValidationError(_("A muster point has no self check-in kiosk."),
                                                     code="kiosk_at_muster_point")
        if self.default_route_id and self.kind not in ROUTE_START_KINDS:
            errors["default_route"] = ValidationError(_("Only an entry or two-way gate starts a route."),
                                                     code="route_start_kind")
        if self.asks_vehicle and self.kind not in ROUTE_START_KINDS:
            errors["asks_vehicle"] = ValidationError(_("Only an entry or two-way gate asks for the vehicle."),
                                                    code="route_start_kind")
        if self.checks_seals and self.kind not in SEAL_CHECK_KINDS:
            errors["checks_seals"] = ValidationError(_("Only an exit or two-way gate checks seals."),
                                                    code="seal_check_kind")
        if self.pk and self.kind != StationKind.CHECKPOINT and self.route_stops.exists():
            errors["kind"] = ValidationError(_("This station is a stop of a route: it must stay a checkpoint."),
                                            code="route_stop_kind")
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        self.code = (self.code or "").strip().upper()
        # The admin validates through clean_fields(); a script or a shell must not slip an
        # unusable code past it either.
        validate_station_code(self.code)
        super().save(*args, **kwargs)


class RouteQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Route(models.Model):
    """The checkpoints a truck must pass during a visit before it may leave.

    The order of the stops is shown, not enforced. An inactive route is not given to new
    visits; a visit keeps the route it started with."""

    code = models.CharField(
        _("code"), max_length=16, unique=True, help_text=_("Short code, e.g. DESCARGA.")
    )
    name = models.CharField(_("name"), max_length=80)
    is_active = models.BooleanField(_("active"), default=True)

    objects = RouteQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("route")
        verbose_name_plural = _("routes")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code=Upper("code")) & ~models.Q(code=""),
                name="stations_route_code_upper",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def clean(self):
        self.code = (self.code or "").strip().upper()

    def save(self, *args, **kwargs):
        self.code = (self.code or "").strip().upper()
        super().save(*args, **kwargs)


class RouteStop(models.Model):
    """One checkpoint of a route; done by an accepted, not annulled pass there during the visit."""

    route = models.ForeignKey(Route, verbose_name=_("route"), on_delete=models.CASCADE, related_name="stops")
    station = models.ForeignKey(
        Station, verbose_name=_("station"), on_delete=models.PROTECT, related_name="route_stops"
    )
    position = models.PositiveSmallIntegerField(_("position"))

    class Meta:
        ordering = ["route", "position"]
        verbose_name = _("route stop")
        verbose_name_plural = _("route stops")
        constraints = [
            models.UniqueConstraint(fields=["route", "position"], name="stations_routestop_one_per_position"),
            models.UniqueConstraint(fields=["route", "station"], name="stations_routestop_station_once"),
        ]

    def __str__(self):
        return f"{self.position}. {self.station}"

    def clean(self):
        if self.station_id and self.station.kind != StationKind.CHECKPOINT:
            raise ValidationError({"station": ValidationError(_("A route stop must be a checkpoint station."),
                                                              code="route_stop_kind")})


# --- Integrations: webhooks and the outbox ---------------------------------------------


class EventName(models.TextChoices):
    """What the gate tells other systems (webhooks) and people (e-mail alerts)."""

    SCAN_ACCEPTED = "scan.accepted", _("Scan accepted")
    SCAN_REFUSED = "scan.refused", _("Scan refused")
    BANNED_ATTEMPT = "driver.banned_attempt", _("Banned driver at the gate")
    FORCED_MOVEMENT = "movement.forced", _("Forced movement")
    DOCUMENT_EXPIRING = "document.expiring", _("Document about to expire")


# The events a person may ask to receive by e-mail.
ALERT_EVENTS = (EventName.BANNED_ATTEMPT, EventName.FORCED_MOVEMENT, EventName.DOCUMENT_EXPIRING)
# An outbox event that only carries a user's daily digest (never sent to webhooks).
DIGEST_EVENT = "alerts.digest"


def validate_event_names(value, *, allowed=tuple(EventName.values), empty_ok=False):
    """A JSON list of known event names, each once."""
    if not isinstance(value, list) or (not value and not empty_ok):
        raise ValidationError(_("Choose at least one event."), code="events_empty")
    unknown = [str(name) for name in value if name not in allowed]
    if unknown:
        raise ValidationError(
            _("Unknown event: %(names)s. Known events: %(known)s."),
            code="events_unknown",
            params={"names": ", ".join(unknown[:5]), "known": ", ".join(allowed)},
        )
    if len(set(value)) != len(value):
        raise ValidationError(_("An event is listed twice."), code="events_twice")


def validate_webhook_events(value):
    validate_event_names(value)


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


def subscribed_to(event: str) -> models.Q:
    """Rows whose `events` JSON list holds `event`.

    The list is matched as JSON text ("\"scan.accepted\"" with its quotes), which both
    SQLite and PostgreSQL answer inside the scan's one state query; the delivery worker
    checks membership exactly before sending.
    """
    return models.Q(events__icontains=f'"{event}"')


class WebhookQuerySet(models.QuerySet):
    def listening(self, event: str, station) -> "WebhookQuerySet":
        """Active webhooks for `event` at `station` (a Station, its pk or an OuterRef)."""
        return self.filter(
            subscribed_to(event),
            models.Q(station__isnull=True) | models.Q(station=station),
            is_active=True,
        )


class Webhook(models.Model):
    """An HTTP endpoint (a barrier relay's receiver, a camera, the ERP) told about events."""

    name = models.CharField(_("name"), max_length=80)
    url = models.URLField(_("URL"), max_length=500, help_text=_("Receives a JSON POST per event."))
    secret = models.CharField(
        _("secret"),
        max_length=128,
        default=new_webhook_secret,
        help_text=_("Signs each request (X-QRGate-Signature: sha256=HMAC of the body). "
                    "Give it to the receiver."),
    )
    station = models.ForeignKey(
        Station,
        verbose_name=_("station"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="webhooks",
        help_text=_("Empty: events of every station."),
    )
    events = models.JSONField(
        _("events"),
        default=list,
        validators=[validate_webhook_events],
        help_text=_("A JSON list, e.g. [\"scan.accepted\", \"driver.banned_attempt\"]."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = WebhookQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self):
        return self.name


class OutboxEvent(models.Model):
    """One event, written in the same transaction as what it tells (a scan, a refusal).

    The delivery worker (manage.py run_outbox) fans it out into Delivery rows, one per
    webhook listening and per person who asked for it, then sends them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("event"), max_length=40)
    station = models.ForeignKey(
        Station, verbose_name=_("station"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payload = models.JSONField(_("payload"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    dispatched_at = models.DateTimeField(_("fanned out"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [
            # Serves the worker's poll: events not yet fanned out, oldest first.
            models.Index(
                fields=["created_at"],
                name="stations_outbox_new_idx",
                condition=models.Q(dispatched_at__isnull=True),
            ),
            # Serves the daily digest: a day's events of some names.
            models.Index(fields=["name", "created_at"], name="stations_outbox_name_idx"),
        ]

    def __str__(self):
        return f"{self.name} {self.created_at:%Y-%m-%d %H:%M:%S}"


# How long a delivery is retried before it is marked failed.
RETRY_FOR = timedelta(hours=24)


def default_give_up_at():
    return timezone.now() + RETRY_FOR


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One event to one webhook or to one person's e-mail, with its retry state."""

    event = models.ForeignKey(OutboxEvent, verbose_name=_("event"), on_delete=models.CASCADE,
                              related_name="deliveries")
    webhook = models.ForeignKey(Webhook, verbose_name=_("webhook"), null=True, blank=True,
                                on_delete=models.CASCADE, related_name="deliveries")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recipient"), null=True,
                                  blank=True, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    give_up_at = models.DateTimeField(_("retried until"), default=default_give_up_at)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(webhook__isnull=False, recipient__isnull=True)
                | models.Q(webhook__isnull=True, recipient__isnull=False),
                name="stations_delivery_one_target",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values), name="stations_delivery_status_valid"
            ),
            # A fan-out that runs twice (a worker killed half-way) sends nothing twice.
            models.UniqueConstraint(fields=["event", "webhook"], name="stations_delivery_once_per_webhook",
                                    condition=models.Q(webhook__isnull=False)),
            models.UniqueConstraint(fields=["event", "recipient"], name="stations_delivery_once_per_person",
                                    condition=models.Q(recipient__isnull=False)),
        ]
        indexes = [
            # Serves the worker's "due" query: pending deliveries whose time has come.
            models.Index(
                fields=["next_attempt_at"],
                name="stations_delivery_due_idx",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self):
        return f"{self.event.name} → {self.webhook or self.recipient}"

    @property
    def target(self) -> str:
        return self.webhook.url if self.webhook_id else (self.recipient.email if self.recipient_id else "")
