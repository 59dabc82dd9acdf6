"""The Spanish admin: every list and form opens, and the actions ask for a reason."""

import pytest
from django.contrib import admin
from django.urls import reverse

from drivers.models import Ban, RevokedBadge
from drivers.services import record_scan

pytestmark = pytest.mark.django_db


@pytest.fixture
def some_history(driver, stations, caseta):
    record_scan(code=driver.badge_code, station=stations["entry"], operator=caseta)
    record_scan(code="X", station=stations["entry"], operator=caseta)


@pytest.mark.parametrize("model", [m for m in admin.site._registry], ids=lambda m: m._meta.label)
def test_every_admin_list_and_form_opens_in_spanish(client, admin_user, some_history, model):
    client.force_login(admin_user)
    opts = model._meta
    changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200
    assert changelist.headers["Content-Language"] == "es"
    obj = model._default_manager.first()
    if obj is not None:
        change = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert change.status_code == 200


def test_the_ban_action_asks_for_a_reason_then_bans(client, admin_user, driver):
    client.force_login(admin_user)
    url = reverse("admin:drivers_driver_changelist")
    asked = client.post(url, {"action": "ban_drivers", "_selected_action": [driver.pk]})
    assert asked.status_code == 200 and b'name="reason"' in asked.content
    assert not Ban.objects.exists()
    client.post(url, {"action": "ban_drivers", "_selected_action": [driver.pk], "apply": "1",
                      "reason": "Robo de combustible"})
    ban = Ban.objects.get()
    assert ban.driver == driver and ban.reason == "Robo de combustible" and ban.banned_by == admin_user


def test_the_reissue_action_revokes_the_old_badge(client, admin_user, driver):
    client.force_login(admin_user)
    old = driver.badge_code
    client.post(reverse("admin:drivers_driver_changelist"),
                {"action": "reissue_badges", "_selected_action": [driver.pk], "apply": "1", "reason": "Perdido"})
    driver.refresh_from_db()
    revoked = RevokedBadge.objects.get()
    assert driver.badge_code != old and revoked.code == old
    assert revoked.reason == "Perdido" and revoked.revoked_by == admin_user


def test_a_licence_typed_in_the_admin_is_normalized_as_in_the_registration_form(client, admin_user, driver):
    client.force_login(admin_user)
    taken = driver.license_number  # e.g. LIC000001
    spaced = taken[:3].lower() + " " + taken[3:]
    response = client.post(reverse("admin:drivers_driver_add"), {
        "full_name": "Otro  Chofer", "license_number": spaced, "company": "Fletes", "phone": "",
        "plate": "abc 1", "notes": "", "user": "",
        "bans-TOTAL_FORMS": "0", "bans-INITIAL_FORMS": "0", "bans-MIN_NUM_FORMS": "0", "bans-MAX_NUM_FORMS": "1000",
    })
    assert response.status_code == 200  # the form comes back: this licence is taken
    assert type(driver).objects.filter(license_number__iexact=taken).count() == 1
