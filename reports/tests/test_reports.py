"""Saved history filters and scheduled reports."""

import io
import re
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError
from django.utils import timezone
from django.utils.html import escape
from openpyxl import load_workbook

from conftest import make_user
from accounts.models import Role
from drivers.models import Movement
from drivers.services import record_scan
from reports import services
from reports.models import Period, ReportRun, ReportSchedule, SavedFilter

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Linked reports are kept in the media storage: a folder of the test's own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def plant(*args) -> datetime:
    """An aware datetime on the plant's clock (America/Mexico_City in the tests)."""
    return timezone.make_aware(datetime(*args))


@pytest.fixture
def boss(db):
    return make_user("gerente", Role.SUPERVISOR, email="gerente@plant.example")


@pytest.fixture
def history(make_driver, stations, caseta, settings):
    """Three accepted entries at E1 last week (Mon 2026-11-23 .. Sun 11-29), one this week."""
    settings.SCAN_DUPLICATE_WINDOW_SECONDS = 0
    for day in (23, 25, 29, 30):
        movement = record_scan(code=make_driver().badge_code, station=stations["entry"], operator=caseta).movement
        Movement.objects.filter(pk=movement.pk).update(at=plant(2026, 11, day, 10, 0))
    return stations


def test_relative_periods_are_whole_plant_days():
    wednesday = date(2026, 12, 2)
    assert services.resolve_period(Period.YESTERDAY, wednesday) == (date(2026, 12, 1), date(2026, 12, 1))
    assert services.resolve_period(Period.LAST_7_DAYS, wednesday) == (date(2026, 11, 26), wednesday)
    assert services.resolve_period(Period.THIS_WEEK, wednesday) == (date(2026, 11, 30), wednesday)
    assert services.resolve_period(Period.LAST_WEEK, wednesday) == (date(2026, 11, 23), date(2026, 11, 29))
    assert services.resolve_period(Period.THIS_MONTH, wednesday) == (date(2026, 12, 1), wednesday)
    assert services.resolve_period(Period.LAST_MONTH, wednesday) == (date(2026, 11, 1), date(2026, 11, 30))
    assert services.resolve_period(Period.LAST_MONTH, date(2026, 1, 15)) == (date(2025, 12, 1), date(2025, 12, 31))


def test_a_supervisor_saves_the_current_filters_with_relative_dates(sup, supervisor, stations):
    query = f"station={stations['entry'].pk}&direction=in&date_from=2026-01-01&page=3"
    response = sup.post("/history/saved/", {"query": query, "name": "  Báscula,  semana pasada ",
                                            "period": Period.LAST_WEEK, "shared": "on"})
    saved = SavedFilter.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/history/saved/{saved.pk}/"
    assert saved.owner == supervisor and saved.name == "Báscula, semana pasada" and saved.shared
    # The fixed date gives way to the period; the page number is no filter.
    assert saved.query == {"station": str(stations["entry"].pk), "direction": "in"}
    assert saved.period == Period.LAST_WEEK


def test_invalid_filters_or_an_empty_name_save_nothing(sup):
    sup.post("/history/saved/", {"query": "date_from=ayer", "name": "Malo"})
    sup.post("/history/saved/", {"query": "direction=in", "name": "   "})
    assert not SavedFilter.objects.exists()


def test_a_saved_filter_opens_the_history_with_its_dates_resolved_today(sup, supervisor, stations):
    saved = services.save_filter(by=supervisor, name="Ayer", query={"direction": "in"}, period=Period.YESTERDAY)
    response = sup.get(f"/history/saved/{saved.pk}/")
    assert response.status_code == 302
    query = parse_qs(urlparse(response["Location"]).query)
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert query["date_from"] == [yesterday] and query["date_to"] == [yesterday] and query["direction"] == ["in"]


def test_the_menu_shows_own_and_shared_filters_not_others_private_ones(sup, supervisor, boss):
    services.save_filter(by=supervisor, name="Mío", query={})
    services.save_filter(by=boss, name="Compartido", query={}, shared=True)
    private = services.save_filter(by=boss, name="Privado", query={})
    page = sup.get("/history/").content.decode()
    assert "Mío" in page and "Compartido" in page and "Privado" not in page
    assert sup.get(f"/history/saved/{private.pk}/").status_code == 404


def test_only_the_owner_schedules_or_deletes_a_filter(sup, boss):
    shared = services.save_filter(by=boss, name="Compartido", query={}, shared=True)
    assert sup.get(f"/history/saved/{shared.pk}/schedule/").status_code == 404
    assert sup.post(f"/history/saved/{shared.pk}/delete/").status_code == 404
    assert SavedFilter.objects.filter(pk=shared.pk).exists()


