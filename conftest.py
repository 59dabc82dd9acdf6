"""Shared test fixtures: one named user per role, one station per kind, a driver factory."""

import functools
import importlib
import itertools

import pytest
from django.contrib.auth.models import Group
from django.core import management
from django.db.backends.base.creation import BaseDatabaseCreation

from accounts.models import Role
from drivers.models import Driver
from stations.models import Station, StationKind

_seq = itertools.count(1)


def _migrate_only(create_test_db):
    """Django's test database setup runs `createcachetable` after `migrate`; a plant's
    database gets `migrate` alone (install.sh, an upgrade, a restore). Build the test
    database as a plant's is built, so that a table `migrate` does not make fails here."""

    @functools.wraps(create_test_db)
    def wrapper(self, *args, **kwargs):
        call_command = management.call_command

        def without_createcachetable(name, *a, **kw):
            if name != "createcachetable":
                return call_command(name, *a, **kw)

        management.call_command = without_createcachetable
        try:
            return create_test_db(self, *args, **kwargs)
        finally:
            management.call_command = call_command

    return wrapper


BaseDatabaseCreation.create_test_db = _migrate_only(BaseDatabaseCreation.create_test_db)


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    # Tests do not run collectstatic; the manifest storage would fail on every {% static %}.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def ensure_roles():
    """The role groups come from a data migration, which a transactional test's flush wipes."""
    if Group.objects.filter(name__in=Role.ALL).count() == len(Role.ALL):
        return
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():  # a flush may have taken the permissions too
        create_permissions(app_config, verbosity=0)
    importlib.import_module("accounts.migrations.0002_roles").assign_roles(apps)
    importlib.import_module("musters.migrations.0002_roles").assign(apps)


def make_user(username, *roles, **extra):
    from accounts.models import User

    ensure_roles()

    user = User.objects.create_user(username=username, password="pw-" + username + "-123", **extra)
    user.groups.set(Group.objects.filter(name__in=roles))
    return user


@pytest.fixture
def admin_user(db):
    user = make_user("admin1", Role.ADMIN, is_staff=True, is_superuser=True)
    return user


@pytest.fixture
def administrador(db):
    """An Administrador by group (staff, not superuser)."""
    return make_user("jefe", Role.ADMIN, is_staff=True)


@pytest.fixture
def caseta(db):
    return make_user("caseta1", Role.BOOTH)


@pytest.fixture
def supervisor(db):
    return make_user("super1", Role.SUPERVISOR)


@pytest.fixture
def chofer(db):
    return make_user("chofer1", Role.DRIVER)


@pytest.fixture
def role_users(db, administrador, caseta, supervisor, chofer):
    return {"Administrador": administrador, "Caseta": caseta, "Supervisor": supervisor, "Chofer": chofer}


@pytest.fixture
def sup(client, supervisor):
    """The test client, logged in as the supervisor."""
    client.force_login(supervisor)
    return client


def query_plan(sql: str, params=()) -> str:
    """The database's plan for `sql`; PostgreSQL told to avoid sequential scans, which it
    rightly prefers on a test's tiny tables, so the plan shows whether an index can serve."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row) for row in cursor.fetchall())


@pytest.fixture
def stations(db):
    return {
        kind: Station.objects.create(name=f"{label} 1", code=code, kind=kind, sort_order=i)
        for i, (kind, label, code) in enumerate(
            [
                (StationKind.ENTRY, "Entrada", "E1"),
                (StationKind.EXIT, "Salida", "S1"),
                (StationKind.GATE, "Puerta", "G1"),
                (StationKind.CHECKPOINT, "Báscula", "C1"),
            ]
        )
    }


@pytest.fixture
def make_driver(db):
    def factory(**fields):
        n = next(_seq)
        fields.setdefault("full_name", f"Juan Pérez {n}")
        fields.setdefault("license_number", f"LIC{n:06d}")
        fields.setdefault("company", "Transportes del Norte")
        fields.setdefault("plate", f"ABC-{n:03d}")
        return Driver.objects.create(**fields)

    return factory


@pytest.fixture
def driver(make_driver):
    return make_driver(full_name="José Ramírez", company="Fletes Ramírez")


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # PBKDF2's default rounds cost about a second per test user; tests need no strong hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

