"""Write logins, failed logins and logouts to the security log, whatever the login page
(ours or the admin's): Django's auth signals are the extension point for exactly this."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .models import AuthEvent
from .services import record_event


@receiver(user_logged_in, dispatch_uid="qrgate_log_login")
def log_login(sender, request, user, **kwargs):
    record_event(AuthEvent.Kind.LOGIN, request=request, user=user)


@receiver(user_logged_out, dispatch_uid="qrgate_log_logout")
def log_logout(sender, request, user, **kwargs):
    if user is not None:
        record_event(AuthEvent.Kind.LOGOUT, request=request, user=user)


@receiver(user_login_failed, dispatch_uid="qrgate_log_login_failed")
def log_login_failed(sender, credentials, request=None, **kwargs):
    username = credentials.get("username") or ""
    record_event(AuthEvent.Kind.LOGIN_FAILED, request=request, username=str(username))
