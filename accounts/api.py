"""API tokens in Django REST framework: authentication, scope, rate limits.

Token calls carry `Authorization: Bearer <token>` and nothing else: no session, no CSRF
(there is no cookie for a forged page to ride on). A token acts as its user, within its
scope: `read` may only GET; `write` may also POST scans. The user's own permissions
still apply on top (a booth user's token cannot read the history).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.settings import api_settings

from .models import ApiToken
from .services import client_ip, token_user


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid Authorization header: use “Bearer <token>”."))
        try:
            key = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        found = token_user(key)
        if found is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        return found

    def authenticate_header(self, request):
        # A WWW-Authenticate header makes DRF answer 401 (not 403) to calls without a token.
        return f'{self.keyword} realm="qrgate"'


class TokenScopePermission(permissions.BasePermission):
    """A token within its scope, and a user holding the view's `required_perms`."""

    message = _("This token's scope does not allow this call (a read token may only read).")

    def has_permission(self, request, view):
        token = request.auth
        if not isinstance(token, ApiToken):
            raise exceptions.NotAuthenticated(_("Send an API token: Authorization: Bearer <token>."))
        if request.method not in permissions.SAFE_METHODS and not token.can_write:
            return False
        if not request.user.has_perms(getattr(view, "required_perms", ())):
            self.message = _("The token's user is not allowed to do this.")
            return False
        return True


class _SettingsRate:
    # SimpleRateThrottle copies the rates once, at import; read them at each call instead,
    # so that a changed setting (REST_FRAMEWORK, reloaded by DRF) applies.
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]


class TokenRateThrottle(_SettingsRate, throttling.SimpleRateThrottle):
    """Calls per token (API_RATE_PER_TOKEN), counted in the shared database cache."""

    scope = "token"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}
        return None


class AddressRateThrottle(_SettingsRate, throttling.SimpleRateThrottle):
    """Calls per client address (API_RATE_PER_ADDRESS), whatever the token."""

    scope = "address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request._request) or "unknown"}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The token scheme in the OpenAPI schema (drf-spectacular)."""

    target_class = "accounts.api.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "manage.py create_api_token"}
