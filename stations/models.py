import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _


class StationKind(models.TextChoices):
    ENTRY = "entry", _("Entry gate")
    EXIT = "exit", _("Exit gate")
    GATE = "gate", _("Two-way gate")
    CHECKPOINT = "checkpoint", _("Checkpoint")


ROUTE_START_KINDS = [StationKind.ENTRY, StationKind.GATE]
SEAL_CHECK_KINDS = [StationKind.EXIT, StationKind.GATE]


def new_kiosk_secret() -> str:
    return secrets.token_hex(32)


class StationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Station(models.Model):
    """A place where badges are scanned: a gate or a checkpoint of the plant."""

    name = models.CharField(_("name"), max_length=80)
    code = models.CharField(
        _("code"),
        max_length=16,
        unique=True,
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
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def clean(self):
        self.code = (self.code or "").strip().upper()
        errors = {}
        if self.default_route_id and self.kind not in ROUTE_START_KINDS:
            errors["default_route"] = _("Only an entry or two-way gate starts a route.")
        if self.checks_seals and self.kind not in SEAL_CHECK_KINDS:
            errors["checks_seals"] = _("Only an exit or two-way gate checks seals.")
        if self.pk and self.kind != StationKind.CHECKPOINT and self.route_stops.exists():
            errors["kind"] = _("This station is a stop of a route: it must stay a checkpoint.")
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        self.code = (self.code or "").strip().upper()
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
            raise ValidationError({"station": _("A route stop must be a checkpoint station.")})
