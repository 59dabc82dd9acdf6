from django.urls import path

from . import views

app_name = "stations"

urlpatterns = [
    path("stations/<slug:code>/qr/", views.station_qr, name="station_qr"),
    path("stations/<slug:code>/kiosk/", views.kiosk, name="kiosk"),
    path("stations/<slug:code>/kiosk/code/", views.kiosk_code, name="kiosk_code"),
]