def test_the_owner_schedules_a_weekly_report_from_its_page(sup, supervisor, boss):
    saved = services.save_filter(by=supervisor, name="Semanal", query={}, period=Period.LAST_WEEK)
    response = sup.post(f"/history/saved/{saved.pk}/schedule/", {
        "frequency": "weekly", "weekday": "0", "hour": "7", "format": "xlsx",
        "subscribers": [boss.pk], "is_active": "on"})
    assert response.status_code == 302
    schedule = ReportSchedule.objects.get()
    assert (schedule.frequency, schedule.weekday, schedule.hour) == ("weekly", 0, 7)
    assert list(schedule.subscribers.all()) == [boss]
    # A weekly report without its day is refused and changes nothing.
    response = sup.post(f"/history/saved/{saved.pk}/schedule/", {
        "frequency": "weekly", "weekday": "", "hour": "9", "format": "csv", "subscribers": [boss.pk]})
    assert response.status_code == 200
    schedule.refresh_from_db()
    assert schedule.hour == 7 and schedule.format == "xlsx"


def test_a_user_without_an_email_cannot_subscribe(supervisor, boss):
    saved = services.save_filter(by=supervisor, name="X", query={})
    no_mail = make_user("sinmail", Role.SUPERVISOR)
    with pytest.raises(ValidationError):
        services.schedule_report(saved=saved, by=supervisor, frequency="daily", hour=7, subscribers=[no_mail])
    assert not ReportSchedule.objects.exists()


def weekly(owner, subscriber, *, fmt="xlsx", period=Period.LAST_WEEK, query=None, created=None):
    saved = services.save_filter(by=owner, name="Báscula, semana pasada", query=query or {}, period=period)
    schedule = services.schedule_report(saved=saved, by=owner, frequency="weekly", weekday=0, hour=7,
                                        fmt=fmt, subscribers=[subscriber])
    ReportSchedule.objects.filter(pk=schedule.pk).update(created_at=created or plant(2026, 11, 24))
    return schedule


