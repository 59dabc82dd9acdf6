"""The evacuation roll call: who was inside when it started, and how each one was found safe.

A RollCall's expected people are a snapshot (Expected) taken when it starts. Every badge a
marshal scans is logged (Mark); the first way a person is found safe is his one Accounting
row: a marshal's scan, a supervisor's manual accounting, or (frozen at the close) an exit
through a gate after the start, which until the close is read from drivers' movements.
"""

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MarkReason(models.TextChoices):
    OK = "ok", _("Safe")
    DUPLICATE = "duplicate", _("Already accounted for")
    NOT_EXPECTED = "not_expected", _("Found, not expected")
    INVALID = "invalid", _("Invalid code")
    UNKNOWN = "unknown", _("Unknown badge")
    REVOKED = "revoked", _("Revoked badge")
    CLOSED = "closed", _("Roll call closed")


# The person is safe: the marshal's screen shows it green (amber for not expected).
ACCEPTED_REASONS = (MarkReason.OK, MarkReason.DUPLICATE, MarkReason.NOT_EXPECTED)


class AccountedBy(models.TextChoices):
    MARK = "mark", _("Muster point")
    MANUAL = "manual", _("By hand")
    EXIT = "exit", _("Exit through a gate")


class RollCall(models.Model):
    """One evacuation (or drill) roll call, from its start to its close."""

    started_at = models.DateTimeField(_("started"), default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    drill = models.BooleanField(_("drill"), default=False)
    # True while open, NULL once closed: the unique constraint below allows one open row.
    is_open = models.BooleanField(_("open"), null=True, default=True, editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("roll call")
        verbose_name_plural = _("roll calls")
        permissions = [
            ("mark_muster", _("Can mark people safe at a muster point")),
            ("manage_muster", _("Can start and close roll calls and account people by hand")),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["is_open"], condition=Q(is_open=True), name="musters_rollcall_one_open"
            ),
            models.CheckConstraint(
                condition=Q(is_open=True, closed_at__isnull=True) | Q(is_open__isnull=True, closed_at__isnull=False),
                name="musters_rollcall_open_until_closed",
            ),
        ]

    def __str__(self):
        kind = _("Drill") if self.drill else _("Evacuation")
        return f"{kind} {timezone.localtime(self.started_at):%Y-%m-%d %H:%M}"

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    def exits(self):
        """Valid exits of the expected people after the start (until the close): they count
        as accounted for at that station. Read from drivers' movements while open; the close
        freezes them into Accounting rows."""
        from drivers.models import Direction, Movement

        qs = Movement.objects.valid().filter(
            direction=Direction.OUT,
            at__gte=self.started_at,
            driver__in=Expected.objects.filter(roll_call=self).values("driver"),
        )
        if self.closed_at:
            qs = qs.filter(at__lte=self.closed_at)
        return qs

    def missing(self):
        """The expected drivers not yet accounted for, by name."""
        from drivers.models import Driver, Direction, Movement

        qs = Driver.objects.filter(muster_expected__roll_call=self).exclude(
            Exists(Accounting.objects.filter(roll_call=self, driver=OuterRef("pk")))
        )
        if not self.closed_at:
            qs = qs.exclude(Exists(Movement.objects.valid().filter(
                driver=OuterRef("pk"), direction=Direction.OUT, at__gte=self.started_at,
            )))
        return qs.order_by("full_name", "pk")


class Expected(models.Model):
    """One person inside when the roll call started (the evacuation list at that moment)."""

    roll_call = models.ForeignKey(RollCall, on_delete=models.CASCADE, related_name="expected")
    driver = models.ForeignKey(
        "drivers.Driver", verbose_name=_("driver"), on_delete=models.PROTECT, related_name="muster_expected"
    )
    visit = models.ForeignKey("drivers.Visit", null=True, on_delete=models.SET_NULL, related_name="+")
    last_station = models.ForeignKey(
        "stations.Station", verbose_name=_("last station"), null=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    last_seen_at = models.DateTimeField(_("last seen"), null=True)

    class Meta:
        ordering = ["roll_call", "id"]
        verbose_name = _("expected person")
        verbose_name_plural = _("expected people")
        constraints = [
            models.UniqueConstraint(fields=["roll_call", "driver"], name="musters_expected_once"),
        ]


class Mark(models.Model):
    """One badge scanned by a marshal, whatever its outcome: the log of the muster points."""

    roll_call = models.ForeignKey(RollCall, on_delete=models.CASCADE, related_name="marks")
    driver = models.ForeignKey(
        "drivers.Driver", verbose_name=_("driver"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    code = models.CharField(_("scanned text"), max_length=64, blank=True)
    station = models.ForeignKey(
        "stations.Station", verbose_name=_("muster point"), null=True, on_delete=models.PROTECT,
        related_name="+",
    )
    point_name = models.CharField(_("muster point"), max_length=80, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("marshal"), null=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("time"))
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    nonce = models.CharField(max_length=64, null=True, blank=True, editable=False)
    reason = models.CharField(_("outcome"), max_length=16, choices=MarkReason.choices)
    # The scan that accounted the person for (his Accounting row); repeats are False.
    first = models.BooleanField(_("first"), default=False)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("muster scan")
        verbose_name_plural = _("muster scans")
        constraints = [
            # A nonce belongs to its roll call: the offline queue's retries are one scan.
            models.UniqueConstraint(
                fields=["roll_call", "nonce"], condition=Q(nonce__isnull=False), name="musters_mark_nonce_once"
            ),
            models.CheckConstraint(
                condition=Q(reason__in=MarkReason.values), name="musters_mark_reason_valid"
            ),
        ]

    @property
    def point(self) -> str:
        return self.station.name if self.station_id else self.point_name


class Accounting(models.Model):
    """How one person was first found safe in a roll call: one row per person at most."""

    roll_call = models.ForeignKey(RollCall, on_delete=models.CASCADE, related_name="accountings")
    driver = models.ForeignKey(
        "drivers.Driver", verbose_name=_("driver"), on_delete=models.PROTECT, related_name="+"
    )
    how = models.CharField(_("accounted for by"), max_length=8, choices=AccountedBy.choices)
    # False: found at a muster point but not in the snapshot (came in after the start, or
    # was never recorded at the gate): shown apart.
    expected = models.BooleanField(_("expected"), default=True)
    at = models.DateTimeField(_("time"))
    station = models.ForeignKey(
        "stations.Station", verbose_name=_("station"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    point_name = models.CharField(_("muster point"), max_length=80, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    mark = models.OneToOneField(Mark, null=True, blank=True, on_delete=models.CASCADE, related_name="accounting")
    movement = models.ForeignKey(
        "drivers.Movement", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("accounting")
        verbose_name_plural = _("accountings")
        constraints = [
            # The first way a person was found safe is kept; later scans are only logged.
            models.UniqueConstraint(fields=["roll_call", "driver"], name="musters_accounting_first_once"),
            models.CheckConstraint(
                condition=~Q(how="manual") | ~Q(reason=""), name="musters_accounting_manual_reason"
            ),
        ]

    @property
    def point(self) -> str:
        return self.station.name if self.station_id else self.point_name
