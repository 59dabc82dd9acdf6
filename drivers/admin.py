from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .forms import DriverFieldsForm, ReasonForm
from .models import Ban, DocumentType, Driver, DriverDocument, Movement, RefusedScan, RevokedBadge, Visit


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written by the services only: the admin shows it, never edits it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BanInline(admin.TabularInline):
    model = Ban
    fk_name = "driver"
    extra = 0
    fields = ("banned_at", "reason", "banned_by", "until", "lifted_at", "lifted_by")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class DriverDocumentInline(admin.TabularInline):
    model = DriverDocument
    extra = 1
    fields = ("doc_type", "number", "expires_on", "file")


def _reason_action(modeladmin, request, queryset, *, title, perm, needs_until, run):
    """Ask for a reason on an intermediate page, then run `run(driver, reason, until)`."""
    if not request.user.has_perm(perm):
        raise PermissionDenied
    form = ReasonForm(request.POST if "apply" in request.POST else None)
    if not needs_until:
        form.fields.pop("until")
    if form.is_valid():
        done = 0
        for driver in queryset:
            try:
                run(driver, form.cleaned_data["reason"], form.cleaned_data.get("until"))
                done += 1
            except services.ScanError as exc:
                modeladmin.message_user(request, f"{driver}: {exc}", messages.ERROR)
        modeladmin.message_user(
            request, ngettext("%d driver updated.", "%d drivers updated.", done) % done, messages.SUCCESS
        )
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "form": form,
        "queryset": queryset,
        "action": request.POST.get("action"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    }
    return TemplateResponse(request, "admin/drivers/reason_action.html", context)


class DriverAdminForm(DriverFieldsForm):
    """The registration page's rules and messages, and its photo processing, in the admin."""

    remove_photo = forms.BooleanField(label=_("Remove the photo"), required=False)

    class Meta(DriverFieldsForm.Meta):
        fields = [*DriverFieldsForm.Meta.fields, "user"]


@admin.register(Driver)
class DriverAdmin(admin.ModelAdmin):
    form = DriverAdminForm
    list_display = ("full_name", "license_number", "company", "plate", "phone", "created_at")
    list_filter = ("company",)
    search_fields = ("full_name", "license_number", "company", "plate", "badge_code")
    readonly_fields = ("current_photo", "badge_code", "badge_issued_at", "created_at", "updated_at", "created_by")
    fields = (
        "full_name", "license_number", "company", "phone", "plate", "current_photo", "photo", "remove_photo",
        "notes", "user", "badge_code", "badge_issued_at", "created_at", "updated_at", "created_by",
    )
    autocomplete_fields = ("user",)
    inlines = [DriverDocumentInline, BanInline]
    actions = ["ban_drivers", "unban_drivers", "reissue_badges"]

    def get_form(self, request, obj=None, **kwargs):
        # "photo" here is the form's upload, not the model's field, which no form edits
        # (set_photo stores it processed): leave it out of the model form's fields.
        fields = kwargs.get("fields") or flatten_fieldsets(self.get_fieldsets(request, obj))
        kwargs["fields"] = [f for f in fields if f not in DriverAdminForm.declared_fields]
        return super().get_form(request, obj, **kwargs)

    @admin.display(description=_("photo"))
    def current_photo(self, obj):
        image = obj.photo_thumb or obj.photo
        if not image:
            return "—"
        return format_html('<img src="{}" alt="" width="120" height="160">', reverse("drivers:media", args=[image.name]))

    def save_model(self, request, obj, form, change):
        # Through the services, as every writer: the form met the model's rules already;
        # set_photo processes the photo and makes the thumbnail the booth shows.
        photo = {}
        if form.processed_photo is not None:
            photo = {"photo": form.processed_photo}
        elif form.cleaned_data.get("remove_photo"):
            photo = {"photo": None}
        if change:
            changed = [name for name in form.changed_data if name in services.DRIVER_FIELDS]
            services.update_driver(driver=obj, by=request.user, **form.driver_fields(changed), **photo)
        else:
            driver = services.register_driver(by=request.user, **form.driver_fields(), **photo)
            # The admin goes on with `obj` (its log entry, the redirect to the new row).
            obj.__dict__.update(driver.__dict__)

    @admin.action(description=_("Ban the selected drivers"), permissions=["ban"])
    def ban_drivers(self, request, queryset):
        return _reason_action(
            self, request, queryset, title=_("Ban drivers"), perm="drivers.ban_driver", needs_until=True,
            run=lambda d, reason, until: services.ban(driver=d, reason=reason, by=request.user, until=until),
        )

    @admin.action(description=_("Lift the ban of the selected drivers"), permissions=["ban"])
    def unban_drivers(self, request, queryset):
        count = sum(1 for d in queryset if services.unban(driver=d, by=request.user))
        self.message_user(request, ngettext("%d ban lifted.", "%d bans lifted.", count) % count)

    @admin.action(description=_("Reissue the badge (the old one stops working)"), permissions=["reissue"])
    def reissue_badges(self, request, queryset):
        return _reason_action(
            self, request, queryset, title=_("Reissue badges"), perm="drivers.reissue_badge", needs_until=False,
            run=lambda d, reason, until: services.reissue_badge(driver=d, by=request.user, reason=reason),
        )

    def has_ban_permission(self, request):
        return request.user.has_perm("drivers.ban_driver")

    def has_reissue_permission(self, request):
        return request.user.has_perm("drivers.reissue_badge")


