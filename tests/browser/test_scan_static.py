"""The scan screen as `make run` serves it: collectstatic with the production storage (hashed,
compressed files), DEBUG off, a real gunicorn. Its ES modules import each other by the hashed
names (qrgate/storage.py), so a browser never mixes an old cached module with a new one."""

import re

import pytest
from playwright.sync_api import expect

from bench import loadkit

pytestmark = pytest.mark.browser

SETUP = """
from drivers.models import Driver
from stations.models import Station, StationKind
Station.objects.create(name="Entrada", code="E1", kind=StationKind.ENTRY)
print("BADGE" + Driver.objects.create(full_name="Ana Estática", license_number="STAT001", company="Fletes").badge_code)
"""


def test_the_scan_screen_runs_from_collected_hashed_modules_with_debug_off(page, tmp_path):
    env = loadkit.plant_env(tmp_path)
    del env["STATICFILES_BACKEND"]  # the settings' default, as under `make run`
    loadkit.manage(env, "migrate", "--noinput", "-v0")
    loadkit.manage(env, "collectstatic", "--noinput", "-v0")
    loadkit.manage(env, "shell", "-c", loadkit.USERS_SCRIPT.format(n=1, password=loadkit.PASSWORD))
    badge = loadkit.manage(env, "shell", "-c", SETUP).split("BADGE", 1)[1].strip()

    problems, modules = [], []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    # A failed load is reported by the response below, with its address.
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)

    def seen(response):
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            problems.append(f"{response.status} {response.url}")
        if "/static/js/" in response.url:
            modules.append(response.url.rsplit("/static/", 1)[1])

    page.on("response", seen)
    with loadkit.Server(env, 1, tmp_path / "gunicorn.log") as server:
        base = f"http://127.0.0.1:{server.port}"
        page.goto(f"{base}/login/")
        page.fill("#id_username", "bench0")
        page.fill("#id_password", loadkit.PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{base}/scan/?station=E1")
        expect(page.locator("body")).to_have_attribute("data-pending", "0")  # main.js ran
        page.keyboard.type(badge, delay=8)
        page.keyboard.press("Enter")
        expect(page.locator("#scan-result")).to_have_class(re.compile(r"\blevel-entry\b"))
        expect(page.locator("#scan-recent .recent-movement")).to_have_count(1)

    assert not problems
    hashed = re.compile(r"^js/(scan/)?\w+\.[0-9a-f]{12}\.js$")
    assert {"main", "queue", "panel", "sounds"} <= {m.rsplit("/", 1)[-1].split(".")[0] for m in modules}
    assert all(hashed.match(m) for m in modules), modules
