from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("history/saved/", views.save_filter, name="save_filter"),
    path("history/saved/<int:pk>/", views.apply_filter, name="apply_filter"),
    path("history/saved/<int:pk>/delete/", views.delete_filter, name="delete_filter"),
    path("history/saved/<int:pk>/schedule/", views.schedule, name="schedule"),
    path("reports/runs/<int:pk>/download/", views.download, name="download"),
]
