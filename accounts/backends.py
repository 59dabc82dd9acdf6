"""The one place where a password is checked (Django's ModelBackend behind the lockout),
and a user's permissions read in one query per request."""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q

from qrgate.prepared import PreparedQuery

from .services import client_ip, finish_login_attempt, reserve_login_attempt


def _permissions(*, user_id: int, superuser: bool):
    perms = Permission.objects.all()
    if not superuser:
        own = get_user_model().user_permissions.through.objects.filter(user_id=user_id)
        grouped = Group.permissions.through.objects.filter(group__user=user_id)
        perms = perms.filter(Q(pk__in=own.values("permission_id")) | Q(pk__in=grouped.values("permission_id")))
    return perms.values_list("content_type__app_label", "codename")


# Read on every request: compiled once per process (qrgate/prepared.py), run with the id.
_PERMISSIONS = PreparedQuery(_permissions)
_USER = PreparedQuery(lambda pk: get_user_model()._default_manager.filter(pk=pk))


class RoleBackend(ModelBackend):
    """Every view asks for a permission, and the scan API for three (record, force,
    undo): ModelBackend reads the user's own and his groups' permissions in two queries.
    This reads only the user's permissions, both kinds in one query, once per request:
    the set is kept on the request's user object (Django's own `_perm_cache`), never in
    the process across requests, so a role change counts from the next request.
    """

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            superuser = bool(user_obj.is_superuser)
            user_obj._perm_cache = {
                f"{app_label}.{codename}"
                for app_label, codename in _PERMISSIONS.fetch(
                    (superuser,), fixed={"superuser": superuser}, user_id=user_obj.pk)
            }
        return user_obj._perm_cache

    def get_user(self, user_id):
        """The session's user, as ModelBackend reads him (None when unknown or inactive)."""
        try:
            pk = get_user_model()._meta.pk.to_python(user_id)
        except ValidationError:
            return None
        user = _USER.first(pk=pk) if pk is not None else None
        return user if user is not None and self.user_can_authenticate(user) else None


class LockoutBackend(RoleBackend):
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