def test_a_weekly_report_arrives_by_email_once_at_its_time(supervisor, boss, history, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DATA_DIR = tmp_path
    query = {"station": str(history["entry"].pk)}
    schedule = weekly(supervisor, boss, query=query)
    out = io.StringIO()

    call_command("send_scheduled_reports", now="2026-11-30T06:59", stdout=out)  # Monday, before 07:00
    assert mail.outbox == [] and "0 report(s) due" in out.getvalue()  # last Monday's time is before it existed
    call_command("send_scheduled_reports", now="2026-11-30T07:03", stdout=out)
    call_command("send_scheduled_reports", now="2026-11-30T07:08", stdout=out)  # the timer, 5 minutes later

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["gerente@plant.example"] and "Báscula, semana pasada" in message.subject
    name, content, content_type = message.attachments[0]
    assert name.endswith(".xlsx") and "2026-11-23" in name and "2026-11-29" in name
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    assert len(list(sheet.iter_rows(min_row=2))) == 3  # last week's three, not this Monday's
    run = ReportRun.objects.get()
    assert run.schedule == schedule and run.due_at == plant(2026, 11, 30, 7, 0) and run.rows == 3
    assert run.sent_to == ["gerente@plant.example"] and run.attached and run.error == ""
    assert (run.date_from, run.date_to) == (date(2026, 11, 23), date(2026, 11, 29))

    call_command("send_scheduled_reports", now="2026-12-07T07:01", stdout=out)  # the next Monday
    assert len(mail.outbox) == 2 and ReportRun.objects.count() == 2


def test_dry_run_lists_what_is_due_and_sends_nothing(supervisor, boss, history, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DATA_DIR = tmp_path
    weekly(supervisor, boss)
    out = io.StringIO()
    call_command("send_scheduled_reports", "--dry-run", now="2026-11-30T08:00", stdout=out)
    assert out.getvalue().startswith("Dry run: 1 report(s) due") and "Báscula" in out.getvalue()
    assert mail.outbox == [] and not ReportRun.objects.exists()


def test_each_scheduled_time_has_at_most_one_run(supervisor, boss):
    schedule = weekly(supervisor, boss)
    ReportRun.objects.create(schedule=schedule, due_at=plant(2026, 11, 30, 7))
    with pytest.raises(IntegrityError):
        ReportRun.objects.create(schedule=schedule, due_at=plant(2026, 11, 30, 7))


def test_the_scheduled_hour_is_the_plants(supervisor, boss):
    saved = services.save_filter(by=supervisor, name="Noche", query={})
    schedule = services.schedule_report(saved=saved, by=supervisor, frequency="daily", hour=20, subscribers=[boss])
    # 20:00 in Mexico City is 02:00 UTC the next day.
    utc = dt_timezone.utc
    assert services.last_due(schedule, datetime(2026, 12, 2, 2, 30, tzinfo=utc)) == plant(2026, 12, 1, 20, 0)
    assert services.last_due(schedule, datetime(2026, 12, 2, 1, 59, tzinfo=utc)) == plant(2026, 11, 30, 20, 0)


def test_a_large_report_goes_as_a_link_that_works_only_for_its_subscriber(
        client, supervisor, boss, history, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DATA_DIR = tmp_path
    settings.REPORT_ATTACH_MAX_BYTES = 100
    weekly(supervisor, boss, fmt="csv")
    call_command("send_scheduled_reports", now="2026-11-30T07:05", stdout=io.StringIO())
    message = mail.outbox[0]
    assert message.attachments == []
    link = re.search(r"https?://\S+", message.body).group(0)
    path = urlparse(link).path + "?" + urlparse(link).query
    run = ReportRun.objects.get()
    assert not run.attached and run.rows == 3

    client.force_login(boss)
    response = client.get(path)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode("utf-8-sig").count("\n") == 1 + 3
    client.force_login(supervisor)  # the owner, but not the one this link was made for
    assert client.get(path).status_code == 404
    settings.REPORT_LINK_MAX_AGE = -1  # expired
    client.force_login(boss)
    assert client.get(path).status_code == 404


def test_a_large_report_made_by_one_app_server_downloads_from_another_never_from_media(
        client, caseta, supervisor, boss, history, settings, tmp_path, media_root):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DATA_DIR = tmp_path / "server-a"
    settings.REPORT_ATTACH_MAX_BYTES = 100
    weekly(supervisor, boss, fmt="csv")
    call_command("send_scheduled_reports", now="2026-11-30T07:05", stdout=io.StringIO())
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0)
    run = ReportRun.objects.get()
    assert (media_root / f"reports/run-{run.pk}.csv").is_file()  # the shared place
    assert not any((tmp_path / "server-a").rglob("run-*"))  # nothing left on server A

    settings.DATA_DIR = tmp_path / "server-b"  # the link opened on the other app server
    client.force_login(boss)
    response = client.get(urlparse(link).path + "?" + urlparse(link).query)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).decode("utf-8-sig").count("\n") == 1 + 3
    # The photo view serves drivers' files only: a booth cannot read the report through it.
    client.force_login(caseta)
    assert client.get(f"/media/reports/run-{run.pk}.csv").status_code == 404

    # Once its link has expired, the file goes.
    later = timezone.now() + timedelta(seconds=settings.REPORT_LINK_MAX_AGE + 60)
    assert services.prune_files(later) == 1
    assert not (media_root / f"reports/run-{run.pk}.csv").exists()


def test_a_failed_run_is_listed_with_its_error_on_the_page(sup, supervisor, boss, history, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DATA_DIR = tmp_path
    schedule = weekly(supervisor, boss, query={"station": str(history["entry"].pk)})
    SavedFilter.objects.filter(pk=schedule.saved_filter_id).update(query={"station": "999999"})
    out = io.StringIO()
    call_command("send_scheduled_reports", now="2026-11-30T07:05", stdout=out)
    assert "1 failed" in out.getvalue() and mail.outbox == []
    run = ReportRun.objects.get()
    assert "no longer valid" in run.error or "ya no son válidos" in run.error
    page = sup.get(f"/history/saved/{schedule.saved_filter_id}/schedule/").content.decode()
    assert escape(run.error) in page and "2026-11-30 07:00" in page


def test_every_run_is_listed_in_the_admin(client, admin_user, supervisor, boss, history, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DATA_DIR = tmp_path
    weekly(supervisor, boss)
    call_command("send_scheduled_reports", now="2026-11-30T07:05", stdout=io.StringIO())
    client.force_login(admin_user)
    page = client.get("/admin/reports/reportrun/").content.decode()
    assert "gerente@plant.example" in page and "Báscula, semana pasada" in page
    assert client.get("/admin/reports/savedfilter/").status_code == 200


def test_every_refusal_of_the_report_services_carries_a_code(supervisor, boss):
    """As the scan's ScanError: a caller can tell the refusals apart without reading the text."""
    no_export = make_user("sinexport", Role.BOOTH, email="caseta@plant.example")
    saved = services.save_filter(by=supervisor, name="Semana", query={})

    def code(call, **kw):
        with pytest.raises(ValidationError) as error:
            call(**kw)
        return error.value.code

    assert code(services.schedule_report, saved=saved, by=supervisor, frequency="daily", hour=7,
                subscribers=[no_export]) == "subscriber_not_allowed"
    assert code(services.schedule_report, saved=saved, by=supervisor, frequency="weekly", hour=7,
                subscribers=[boss]) == "weekday_required"
    assert code(services.schedule_report, saved=saved, by=boss, frequency="daily", hour=7) == "not_owner"
    assert code(services.delete_filter, saved=saved, by=boss) == "not_owner"
    assert code(services.save_filter, by=supervisor, name="  ", query={}) == "name_required"
    assert code(services.save_filter, by=supervisor, name="X", query={}, period="someday") == "invalid_period"
    assert code(services.save_filter, by=supervisor, name="X", query={"station": "999999"}) == "invalid_filters"
    assert not ReportSchedule.objects.exists() and SavedFilter.objects.count() == 1

