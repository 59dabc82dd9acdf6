from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied


def permission_required(*perms: str):
    """Anonymous users go to the login page; logged-in users without `perms` get a 403.

    Django's own decorator with raise_exception=True answers 403 to anonymous users too,
    which sends a booth whose session expired to an error page instead of the login.
    """

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.has_perms(perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapper)

    return decorator
