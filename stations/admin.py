from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Station


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "kind", "is_active", "self_check_in", "sort_order", "printables")
    list_editable = ("is_active", "sort_order")
    list_filter = ("kind", "is_active", "self_check_in")
    search_fields = ("name", "code")
    readonly_fields = ("printables",)

    @admin.display(description=_("QR and kiosk"))
    def printables(self, obj):
        if not obj.pk:
            return "—"
        links = format_html(
            '<a href="{}" target="_blank">{}</a>',
            reverse("stations:station_qr", args=[obj.code]),
            _("Printable station QR"),
        )
        if obj.self_check_in:
            links += format_html(
                ' · <a href="{}" target="_blank">{}</a>',
                reverse("stations:kiosk", args=[obj.code]),
                _("Self check-in kiosk"),
            )
        return links
