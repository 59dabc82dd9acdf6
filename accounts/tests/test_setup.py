"""What a fresh database and a fresh `make run` give: roles, the first admin, clean migrations."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.models import Role, User

pytestmark = pytest.mark.django_db


def perms_of(group_name):
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


def test_migrations_create_the_four_role_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.ALL)


def test_the_booth_role_scans_and_registers_but_cannot_force_ban_or_export():
    perms = perms_of(Role.BOOTH)
    assert {"drivers.record_movement", "drivers.add_driver", "drivers.view_visit"} <= perms
    assert not perms & {"drivers.force_movement", "drivers.ban_driver", "drivers.export_history"}


def test_the_supervisor_role_forces_bans_and_exports():
    assert {"drivers.force_movement", "drivers.ban_driver", "drivers.export_history",
            "drivers.view_dashboard", "drivers.check_out_driver"} <= perms_of(Role.SUPERVISOR)


def test_the_driver_role_only_sees_his_badge_and_checks_himself_in():
    assert perms_of(Role.DRIVER) == {"drivers.self_check_in", "drivers.view_own_badge"}


def test_the_administrator_role_holds_every_gate_permission():
    assert {"drivers.record_movement", "drivers.force_movement", "drivers.ban_driver",
            "drivers.import_drivers", "accounts.change_user", "stations.add_station"} <= perms_of(Role.ADMIN)


def test_a_user_in_a_role_group_gets_its_permissions(caseta, chofer):
    assert caseta.has_perm("drivers.record_movement")
    assert not chofer.has_perm("drivers.record_movement")


def test_there_are_no_model_changes_without_a_migration():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_ensure_admin_creates_one_admin_with_a_generated_password_printed_once(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    password = next(line.split(":", 1)[1].strip() for line in out.getvalue().splitlines() if "Password:" in line)
    admin = User.objects.get(is_superuser=True)
    assert admin.check_password(password) and admin.groups.filter(name=Role.ADMIN).exists()
    again = io.StringIO()
    call_command("ensure_admin", stdout=again)
    assert User.objects.filter(is_superuser=True).count() == 1 and "Password" not in again.getvalue()


def test_ensure_admin_takes_the_credentials_from_the_environment(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "jefe_it")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Correcto-Caballo-42")
    call_command("ensure_admin", stdout=io.StringIO())
    assert User.objects.get(username="jefe_it").check_password("Correcto-Caballo-42")
