"""Login, lockout by account and address, sessions, the security log, landing and language."""

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuthEvent, LoginCounter
from conftest import make_user

pytestmark = pytest.mark.django_db

LOGIN = "/login/"


def attempt(client, username, password, ip="10.0.0.5"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def good_password(user):
    return "pw-" + user.username + "-123"


def test_the_login_page_is_in_spanish_by_default(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    assert 'lang="es"' in response.content.decode()


def test_a_wrong_password_says_so_and_is_logged(client, caseta):
    response = attempt(client, "caseta1", "nope")
    assert response.status_code == 200
    assert SESSION_KEY not in client.session
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOGIN_FAILED)
    assert (event.username, event.ip, event.path) == ("caseta1", "10.0.0.5", LOGIN)


def test_it_locks_the_account_at_that_address_after_the_maximum_failures(client, caseta, settings):
    settings.LOGIN_MAX_FAILURES = 3
    settings.LOGIN_LOCKOUT_MINUTES = 15
    for _ in range(2):
        assert attempt(client, "caseta1", "nope").status_code == 200
    response = attempt(client, "caseta1", "nope")
    assert response.status_code == 429
    assert "15" in response.content.decode()  # "locked ... for 15 minutes"
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOCKOUT, username="caseta1").count() == 1
    # Even the right password is refused while locked, and the lock is said again.
    response = attempt(client, "caseta1", good_password(caseta))
    assert response.status_code == 429 and SESSION_KEY not in client.session
    assert "15" in response.content.decode()


def test_the_lock_does_not_touch_other_booths_at_the_same_address(client, caseta, settings):
    settings.LOGIN_MAX_FAILURES = 2
    other = make_user("caseta2", "Caseta")
    for _ in range(2):
        attempt(client, "caseta1", "nope")
    response = attempt(client, "caseta2", good_password(other))
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(other.pk)


def test_the_lock_does_not_touch_the_same_account_at_another_address(client, caseta, settings):
    settings.LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        attempt(client, "caseta1", "nope", ip="10.0.0.5")
    response = attempt(client, "caseta1", good_password(caseta), ip="10.0.0.9")
    assert response.status_code == 302


def test_the_lock_ends_after_the_lockout_minutes(client, caseta, settings):
    settings.LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        attempt(client, "caseta1", "nope")
    LoginCounter.objects.update(last_at=timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES, seconds=1))
    assert attempt(client, "caseta1", good_password(caseta)).status_code == 302


def test_a_successful_login_forgets_earlier_failures(client, caseta, settings):
    settings.LOGIN_MAX_FAILURES = 3
    attempt(client, "caseta1", "nope")
    attempt(client, "caseta1", "nope")
    assert attempt(client, "caseta1", good_password(caseta)).status_code == 302
    client.post("/logout/")
    attempt(client, "caseta1", "nope")
    attempt(client, "caseta1", "nope")
    assert attempt(client, "caseta1", good_password(caseta)).status_code == 302


def test_the_admin_login_obeys_the_same_lockout(client, admin_user, settings):
    settings.LOGIN_MAX_FAILURES = 2
    for _ in range(2):
        client.post("/admin/login/", {"username": "admin1", "password": "x"}, REMOTE_ADDR="10.0.0.5")
    response = client.post("/admin/login/", {"username": "admin1", "password": good_password(admin_user)},
                           REMOTE_ADDR="10.0.0.5")
    assert response.status_code == 200 and SESSION_KEY not in client.session


def test_login_gives_a_new_session_id(client, supervisor):
    client.get(LOGIN)
    session = client.session
    session["before"] = "x"
    session.save()
    before = session.session_key
    attempt(client, "super1", good_password(supervisor))
    assert client.session.session_key != before
    assert client.session[SESSION_KEY] == str(supervisor.pk)


def test_login_and_logout_are_logged_with_who_and_where(client, supervisor):
    attempt(client, "super1", good_password(supervisor), ip="10.1.2.3")
    client.post("/logout/", REMOTE_ADDR="10.1.2.3")
    kinds = list(AuthEvent.objects.order_by("at", "id").values_list("kind", "user_id", "ip"))
    assert kinds == [("login", supervisor.pk, "10.1.2.3"), ("logout", supervisor.pk, "10.1.2.3")]


