from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from . import services
from .models import ApiToken, AuthEvent, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = BaseUserAdmin.fieldsets + (
        (_("Plant"), {"fields": ("default_station", "language")}),
        (_("E-mail alerts"), {"fields": ("alert_events", "alert_digest")}),
    )
    list_display = ("username", "first_name", "last_name", "is_active", "roles", "default_station")
    list_filter = ("is_active", "is_staff", "groups")
    list_select_related = ("default_station",)

    @admin.display(description=_("roles"))
    def roles(self, obj):
        return ", ".join(g.name for g in obj.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")


@admin.register(AuthEvent)
class AuthEventAdmin(admin.ModelAdmin):
    list_display = ("at", "kind", "username", "ip", "path")
    list_filter = ("kind",)
    search_fields = ("username", "ip", "path")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made here or with manage.py create_api_token; the token shows only once."""

    list_display = ("name", "user", "scope", "prefix", "created_at", "last_used_at", "revoked_at")
    list_filter = ("scope", "revoked_at")
    search_fields = ("name", "user__username", "prefix")
    list_select_related = ("user",)
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("user", "name", "scope")
        return ("user", "name", "scope", "prefix", "created_at", "last_used_at", "revoked_at")

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("user", "scope", "prefix", "created_at", "last_used_at", "revoked_at")

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        token, key = services.create_api_token(user=obj.user, name=obj.name, scope=obj.scope)
        obj.pk = token.pk
        obj.key_hash, obj.prefix, obj.created_at = token.key_hash, token.prefix, token.created_at
        self.message_user(
            request,
            _("Copy the token now, it will not be shown again: %(token)s") % {"token": key},
            messages.WARNING,
        )

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        for token in queryset:
            services.revoke_api_token(token=token)
        self.message_user(request, _("Revoked."), messages.SUCCESS)
