from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MustersConfig(AppConfig):
    name = "musters"
    verbose_name = _("Evacuation roll calls")
