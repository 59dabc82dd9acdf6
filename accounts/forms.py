from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from stations.models import ALERT_EVENTS

from .services import client_ip, lockout_minutes_left


class LockoutMixin:
    """Says why a login was refused when the account is locked at this address.

    The guard is accounts.backends.LockoutBackend (it counts the attempt before checking
    the password); this reads the lock first only to answer without logging a failure."""

    def _locked_error(self, minutes: int) -> forms.ValidationError:
        return forms.ValidationError(
            ngettext(
                "Too many failed attempts: this account is locked at this computer for %(minutes)d minute.",
                "Too many failed attempts: this account is locked at this computer for %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes},
            code="locked",
        )

    def clean(self):
        username = (self.cleaned_data.get("username") or "").strip()
        if username:
            minutes = lockout_minutes_left(username, client_ip(self.request))
            if minutes:
                self.locked_minutes = minutes
                raise self._locked_error(minutes)
        try:
            return super().clean()
        except forms.ValidationError as error:
            # The failure was logged by the user_login_failed signal; is the account locked now?
            if username and getattr(error, "code", None) == "invalid_login":
                minutes = lockout_minutes_left(username, client_ip(self.request))
                if minutes:
                    self.locked_minutes = minutes
                    raise self._locked_error(minutes) from error
            raise


class LoginForm(LockoutMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Wrong username or password. Check them and try again (capital letters count)."),
        "inactive": _("This account is disabled. Ask the plant's administrator."),
    }
    locked_minutes = 0


class AdminLoginForm(LockoutMixin, AdminAuthenticationForm):
    locked_minutes = 0


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("Plant default"))] + list(settings.LANGUAGES),
        required=False,
        widget=forms.RadioSelect,
    )


class AlertsForm(forms.Form):
    """Which alerts a user gets by e-mail, and how (accounts.services.set_alerts)."""

    email = forms.EmailField(label=_("E-mail address"), required=False,
                             help_text=_("Nothing is sent without an address."))
    alert_events = forms.MultipleChoiceField(
        label=_("Send me an e-mail when"), required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(str(name), name.label) for name in ALERT_EVENTS],
    )
    alert_digest = forms.BooleanField(label=_("Once a day, in one e-mail (daily digest)"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("alert_events") and not data.get("email"):
            self.add_error("email", _("Give an address to receive alerts."))
        return data
