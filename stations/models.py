import secrets

from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _


class StationKind(models.TextChoices):
    ENTRY = "entry", _("Entry gate")
    EXIT = "exit", _("Exit gate")
    GATE = "gate", _("Two-way gate")
    CHECKPOINT = "checkpoint", _("Checkpoint")


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
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def clean(self):
        self.code = (self.code or "").strip().upper()

    def save(self, *args, **kwargs):
        self.code = (self.code or "").strip().upper()
        super().save(*args, **kwargs)
