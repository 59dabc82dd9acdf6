"""The kiosk's rotating self check-in code.

A kiosk screen at a self check-in station shows a QR of /checkin/<station>/<token>/. The
token is an HMAC of the station's secret and the current time slot (KIOSK_CODE_SECONDS
long), so every app server computes the same code without sharing state, and nothing is
stored. A token stays valid for its own slot plus KIOSK_GRACE_SECONDS, so a driver who
scans just before the code changes still gets in, while a photo of an old code does not.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time

from django.conf import settings

from .models import Station

TOKEN_LENGTH = 16  # 80 bits of the HMAC, base32: upper-case letters and digits


def _period() -> int:
    return max(int(settings.KIOSK_CODE_SECONDS), 1)


def current_slot(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // _period())


def token_for_slot(station: Station, slot: int) -> str:
    digest = hmac.new(
        station.kiosk_secret.encode(), f"{station.code}:{slot}".encode(), hashlib.sha256
    ).digest()
    return base64.b32encode(digest[:10]).decode("ascii")[:TOKEN_LENGTH]


def kiosk_token(station: Station, *, now: float | None = None) -> str:
    """The code the kiosk shows now."""
    return token_for_slot(station, current_slot(now))


def seconds_left(now: float | None = None) -> float:
    """Seconds until the kiosk code changes."""
    now = time.time() if now is None else now
    return (current_slot(now) + 1) * _period() - now


def token_is_valid(station: Station, token, *, now: float | None = None) -> bool:
    """True when `token` is the current code, or a previous one still within the grace time."""
    if not isinstance(token, str) or len(token) != TOKEN_LENGTH or not token.isascii():
        return False
    token = token.upper()
    now = time.time() if now is None else now
    slot = current_slot(now)
    grace = max(int(settings.KIOSK_GRACE_SECONDS), 0)
    # A slot ends at (slot + 1) * period; it is still accepted for `grace` seconds after.
    back = math.ceil(grace / _period())
    for candidate in range(slot, slot - back - 1, -1):
        if candidate < slot and now - (candidate + 1) * _period() > grace:
            break
        if hmac.compare_digest(token, token_for_slot(station, candidate)):
            return True
    return False
