from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts")

    def ready(self):
        from django.contrib import admin

        from . import signals  # noqa: F401  (connects the security log)
        from .forms import AdminLoginForm

        # The admin's own login page obeys the same lockout as ours.
        admin.site.login_form = AdminLoginForm
