from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Route, RouteStop, Station, StationKind


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    list_display = (
        "name", "code", "kind", "is_active", "self_check_in", "default_route", "checks_seals", "sort_order",
        "printables",
    )
    list_editable = ("is_active", "sort_order")
    list_filter = ("kind", "is_active", "self_check_in", "checks_seals")
    list_select_related = ("default_route",)
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


class RouteStopInline(admin.TabularInline):
    model = RouteStop
    extra = 3
    fields = ("position", "station")
    ordering = ("position",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "station":
            kwargs["queryset"] = Station.objects.filter(kind=StationKind.CHECKPOINT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "is_active", "stop_list")
    list_filter = ("is_active",)
    search_fields = ("name", "code")
    inlines = [RouteStopInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("stops__station")

    @admin.display(description=_("stops"))
    def stop_list(self, obj):
        return " → ".join(stop.station.name for stop in obj.stops.all()) or "—"
