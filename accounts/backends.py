"""The one place where a password is checked: Django's ModelBackend behind the lockout."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from .services import client_ip, finish_login_attempt, reserve_login_attempt


class LockoutBackend(ModelBackend):
    """Counts every attempt (our login page, the admin's, any later caller of
    authenticate()) before the password is checked, and refuses a locked account at that
    address even with the right password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None
        slot = reserve_login_attempt(username=str(username), ip=client_ip(request))
        if not slot.allowed:
            # Stop here: no other backend may check this password either.
            raise PermissionDenied
        user = super().authenticate(request, username=username, password=password, **kwargs)
        finish_login_attempt(request=request, slot=slot, succeeded=user is not None)
        return user
