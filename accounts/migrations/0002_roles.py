"""The plant's role groups and their permissions, so a fresh database already has them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "Caseta": [
        "drivers.record_movement",
        "drivers.annul_movement",
        "drivers.add_driver",
        "drivers.view_driver",
        "drivers.view_visit",
        "stations.view_station",
    ],
    "Supervisor": [
        "drivers.record_movement",
        "drivers.force_movement",
        "drivers.annul_movement",
        "drivers.add_driver",
        "drivers.change_driver",
        "drivers.view_driver",
        "drivers.view_visit",
        "drivers.check_out_driver",
        "drivers.view_movement",
        "drivers.view_refusedscan",
        "drivers.view_dashboard",
        "drivers.export_history",
        "drivers.view_ban",
        "drivers.ban_driver",
        "drivers.reissue_badge",
        "stations.view_station",
    ],
    "Chofer": [
        "drivers.self_check_in",
        "drivers.view_own_badge",
    ],
}
# The administrator's group holds every permission of the project's apps and of auth.
ADMIN_APPS = ("accounts", "stations", "drivers", "auth")


def create_roles(apps, schema_editor):
    # Permissions are normally made after migrate; make them now so the groups can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    assign_roles(apps)


def assign_roles(apps):
    """Create the groups and give them their permissions (also used by tests after a flush)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perm(dotted):
        app_label, codename = dotted.split(".")
        return Permission.objects.get(content_type__app_label=app_label, codename=codename)

    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set([perm(p) for p in perms])
    admin, _ = Group.objects.get_or_create(name="Administrador")
    admin.permissions.set(Permission.objects.filter(content_type__app_label__in=ADMIN_APPS))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=["Administrador", "Caseta", "Supervisor", "Chofer"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("drivers", "0001_initial"),
        ("stations", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
