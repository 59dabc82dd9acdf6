import hashlib
import secrets

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from stations.models import ALERT_EVENTS, validate_event_names


def validate_alert_events(value):
    validate_event_names(value, allowed=tuple(ALERT_EVENTS), empty_ok=True)


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
    # E-mail alerts this user asked for (stations.models.ALERT_EVENTS), sent through the
    # outbox one by one, or once a day in a digest.
    alert_events = models.JSONField(
        _("e-mail alerts"), default=list, blank=True, validators=[validate_alert_events]
    )
    alert_digest = models.BooleanField(
        _("daily digest"), default=False, help_text=_("One e-mail a day instead of one per event.")
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")


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


class TokenScope(models.TextChoices):
    READ = "read", _("Read")
    WRITE = "write", _("Read and write")


TOKEN_PREFIX = "qrg_"


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256 (the token has 256 bits of randomness)."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    """A key for an integration (the ERP, a script) acting as `user`, within `scope`.

    Only the SHA-256 of the token is stored: it is shown once, when created
    (accounts.services.create_api_token).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(_("name"), max_length=80, help_text=_("Who uses it, e.g. ERP."))
    scope = models.CharField(_("scope"), max_length=8, choices=TokenScope.choices, default=TokenScope.READ)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("starts with"), max_length=12, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope__in=TokenScope.values), name="accounts_apitoken_scope_valid"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @staticmethod
    def new_key() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.WRITE
