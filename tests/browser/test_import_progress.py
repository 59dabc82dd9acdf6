"""An administrator imports a list of 10 000 drivers and watches it go in the background.

The import worker is driven from the test, one chunk at a time (importjobs.steps, the loop of
manage.py run_imports), so each assertion sees a known number of rows written; the page
follows by its own polling, never reloaded, and can be left and found again.
"""

import csv
import io

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from drivers import importjobs
from drivers.models import Driver, ImportJob

from .conftest import wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = 10_000
NBSP = "\xa0"  # Spanish groups thousands with a (non-breaking) space: 10 000


def drivers_csv(path):
    """10 000 data rows: 9 998 drivers (the first 100 already registered with another
    company, so updated) and two rows to refuse: no licence, and a licence repeated."""
    lines = ["nombre;licencia;empresa;telefono"]
    lines += [f"Chofer {i};LIC{i:07d};Empresa {i % 9};81{i:08d}" for i in range(ROWS - 2)]
    lines += ["Sin Licencia;;Transportes del Norte;", "Otro Chofer;LIC0000005;Fletes Sur;"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def bar(page):
    return page.evaluate("(() => { const p = document.getElementById('import-progress');"
                         " return p ? [p.value, p.max] : null; })()")


def figures(page):
    return page.inner_text("#import-figures")


def test_a_ten_thousand_row_import_shows_its_progress_and_can_be_left_and_found_again(
    page, live_server, login, administrador, make_driver, tmp_path, screenshot_dir
):
    for i in range(0, 100):
        make_driver(full_name=f"Chofer {i}", license_number=f"LIC{i:07d}", company="Vieja")
    upload = drivers_csv(tmp_path / "choferes_planta.csv")

    login(page, administrador)
    page.goto(live_server.url + reverse("drivers:import"))
    page.set_input_files("#id_file", str(upload))
    page.click("#check-import")
    expect(page.locator("#import-report")).to_contain_text("Revisar antes de importar")
    expect(page.locator("#apply-import")).to_contain_text("Importar 9998 choferes")
    page.click("#apply-import")
    page.wait_for_url("**/drivers/import/*/")
    job = ImportJob.objects.get()
    assert (job.status, job.total_rows, job.created_by) == (ImportJob.Status.QUEUED, ROWS, administrador)
    expect(page.locator("#import-job h2")).to_have_text("Esperando al proceso de importación…")
    assert bar(page) == [0, ROWS]
    # A mark that a navigation would wipe: every later figure must come from the page's own polling.
    page.evaluate("window.stayedOnPage = true")

    claimed, token = importjobs.claim()
    steps = importjobs.steps(claimed, token)
    assert next(steps) == 500
    wait_for_js(page, "document.getElementById('import-progress').value === 500")
    expect(page.locator("#import-job h2")).to_have_text("Importando…")
    expect(page.locator("#import-figures")).to_contain_text("5 %")
    expect(page.locator("#import-figures")).to_contain_text(f"500 de 10{NBSP}000 filas")
    assert next(steps) == 1000
    wait_for_js(page, "document.getElementById('import-progress').value === 1000")
    expect(page.locator("#import-figures")).to_contain_text(f"1{NBSP}000 de 10{NBSP}000 filas")
    text = figures(page)
    assert "10 %" in text and ("faltan aproximadamente" in text or "falta aproximadamente" in text), text
    assert page.evaluate("window.stayedOnPage === true")
    # 1 000 rows, 100 of them updates of the drivers already registered.
    expect(page.locator(".count-create strong")).to_have_text("900")
    expect(page.locator(".count-update strong")).to_have_text("100")
    page.screenshot(path=str(screenshot_dir / "import_progress_mid.png"), full_page=True)

    # The administrator leaves; the worker goes on without him.
    page.goto(live_server.url + reverse("drivers:driver_list"))
    for _ in range(3):
        next(steps)
    page.goto(live_server.url + reverse("drivers:import"))
    row = page.locator("#import-jobs tbody tr", has_text="choferes_planta.csv")
    expect(row).to_contain_text("importando")
    expect(row).to_contain_text(f"2{NBSP}500 / 10{NBSP}000")
    assert page.evaluate("document.querySelector('#import-jobs tbody tr progress').value") == 2500
    page.screenshot(path=str(screenshot_dir / "import_progress_list.png"), full_page=True)
    row.get_by_role("link", name="choferes_planta.csv").click()
    page.wait_for_url(f"**/drivers/import/{job.pk}/")
    assert bar(page) == [2500, ROWS]
    page.evaluate("window.stayedOnPage = true")

    assert list(steps)[-1] == ROWS  # the rest, chunk by chunk, then the job is finished
    wait_for_js(page, "document.getElementById('import-job').dataset.status === 'done'")
    assert page.evaluate("window.stayedOnPage === true")
    expect(page.locator("#import-job h2")).to_have_text("Importación terminada")
    expect(page.locator("#import-job")).to_contain_text(f"10{NBSP}000 de 10{NBSP}000 filas")
    expect(page.locator(".count-create strong")).to_have_text(f"9{NBSP}898")
    expect(page.locator(".count-update strong")).to_have_text("100")
    expect(page.locator(".count-refuse strong")).to_have_text("2")
    expect(page.locator(".import-counts")).to_contain_text("creados")
    expect(page.locator("#refused-rows tbody tr")).to_have_count(2)
    expect(page.locator("#refused-rows")).to_contain_text("La licencia LIC0000005 está repetida")
    assert bar(page) is None and not page.is_visible("text=Puede salir de esta página")
    page.screenshot(path=str(screenshot_dir / "import_progress_done.png"), full_page=True)
    assert Driver.objects.count() == 100 + 9_898

    with page.expect_download() as info:
        page.click("#import-report-download")
    download = info.value
    assert download.suggested_filename == f"importacion-{job.pk}.csv"
    table = list(csv.reader(io.StringIO(open(download.path(), "rb").read().decode("utf-8-sig"))))
    assert table[0] == ["Fila", "Acción", "Licencia", "Nombre", "Motivo"]
    assert len(table) == 1 + ROWS
    assert table[1][:4] == ["2", "actualizado", "LIC0000000", "Chofer 0"]
    assert table[101][:4] == ["102", "creado", "LIC0000100", "Chofer 100"]
    assert [r[1] for r in table[-2:]] == ["rechazado", "rechazado"]
    assert "LIC0000005" in table[-1][4]
