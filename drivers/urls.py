from django.urls import path  # noqa: F401

from .views import active as active_views
from .views import api as api_views
from .views import badge as badge_views
from .views import checkin as checkin_views
from .views import banned as banned_views
from .views import dashboard as dashboard_views
from .views import documents as document_views
from .views import follow as follow_views
from .views import history as history_views
from .views import imports as import_views
from .views import media as media_views
from .views import register as register_views
from .views import reports as report_views
from .views import scan as scan_views

app_name = "drivers"

urlpatterns = [
    # --- scan screen and API ---
    path("scan/", scan_views.scan, name="scan"),
    path("scan/recent/", scan_views.scan_recent, name="scan_recent"),
    path("api/scan/", api_views.api_scan, name="api_scan"),
    path("api/scan/annul/", api_views.api_annul, name="api_annul"),
    path("api/scan/vehicle/", api_views.api_vehicle, name="api_vehicle"),
    path("checkin/<slug:code>/<slug:token>/", checkin_views.self_checkin, name="self_checkin"),
    # --- monitoring screens ---
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("active/", active_views.active, name="active"),
    path("active/evacuation/", active_views.evacuation, name="evacuation"),
    path("active/<int:driver_id>/check-out/", active_views.check_out, name="check_out"),
    path("follow/", follow_views.follow, name="follow"),
    path("banned/", banned_views.banned, name="banned"),
    path("banned/<int:driver_id>/ban/", banned_views.ban, name="ban"),
    path("banned/<int:driver_id>/unban/", banned_views.unban, name="unban"),
    path("history/", history_views.history, name="history"),
    path("history/export/", history_views.history_export, name="history_export"),
    # --- registration, badges, import, media ---
    path("drivers/", register_views.driver_list, name="driver_list"),
    path("drivers/new/", register_views.register, name="register"),
    path("drivers/<int:pk>/edit/", register_views.edit, name="edit"),
    path("drivers/<int:pk>/badge/", badge_views.badge, name="badge"),
    path("drivers/badges/", badge_views.badge_sheet, name="badge_sheet"),
    path("drivers/<int:pk>/reissue/", badge_views.reissue, name="reissue"),
    path("drivers/import/", import_views.import_view, name="import"),
    path("drivers/import/<int:pk>/", import_views.job_view, name="import_job"),
    path("drivers/import/<int:pk>/report.csv", import_views.job_report, name="import_job_report"),
    path("my-badge/", badge_views.my_badge, name="my_badge"),
    path("media/<path:path>", media_views.media, name="media"),
    # --- documents and turnaround ---
    path("drivers/<int:pk>/documents/", document_views.driver_documents, name="driver_documents"),
    path("documents/expiring/", document_views.expiring, name="documents_expiring"),
    path("reports/turnaround/", report_views.turnaround, name="turnaround"),
]
