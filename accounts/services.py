"""The security log and the login lockout.

A lockout is per account AND address together: one guard mistyping his password at a
booth never locks out the other booths that share the building's public address, and
one address guessing many accounts is slowed down account by account.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import AuthEvent

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


def _recent_failures(username: str, ip: str | None, now):
    """Failed logins of `username` at `ip` inside the lockout window, since his last success.

    Served by the index accounts_authevent_lock_idx (kind, username, ip, at).
    """
    since = now - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    last_login = (
        AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN, username=username, ip=ip, at__gte=since)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if last_login and last_login > since:
        since = last_login
    return AuthEvent.objects.filter(
        kind=AuthEvent.Kind.LOGIN_FAILED, username=username, ip=ip, at__gt=since
    ).order_by("-at")


def lockout_minutes_left(username: str, ip: str | None) -> int:
    """0 when `username` may try to log in from `ip`, else the whole minutes left (at least 1)."""
    now = timezone.now()
    limit = settings.LOGIN_MAX_FAILURES
    times = list(_recent_failures(username[:USERNAME_MAX], ip, now).values_list("at", flat=True)[:limit])
    if len(times) < limit:
        return 0
    # The lock ends when the oldest of the last `limit` failures leaves the window.
    ends = times[-1] + timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)
    seconds = (ends - now).total_seconds()
    return max(1, -(-int(seconds) // 60)) if seconds > 0 else 0


def after_failure(*, request, username: str) -> int:
    """Call after a failed login was logged: locks and logs the lockout when this failure
    reaches LOGIN_MAX_FAILURES. Returns the minutes locked, or 0."""
    ip = client_ip(request)
    minutes = lockout_minutes_left(username, ip)
    if minutes:
        record_event(AuthEvent.Kind.LOCKOUT, request=request, username=username)
    return minutes
