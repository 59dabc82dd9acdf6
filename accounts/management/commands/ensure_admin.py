"""Create the first administrator, once. Used by `make run` and deploy/install.sh."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Role


class Command(BaseCommand):
    help = (
        "Create the first administrator when no superuser exists: DJANGO_SUPERUSER_USERNAME / "
        "DJANGO_SUPERUSER_PASSWORD when set, otherwise 'admin' with a generated password printed once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password-file", help="Also write the generated password to this file (mode 0600).")

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            self.stdout.write("Administrator already exists; nothing to do.")
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=username, password=password, email="")
        user.groups.add(Group.objects.get(name=Role.ADMIN))
        if generated:
            if options.get("password_file"):
                path = options["password_file"]
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as fh:
                    fh.write(f"{username}\n{password}\n")
            self.stdout.write(self.style.WARNING(
                "\n" + "=" * 60
                + f"\n  First administrator created.\n  User:     {username}\n  Password: {password}\n"
                "  Write it down now: it is shown only this once.\n" + "=" * 60 + "\n"
            ))
        else:
            self.stdout.write(f"Administrator '{username}' created from the environment.")