def test_the_idle_timeout_is_sized_for_a_shift_and_renewed_by_activity(client, caseta, settings):
    from django.contrib.sessions.models import Session

    assert 4 * 3600 <= settings.SESSION_COOKIE_AGE <= 24 * 3600
    client.force_login(caseta)
    client.get("/scan/")
    key = client.session.session_key
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + timedelta(minutes=30))
    session = client.session
    session["_renewed"] = 0  # last renewed long ago
    session.save()
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + timedelta(minutes=30))
    client.get("/scan/")
    renewed = Session.objects.get(pk=key).expire_date
    assert renewed > timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)
    # A second request right after does not write the session again.
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + timedelta(minutes=30))
    client.get("/scan/")
    assert Session.objects.get(pk=key).expire_date < timezone.now() + timedelta(minutes=31)


def test_deactivating_a_user_ends_his_session_at_the_next_request(client, supervisor):
    client.force_login(supervisor)
    assert client.get("/dashboard/").status_code == 200
    supervisor.is_active = False
    supervisor.save()
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_changing_his_password_ends_his_other_sessions(client, supervisor):
    from django.test import Client

    other = Client()
    other.force_login(supervisor)
    client.force_login(supervisor)
    response = client.post("/password/", {
        "old_password": good_password(supervisor),
        "new_password1": "Nueva-Clave-2026!",
        "new_password2": "Nueva-Clave-2026!",
    })
    assert response.status_code == 302
    assert client.get("/dashboard/").status_code == 200  # this session stays open
    response = other.get("/dashboard/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_a_password_change_with_the_wrong_old_password_is_refused(client, supervisor):
    client.force_login(supervisor)
    response = client.post("/password/", {
        "old_password": "wrong", "new_password1": "Nueva-Clave-2026!", "new_password2": "Nueva-Clave-2026!"})
    assert response.status_code == 200
    supervisor.refresh_from_db()
    assert supervisor.check_password(good_password(supervisor))


def test_a_forbidden_access_is_logged_and_answered_with_a_friendly_page(client, caseta):
    client.force_login(caseta)
    response = client.get("/history/", REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 403
    assert "menu" in response.content.decode().lower() or "menú" in response.content.decode().lower()
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.FORBIDDEN)
    assert (event.user, event.path, event.ip) == (caseta, "/history/", "10.0.0.7")


def test_a_booth_operator_lands_on_the_scan_screen(client, caseta):
    response = attempt(client, "caseta1", good_password(caseta))
    assert response.url == reverse("drivers:scan")
    assert client.get("/").status_code == 200  # the menu stays reachable


def test_a_supervisor_lands_on_the_menu(client, supervisor):
    response = attempt(client, "super1", good_password(supervisor))
    assert response.url == reverse("home")
    assert "Tablero" in client.get("/").content.decode() or "Dashboard" in client.get("/").content.decode()


def test_an_explicit_next_wins_over_the_landing(client, caseta):
    response = client.post(LOGIN + "?next=/active/", {
        "username": "caseta1", "password": good_password(caseta), "next": "/active/"})
    assert response.url == "/active/"


def test_a_user_picks_his_language(client, supervisor):
    client.force_login(supervisor)
    response = client.post("/language/", {"language": "en", "next": "/dashboard/"})
    assert response.status_code == 302 and response.url == "/dashboard/"
    supervisor.refresh_from_db()
    assert supervisor.language == "en"
    assert 'lang="en"' in client.get("/").content.decode()


def test_the_language_form_refuses_an_unknown_language(client, supervisor):
    client.force_login(supervisor)
    response = client.post("/language/", {"language": "xx"})
    assert response.status_code == 200
    supervisor.refresh_from_db()
    assert supervisor.language == ""


def test_the_language_form_never_redirects_off_site(client, supervisor):
    client.force_login(supervisor)
    response = client.post("/language/", {"language": "es", "next": "https://evil.example/"})
    assert response.url == reverse("home")


def test_behind_the_local_https_proxy_the_lockout_uses_the_phone_address_not_the_proxys(rf):
    from accounts.services import client_ip

    proxied = rf.get("/login/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.7, 192.168.1.40")
    assert client_ip(proxied) == "192.168.1.40"
    spoofed = rf.get("/login/", REMOTE_ADDR="192.168.1.99", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_ip(spoofed) == "192.168.1.99"
    garbage = rf.get("/login/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="<script>")
    assert client_ip(garbage) == "127.0.0.1"
