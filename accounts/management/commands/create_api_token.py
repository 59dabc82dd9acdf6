"""Create an API token for an integration and print it once.

    manage.py create_api_token --user erp --scope read --name "ERP"

The token acts as the user, within the scope (read: GET only; write: also POST scans).
Only its SHA-256 is stored: copy it from the output, it cannot be shown again. Revoke it
in the admin (API tokens).
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.models import TokenScope
from accounts.services import create_api_token


class Command(BaseCommand):
    help = "Create an API token (read or write scope) for a user and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Username the token acts as.")
        parser.add_argument("--scope", choices=TokenScope.values, default=TokenScope.READ)
        parser.add_argument("--name", default="", help="Who uses it, e.g. ERP (default: the scope).")

    def handle(self, *args, **options):
        user = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"No active user named {options['user']!r}.")
        token, key = create_api_token(user=user, name=options["name"], scope=options["scope"])
        self.stdout.write(key)
        self.stderr.write(f"Token {token.prefix}… ({token.scope}) for {user.username}: shown only now.")
