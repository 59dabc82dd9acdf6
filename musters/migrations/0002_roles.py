"""Marshals (Caseta, Supervisor, Administrador) may mark people safe; Supervisor and
Administrador also start and close roll calls and account people for by hand."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Caseta": ["mark_muster"],
    "Supervisor": ["mark_muster", "manage_muster"],
    "Administrador": ["mark_muster", "manage_muster"],
}


def assign(apps):
    """Give the role groups their roll call permissions (also used by tests after a flush)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="musters", codename__in=codenames))


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    assign(apps)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="musters", codename__in=["mark_muster", "manage_muster"])
    for group in Group.objects.filter(name__in=GRANTS):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [
        ("musters", "0001_initial"),
        ("accounts", "0005_admin_integration_permissions"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
