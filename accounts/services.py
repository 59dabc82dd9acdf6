"""The security log and the login lockout.

A lockout is per account AND address together: one guard mistyping his password at a
booth never locks out the other booths that share the building's public address, and
one address guessing many accounts is slowed down account by account.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import TOKEN_PREFIX, ApiToken, AuthEvent, LoginCounter, TokenScope, hash_token

USERNAME_MAX = 150


# The HTTPS proxy of deploy/ runs on the same host: only its X-Forwarded-For is believed.
TRUSTED_PROXIES = {"127.0.0.1", "::1"}


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or the proxy's last X-Forwarded-For entry when the
    request came through the local HTTPS proxy (else every phone would be 127.0.0.1)."""
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or None
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if remote in TRUSTED_PROXIES and forwarded:
        candidate = forwarded.split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            pass
    return remote


def record_event(kind: str, *, request=None, user=None, username: str = "") -> AuthEvent:
    """Write one row of the security log: what, who, from where, on which path."""
    if user is not None and not getattr(user, "pk", None):
        user = None
    if not username and user is not None:
        username = user.get_username()
    meta = request.META if request is not None else {}
    return AuthEvent.objects.create(
        kind=kind,
        username=(username or "")[:USERNAME_MAX],
        user=user,
        ip=client_ip(request),
        path=(request.path if request is not None else "")[:200],
        user_agent=(meta.get("HTTP_USER_AGENT") or "")[:200],
    )


def _window() -> timedelta:
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def _minutes_until(moment, now) -> int:
    seconds = (moment - now).total_seconds()
    return max(1, -(-int(seconds) // 60)) if seconds > 0 else 0


@dataclass(frozen=True)
class LoginSlot:
    """The outcome of reserve_login_attempt: `number` is this attempt's place among the
    counted failures (1..LOGIN_MAX_FAILURES), 0 when refused; then `locked_minutes` > 0."""

    username: str
    ip: str
    number: int
    locked_minutes: int = 0

    @property
    def allowed(self) -> bool:
        return self.number > 0


@transaction.atomic
def reserve_login_attempt(*, username: str, ip: str | None) -> LoginSlot:
    """Count one password check of `username` at `ip` before it runs, or refuse it.

    The attempt counts as a failure until finish_login_attempt says it succeeded, so ten
    parallel guesses get at most LOGIN_MAX_FAILURES password checks: the row of this
    account and address is locked (PostgreSQL: FOR UPDATE; SQLite: the IMMEDIATE
    transaction's write lock) while the count is read and raised. Failures older than
    LOGIN_LOCKOUT_MINUTES are forgotten; a lock lasts LOGIN_LOCKOUT_MINUTES from the
    failure that filled it. The slow password hashing runs outside this transaction.
    """
    key = {"username": username[:USERNAME_MAX], "ip": ip or ""}
    now = timezone.now()
    # Create the row if missing without failing when a parallel attempt creates it first.
    LoginCounter.objects.bulk_create([LoginCounter(**key, last_at=now)], ignore_conflicts=True)
    counter = LoginCounter.objects.select_for_update().get(**key)
    if counter.last_at <= now - _window():
        counter.failures = 0
    if counter.failures >= settings.LOGIN_MAX_FAILURES:
        return LoginSlot(**key, number=0, locked_minutes=_minutes_until(counter.last_at + _window(), now))
    counter.failures += 1
    counter.last_at = now
    counter.save(update_fields=["failures", "last_at"])
    return LoginSlot(**key, number=counter.failures)


def finish_login_attempt(*, request, slot: LoginSlot, succeeded: bool) -> None:
    """After the password check: a success forgets the account's failures at that
    address; the failure that filled the count logs the lockout (once)."""
    if succeeded:
        LoginCounter.objects.filter(username=slot.username, ip=slot.ip).update(failures=0)
    elif slot.number >= settings.LOGIN_MAX_FAILURES:
        record_event(AuthEvent.Kind.LOCKOUT, request=request, username=slot.username)


def lockout_minutes_left(username: str, ip: str | None) -> int:
    """0 when `username` may try to log in from `ip`, else the whole minutes left (at least 1).

    A read for the login form's message; the guard itself is reserve_login_attempt."""
    counter = LoginCounter.objects.filter(username=username[:USERNAME_MAX], ip=ip or "").first()
    if counter is None or counter.failures < settings.LOGIN_MAX_FAILURES:
        return 0
    return _minutes_until(counter.last_at + _window(), timezone.now())


# --- API tokens ------------------------------------------------------------------------


@transaction.atomic
def create_api_token(*, user, name: str, scope: str = TokenScope.READ) -> tuple[ApiToken, str]:
    """A new token for `user` within `scope`; returns the row and the token, shown only now."""
    if scope not in TokenScope.values:
        raise ValidationError(_("Unknown scope: use read or write."), code="scope_unknown")
    name = (name or "").strip()[:80] or str(scope)
    key = ApiToken.new_key()
    token = ApiToken.objects.create(
        user=user, name=name, scope=scope, key_hash=hash_token(key), prefix=key[:12]
    )
    return token, key


def revoke_api_token(*, token: ApiToken) -> None:
    """The token stops working at once; the row stays for the record."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


# How often last_used_at is written: a busy integration does not write on every call.
TOKEN_TOUCH_SECONDS = 60


def token_user(key: str) -> tuple[object, ApiToken] | None:
    """The (user, token) a presented token stands for, or None (unknown, revoked, inactive)."""
    if not isinstance(key, str) or not key.startswith(TOKEN_PREFIX) or len(key) > 100:
        return None
    token = ApiToken.objects.usable().select_related("user").filter(key_hash=hash_token(key)).first()
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > TOKEN_TOUCH_SECONDS:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token


def set_alerts(*, user, email: str, events: list[str], digest: bool) -> None:
    """Which e-mail alerts `user` gets (stations.models.ALERT_EVENTS), at which address."""
    user.email = (email or "").strip()
    user.alert_events = list(dict.fromkeys(events))
    user.alert_digest = bool(digest)
    user.full_clean(exclude=[f.name for f in user._meta.fields if f.name not in ("email", "alert_events")])
    user.save(update_fields=["email", "alert_events", "alert_digest"])
