from django.urls import path

from . import views

app_name = "musters"

urlpatterns = [
    path("muster/", views.index, name="index"),
    path("muster/start/", views.start, name="start"),
    path("muster/<int:roll_call_id>/", views.board, name="board"),
    path("muster/<int:roll_call_id>/live/", views.board_live, name="board_live"),
    path("muster/<int:roll_call_id>/close/", views.close, name="close"),
    path("muster/<int:roll_call_id>/account/", views.account_manual, name="account_manual"),
    path("muster/<int:roll_call_id>/report/", views.report, name="report"),
    path("api/muster/<int:roll_call_id>/mark/", views.api_mark, name="mark"),
]
