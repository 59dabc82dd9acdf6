"""Import jobs: the confirmed file is imported by the worker in chunks, with progress a page
shows, a per-row report, and a worker that dies found out and resumed or failed."""

import csv
import io
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from drivers import importjobs
from drivers.models import Driver, ImportJob, ImportJobReport

pytestmark = pytest.mark.django_db

Status = ImportJob.Status


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def administrador(administrador):
    administrador.language = "en"  # the pages in English, as the assertions read
    administrador.save()
    return administrador


def drivers_file(n, start=0, extra=""):
    lines = ["nombre;licencia;empresa;telefono"]
    lines += [f"Chofer {i};LIC{i:07d};Empresa {i % 9};81{i:08d}" for i in range(start, start + n)]
    return ("\n".join(lines) + extra).encode()


def queue(data, by=None, name="choferes.csv"):
    from drivers.importing import parse

    return importjobs.start_import(data=data, filename=name, total_rows=len(parse(data).rows), by=by)


def test_the_worker_imports_in_chunks_and_the_progress_moves(administrador, monkeypatch):
    monkeypatch.setattr(importjobs, "CHUNK_ROWS", 100)
    job = queue(drivers_file(350, extra="\nSin Licencia;;Empresa;\n=HYPERLINK(1);LIC9;=cmd|x;abc\n"), by=administrador)
    assert job.status == Status.QUEUED and job.total_rows == 352 and Driver.objects.count() == 0

    claimed, token = importjobs.claim()
    seen = []
    for done in importjobs.steps(claimed, token):
        job.refresh_from_db()
        seen.append((job.rows_done, job.status, job.percent))
        assert Driver.objects.count() == job.created  # each chunk committed with its progress
    assert seen == [(100, Status.RUNNING, 28), (200, Status.RUNNING, 57), (300, Status.RUNNING, 85),
                    (352, Status.RUNNING, 100)]
    job.refresh_from_db()
    assert job.status == Status.DONE and job.finished_at and bytes(job.data) == b""
    assert (job.created, job.updated, job.unchanged, job.refused) == (350, 0, 0, 2)
    assert [r[1] for r in job.rows[-2:]] == ["refuse", "refuse"] and "licencia" in job.rows[-2][4]
    # Each chunk added its own part of the report (no chunk rewrote the rows before it).
    parts = ImportJobReport.objects.filter(job=job).values_list("first_row", flat=True)
    assert list(parts) == [0, 100, 200, 300]


def test_the_estimate_follows_the_rate_of_the_current_run():
    now = timezone.now()
    job = ImportJob(status=Status.RUNNING, total_rows=1000, rows_done=400, run_rows_start=200,
                    run_started_at=now - timedelta(seconds=10))
    assert job.seconds_left(now) == 30  # 200 rows in 10 s, 600 to go
    job.rows_done = 200
    assert job.seconds_left(now) is None  # nothing written yet in this run


def test_a_job_whose_worker_died_is_resumed_after_the_last_chunk(monkeypatch):
    monkeypatch.setattr(importjobs, "CHUNK_ROWS", 100)
    job = queue(drivers_file(250))
    claimed, token = importjobs.claim()
    steps = importjobs.steps(claimed, token)
    next(steps)  # one chunk committed, then the worker is killed
    steps.close()
    assert importjobs.claim() is None  # its heartbeat is fresh: still taken for alive
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))

    assert importjobs.run_once().status == Status.DONE
    job.refresh_from_db()
    assert job.attempts == 2 and job.rows_done == 250 and job.created == 250
    assert Driver.objects.count() == 250 and len(job.rows) == 250  # nothing twice, nothing missed


