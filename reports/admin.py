from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import ReportRun, ReportSchedule, SavedFilter
from .services import subscriber_choices


class ReportScheduleInline(admin.TabularInline):
    model = ReportSchedule
    extra = 0
    fields = ("frequency", "weekday", "hour", "format", "is_active")
    show_change_link = True


@admin.register(SavedFilter)
class SavedFilterAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "period", "shared", "created_at")
    list_filter = ("shared", "period")
    search_fields = ("name", "owner__username")
    readonly_fields = ("query",)
    inlines = [ReportScheduleInline]


@admin.register(ReportSchedule)
class ReportScheduleAdmin(admin.ModelAdmin):
    list_display = ("saved_filter", "frequency", "weekday", "hour", "format", "is_active")
    list_filter = ("frequency", "is_active")
    filter_horizontal = ("subscribers",)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "subscribers":  # the same people the schedule page offers
            kwargs["queryset"] = subscriber_choices()
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(ReportRun)
class ReportRunAdmin(admin.ModelAdmin):
    """Each sending of a report: when, how many rows, to whom, and any error. Read only."""

    list_display = ("schedule", "due_at", "finished_at", "rows", "attached", "recipients", "error")
    list_filter = ("attached", "schedule")
    date_hierarchy = "due_at"

    @admin.display(description=_("sent to"))
    def recipients(self, run):
        return ", ".join(run.sent_to)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