@admin.register(Movement)
class MovementAdmin(ReadOnlyAdmin):
    list_display = ("at", "direction", "driver", "station", "operator", "source", "forced", "annulled_at")
    list_filter = ("direction", "source", "forced", "station", "is_late")
    search_fields = ("driver__full_name", "driver__license_number", "driver__company")
    date_hierarchy = "at"
    list_select_related = ("driver", "station", "operator")
    show_full_result_count = False


@admin.register(RefusedScan)
class RefusedScanAdmin(ReadOnlyAdmin):
    list_display = ("at", "reason", "raw_input", "driver", "station", "operator")
    list_filter = ("reason", "station")
    search_fields = ("raw_input", "driver__full_name")
    date_hierarchy = "at"
    list_select_related = ("driver", "station", "operator")
    show_full_result_count = False


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = (
        "driver", "entered_at", "left_at", "entry_station", "exit_station", "last_station", "route", "plate",
    )
    list_filter = ("entry_station", "route")
    search_fields = ("driver__full_name", "plate")
    date_hierarchy = "entered_at"
    list_select_related = ("driver", "entry_station", "exit_station", "last_station", "route")


@admin.register(Ban)
class BanAdmin(ReadOnlyAdmin):
    list_display = ("driver", "reason", "banned_at", "banned_by", "until", "lifted_at", "lifted_by")
    search_fields = ("driver__full_name", "reason")
    list_select_related = ("driver", "banned_by", "lifted_by")


@admin.register(RevokedBadge)
class RevokedBadgeAdmin(ReadOnlyAdmin):
    list_display = ("code", "driver", "revoked_at", "revoked_by", "reason")
    search_fields = ("code", "driver__full_name")


@admin.register(DocumentType)
class DocumentTypeAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "required", "blocks_entry", "warn_days")
    list_filter = ("required", "blocks_entry")
    search_fields = ("name", "code")


@admin.register(DriverDocument)
class DriverDocumentAdmin(admin.ModelAdmin):
    list_display = ("driver", "doc_type", "number", "expires_on")
    list_filter = ("doc_type",)
    search_fields = ("driver__full_name", "driver__license_number", "number")
    date_hierarchy = "expires_on"
    list_select_related = ("driver", "doc_type")
    autocomplete_fields = ("driver",)