def test_a_job_that_keeps_dying_is_failed_with_a_message(monkeypatch):
    monkeypatch.setattr(importjobs, "CHUNK_ROWS", 100)
    job = queue(drivers_file(250))
    ImportJob.objects.filter(pk=job.pk).update(
        status=Status.RUNNING, attempts=importjobs.MAX_ATTEMPTS, rows_done=100, worker="dead",
        heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert importjobs.run_once() is None
    job.refresh_from_db()
    assert job.status == Status.FAILED and "100 of 250 rows were imported" in job.error


def test_a_worker_taken_for_dead_writes_no_chunk_after_the_takeover(monkeypatch):
    monkeypatch.setattr(importjobs, "CHUNK_ROWS", 100)
    job = queue(drivers_file(250))
    first, old_token = importjobs.claim()
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    second, token = importjobs.claim()
    with pytest.raises(importjobs.LostClaim):
        next(importjobs.steps(first, old_token))
    assert Driver.objects.count() == 0
    importjobs.run_job(second, token)
    job.refresh_from_db()
    assert job.status == Status.DONE and Driver.objects.count() == 250


def test_ten_thousand_rows_in_the_worker(make_driver):
    for i in range(0, 400, 4):  # a hundred already registered, with another company
        make_driver(full_name=f"Chofer {i}", license_number=f"LIC{i:07d}", company="Vieja")
    job = queue(drivers_file(10_000))
    started = time.perf_counter()
    importjobs.run_once()
    elapsed = time.perf_counter() - started
    print(f"\n10 000 rows in the worker: {elapsed:.2f} s")
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created, job.updated) == (Status.DONE, 10_000, 9_900, 100)
    assert Driver.objects.count() == 10_000
    assert elapsed < 60  # generous for slow CI; the print shows the real figure


# --- the pages ---------------------------------------------------------------------------

