"""The Administrador group holds every permission of the project's apps, the new ones too
(webhooks, deliveries, outbox events, API tokens: created after 0002 gave it the rest)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMIN_APPS = ("accounts", "stations", "drivers", "auth")


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="Administrador")
    admin.permissions.add(*Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_alerts_api_tokens"),
        ("stations", "0003_webhooks_outbox"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
