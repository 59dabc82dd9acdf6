from django.contrib import admin

from .models import Station


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "kind", "is_active", "self_check_in", "sort_order")
    list_editable = ("is_active", "sort_order")
    list_filter = ("kind", "is_active", "self_check_in")
    search_fields = ("name", "code")
