"""The lockout holds against parallel guesses: real requests, at once, to a live server."""

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher

from accounts.models import AuthEvent
from conftest import make_user

pytestmark = pytest.mark.django_db(transaction=True)


class CountingHasher(MD5PasswordHasher):
    """Counts password checks, each slow enough for parallel requests to overlap."""

    algorithm = "counting_md5"
    checks = 0
    _lock = threading.Lock()

    def verify(self, password, encoded):
        with CountingHasher._lock:
            CountingHasher.checks += 1
        time.sleep(0.3)
        return super().verify(password, encoded)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a successful login answers 302: keep it


class Browser:
    """One client of its own: a cookie jar and the CSRF token of the login page."""

    def __init__(self, base):
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirects)

    def open_login(self):
        self.opener.open(self.base + "/login/", timeout=30).read()
        self.token = next(c.value for c in self.jar if c.name == "csrftoken")

    def post_login(self, username, password):
        data = urllib.parse.urlencode(
            {"username": username, "password": password, "csrfmiddlewaretoken": self.token}
        ).encode()
        request = urllib.request.Request(self.base + "/login/", data=data, headers={"Referer": self.base + "/login/"})
        try:
            return self.opener.open(request, timeout=60).status
        except urllib.error.HTTPError as error:
            return error.code


def guess_at_once(base, username, passwords):
    browsers = [Browser(base) for _ in passwords]
    for browser in browsers:
        browser.open_login()
    start = threading.Barrier(len(browsers))
    statuses = [None] * len(browsers)

    def run(i):
        start.wait()
        statuses[i] = browsers[i].post_login(username, passwords[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return statuses


@pytest.fixture
def counted(settings):
    settings.PASSWORD_HASHERS = ["accounts.tests.test_lockout_race.CountingHasher"]
    settings.LOGIN_MAX_FAILURES = 3
    CountingHasher.checks = 0
    return CountingHasher


def test_ten_simultaneous_wrong_passwords_get_no_more_password_checks_than_the_limit(live_server, counted):
    make_user("caseta1", "Caseta")
    counted.checks = 0
    statuses = guess_at_once(live_server.url, "caseta1", [f"guess-{i}" for i in range(10)])
    assert counted.checks <= 3, f"{counted.checks} password checks for 10 parallel guesses"
    assert all(status in (200, 429) for status in statuses), statuses
    assert statuses.count(429) >= 7
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOCKOUT, username="caseta1").count() == 1


def test_the_right_password_among_parallel_guesses_of_a_locked_account_is_refused(live_server, counted):
    make_user("caseta1", "Caseta")
    guess_at_once(live_server.url, "caseta1", [f"guess-{i}" for i in range(5)])
    counted.checks = 0
    statuses = guess_at_once(live_server.url, "caseta1", ["pw-caseta1-123"] * 3)
    assert statuses == [429, 429, 429]
    assert counted.checks == 0
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGIN).exists()