def test_the_page_shows_the_progress_and_polls_cheaply(client, administrador):
    job = queue(drivers_file(30), by=administrador)
    client.force_login(administrador)
    url = reverse("drivers:import_job", args=[job.pk])
    html = client.get(url).content.decode()
    assert "Waiting for the import worker" in html and 'hx-trigger="every 1s"' in html
    ImportJob.objects.filter(pk=job.pk).update(status=Status.RUNNING, rows_done=10, run_rows_start=0,
                                               run_started_at=timezone.now() - timedelta(seconds=120),
                                               heartbeat_at=timezone.now())
    response = client.get(url, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert '<progress id="import-progress" max="30" value="10">' in html and "10 of 30 rows" in html
    # 20 rows left at 5 a minute: a loaded machine's delay does not change the figure.
    assert "about 4 minutes left" in html
    marker = response.context["marker"]
    assert client.get(url + f"?since={marker}", HTTP_HX_REQUEST="true").status_code == 204

    ImportJob.objects.filter(pk=job.pk).update(status=Status.QUEUED, rows_done=0)  # the test's pretence ends
    importjobs.run_once()
    html = client.get(url + f"?since={marker}", HTTP_HX_REQUEST="true").content.decode()
    assert "Import done" in html and "hx-trigger" not in html  # the poll stops


def test_the_import_page_lists_the_recent_jobs_running_first(client, administrador):
    done = queue(drivers_file(3), by=administrador, name="lunes.csv")
    importjobs.run_once()
    queue(drivers_file(3, start=10), by=administrador, name="martes.csv")
    client.force_login(administrador)
    html = client.get(reverse("drivers:import")).content.decode()
    assert html.index("martes.csv") < html.index("lunes.csv")
    assert reverse("drivers:import_job", args=[done.pk]) in html


def test_another_users_job_is_hidden_unless_he_is_an_administrator(client, administrador, supervisor):
    from django.contrib.auth.models import Permission

    from conftest import make_user

    job = queue(drivers_file(3), by=administrador)
    url = reverse("drivers:import_job", args=[job.pk])
    importer = make_user("importador")  # given the permission alone, not an administrator
    importer.user_permissions.add(Permission.objects.get(codename="import_drivers"))
    client.force_login(importer)
    assert client.get(url).status_code == 404
    assert client.get(reverse("drivers:import_job_report", args=[job.pk])).status_code == 404
    assert "choferes.csv" not in client.get(reverse("drivers:import")).content.decode()
    client.force_login(supervisor)
    assert client.get(url).status_code == 403
    colleague = make_user("jefe2", "Administrador", is_staff=True)
    client.force_login(colleague)
    assert client.get(url).status_code == 200


def test_the_report_download_is_formula_safe(client, administrador):
    job = queue(drivers_file(1, extra="\n=HYPERLINK(1);LIC9;=cmd|x;abc\n"), by=administrador)
    importjobs.run_once()
    client.force_login(administrador)
    response = client.get(reverse("drivers:import_job_report", args=[job.pk]))
    table = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert table[0] == ["Row", "Action", "Licence", "Name", "Reason"]
    assert table[1][:4] == ["2", "created", "LIC0000000", "Chofer 0"]
    assert table[2][3] == "'=HYPERLINK(1)" and table[2][1] == "refused"


def test_a_spanish_uploader_reads_the_job_and_its_reasons_in_spanish(client, administrador):
    administrador.language = "es"
    administrador.save()
    job = queue(drivers_file(1200, extra="\nOtro Chofer;LIC0000001;Empresa;\n"), by=administrador)
    importjobs.run_once()  # the worker itself runs in English (this module's override)
    job.refresh_from_db()
    assert "ya la tiene" in job.rows[-1][4]  # the repeated licence's reason, in his language
    client.force_login(administrador)
    html = client.get(reverse("drivers:import_job", args=[job.pk])).content.decode()
    # Thousands grouped as Spanish writes them.
    assert "Importación terminada" in html and "1\xa0201 de 1\xa0201 filas" in html
    assert "Descargar el informe (CSV)" in html
    report = client.get(reverse("drivers:import_job_report", args=[job.pk])).content.decode("utf-8-sig")
    assert report.splitlines()[0] == "Fila,Acción,Licencia,Nombre,Motivo"

    failing = queue(drivers_file(3), by=administrador)
    ImportJob.objects.filter(pk=failing.pk).update(
        status=Status.RUNNING, attempts=importjobs.MAX_ATTEMPTS, worker="dead",
        heartbeat_at=timezone.now() - timedelta(minutes=5))
    importjobs.run_once()
    failing.refresh_from_db()
    assert failing.status == Status.FAILED and "Se importaron 0 de 3 filas" in failing.error


def test_finished_imports_are_deleted_after_the_retention_by_the_worker(client, administrador, settings,
                                                                          monkeypatch):
    from io import StringIO
    from threading import Event

    from django.core.management import call_command

    settings.IMPORT_JOBS_KEEP_DAYS = 30
    now = timezone.now()

    def finished(name, days_ago, status=Status.DONE):
        job = queue(drivers_file(3, start=len(name) * 10), by=administrador, name=name)
        importjobs.run_once()
        ImportJob.objects.filter(pk=job.pk).update(status=status, finished_at=now - timedelta(days=days_ago))
        return job

    old = finished("viejo.csv", 31)
    old_failed = finished("fallido.csv", 45, Status.FAILED)
    recent = finished("reciente.csv", 29)
    waiting = queue(drivers_file(3, start=500), by=administrador, name="en_espera.csv")
    ImportJob.objects.filter(pk=waiting.pk).update(created_at=now - timedelta(days=90))  # never taken: kept

    client.force_login(administrador)
    assert "viejo.csv" in client.get(reverse("drivers:import")).content.decode()
    stop = Event()
    run_once = importjobs.run_once

    def one_pass(*args):
        stop.set()
        return run_once()

    monkeypatch.setattr(importjobs, "run_once", one_pass)
    monkeypatch.setattr(importjobs, "close_old_connections", lambda: None)  # the test's own connection
    importjobs.run(stop, poll=0)  # the worker's loop, once: it prunes as it starts
    monkeypatch.setattr(importjobs, "run_once", run_once)
    assert set(ImportJob.objects.values_list("filename", flat=True)) == {"reciente.csv", "en_espera.csv"}
    assert not ImportJobReport.objects.filter(job_id__in=[old.pk, old_failed.pk]).exists()
    assert ImportJob.objects.get(pk=waiting.pk).status == Status.DONE  # and then imported what waited
    html = client.get(reverse("drivers:import")).content.decode()
    assert "viejo.csv" not in html and "fallido.csv" not in html and "reciente.csv" in html
    assert client.get(reverse("drivers:import_job", args=[old.pk])).status_code == 404
    assert client.get(reverse("drivers:import_job_report", args=[old_failed.pk])).status_code == 404

    settings.IMPORT_JOBS_KEEP_DAYS = 7
    out = StringIO()
    call_command("run_imports", "--once", stdout=out)
    assert "0 imports run; 1 old imports deleted" in out.getvalue()
    assert set(ImportJob.objects.values_list("filename", flat=True)) == {"en_espera.csv"}  # finished today

