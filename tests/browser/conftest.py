"""Real Chromium (Debian's) driven by Playwright against pytest-django's live server.

Without /usr/bin/chromium these tests skip with a message, except in CI
(QRGATE_REQUIRE_BROWSER=1), where a missing browser is a failure.
"""

import os
import shutil
import time
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls beside it are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Not under test-results/: pytest-playwright empties that folder at the start of every run.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-screenshots"


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("QRGATE_REQUIRE_BROWSER"):
        raise pytest.UsageError(f"Chromium not found at {CHROMIUM}: install Debian's chromium package.")
    skip = pytest.mark.skip(reason="Chromium not installed (apt-get install chromium); browser tests skipped")
    for item in items:
        if "browser" in str(item.fspath):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "es-MX", "viewport": {"width": 1280, "height": 800}}


@pytest.fixture
def screenshot_dir():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def wait_for_js(page, expression: str, timeout_ms: int = 15000):
    """Poll a JavaScript expression until truthy. page.wait_for_function evaluates its
    predicate with eval inside the page, which the app's CSP (no 'unsafe-eval') refuses;
    page.evaluate goes through the debugging protocol and is not subject to it."""
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out waiting for: {expression}")
        page.wait_for_timeout(100)


@pytest.fixture
def login(live_server):
    """Log `page` in as `user` (password from conftest.make_user) through the real form."""

    def do(page, user):
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", "pw-" + user.username + "-123")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        return page

    return do
