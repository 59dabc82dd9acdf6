from django.contrib import admin
from django.urls import include, path

from accounts.views import home

from . import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("drivers.views.api_v1")),
    path("", include("accounts.urls")),
    path("", include("stations.urls")),
    path("", include("drivers.urls")),
    path("", include("reports.urls")),
    path("", include("musters.urls")),
]

handler403 = "accounts.views.forbidden"
handler404 = "qrgate.views.not_found"
handler500 = "qrgate.views.server_error"
