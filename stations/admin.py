import json

from django.contrib import admin, messages
from django.db import models
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import outbox
from .models import Delivery, OutboxEvent, Route, RouteStop, Station, StationKind, Webhook


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
class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ("webhook", "recipient", "status", "attempts", "next_attempt_at", "delivered_at", "last_error")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    # A relay on the plant's LAN speaks plain HTTP: an address typed without a scheme is http.
    formfield_overrides = {models.URLField: {"assume_scheme": "http"}}
    list_display = ("name", "url", "station", "events", "is_active")
    list_filter = ("is_active", "station")
    search_fields = ("name", "url")
    list_select_related = ("station",)


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "name", "station", "dispatched_at")
    list_filter = ("name", "station")
    date_hierarchy = "created_at"
    list_select_related = ("station",)
    readonly_fields = ("id", "name", "station", "payload", "created_at", "dispatched_at")
    inlines = [DeliveryInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "event_name", "target_display", "status", "attempts", "next_attempt_at",
                    "delivered_at", "short_error")
    list_filter = ("status", "event__name", "webhook")
    search_fields = ("webhook__name", "webhook__url", "recipient__username", "last_error")
    date_hierarchy = "created_at"
    list_select_related = ("event", "webhook", "recipient")
    readonly_fields = ("event", "webhook", "recipient", "status", "attempts", "next_attempt_at", "give_up_at",
                       "delivered_at", "created_at", "last_error", "payload")
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("event"), ordering="event__name")
    def event_name(self, obj):
        return obj.event.name

    @admin.display(description=_("to"))
    def target_display(self, obj):
        return obj.webhook.name if obj.webhook_id else obj.recipient

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return obj.last_error[:80]

    @admin.display(description=_("payload"))
    def payload(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(outbox.body(obj.event), indent=2, ensure_ascii=False))

    def has_resend_permission(self, request):
        return request.user.has_perm("stations.change_delivery")

    @admin.action(description=_("Send again"), permissions=["resend"])
    def send_again(self, request, queryset):
        count = outbox.send_again(queryset)
        self.message_user(request, ngettext("%(count)d delivery queued again.", "%(count)d deliveries queued again.",
                                            count) % {"count": count}, messages.SUCCESS)
