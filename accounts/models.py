from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role:
    """The plant's role groups, created by migration accounts.0002."""

    ADMIN = "Administrador"
    BOOTH = "Caseta"
    SUPERVISOR = "Supervisor"
    DRIVER = "Chofer"
    ALL = (ADMIN, BOOTH, SUPERVISOR, DRIVER)


class User(AbstractUser):
    default_station = models.ForeignKey(
        "stations.Station",
        verbose_name=_("default station"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The station the scan screen opens on for this user."),
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("Empty: the plant's default language."),
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def in_role(self, *roles: str) -> bool:
        return self.is_superuser or self.groups.filter(name__in=roles).exists()


class AuthEvent(models.Model):
    """Security log: logins, failures, lockouts and forbidden accesses."""

    class Kind(models.TextChoices):
        LOGIN = "login", _("Login")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOCKOUT = "lockout", _("Lockout")
        LOGOUT = "logout", _("Logout")
        FORBIDDEN = "forbidden", _("Forbidden access")

    kind = models.CharField(_("event"), max_length=16, choices=Kind.choices)
    at = models.DateTimeField(_("time"), auto_now_add=True)
    username = models.CharField(_("username"), max_length=150, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    ip = models.GenericIPAddressField(_("address"), null=True, blank=True)
    path = models.CharField(_("path"), max_length=200, blank=True)
    user_agent = models.CharField(_("browser"), max_length=200, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("security event")
        verbose_name_plural = _("security events")
        indexes = [
            # Serves the lockout check: recent failures for one account at one address.
            models.Index(fields=["kind", "username", "ip", "at"], name="accounts_authevent_lock_idx"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.get_kind_display()} {self.username}"


class LoginCounter(models.Model):
    """Password checks counted per account and address, BEFORE each check runs.

    One row per (username, address): the lockout service locks it, counts the attempt and
    only then lets the password be checked, so parallel guesses cannot all pass a check
    that reads the count first (accounts.services.reserve_login_attempt).
    """

    username = models.CharField(_("username"), max_length=150)
    ip = models.CharField(_("address"), max_length=45, blank=True)
    failures = models.PositiveIntegerField(_("failed attempts"), default=0)
    last_at = models.DateTimeField(_("last attempt"))

    class Meta:
        verbose_name = _("login counter")
        verbose_name_plural = _("login counters")
        constraints = [
            models.UniqueConstraint(fields=["username", "ip"], name="accounts_logincounter_one_per_account_address"),
        ]

    def __str__(self):
        return f"{self.username} @ {self.ip or '?'}: {self.failures}"
