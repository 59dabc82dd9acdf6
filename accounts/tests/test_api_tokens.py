"""API tokens: shown once, stored hashed, revocable, last-used time."""

import pytest
from django.contrib import messages
from django.core.management import call_command

from accounts.models import ApiToken, Role, hash_token
from accounts.services import create_api_token, revoke_api_token, token_user
from conftest import make_user

pytestmark = pytest.mark.django_db


def test_a_token_is_stored_only_as_its_hash_and_finds_its_user(supervisor):
    token, key = create_api_token(user=supervisor, name="ERP", scope="read")
    assert key not in str(ApiToken.objects.values_list().get())
    assert token.key_hash == hash_token(key)
    user, found = token_user(key)
    assert user == supervisor and found == token
    found.refresh_from_db()
    assert found.last_used_at is not None


def test_a_revoked_or_unknown_token_finds_nobody(supervisor):
    token, key = create_api_token(user=supervisor, name="ERP", scope="write")
    revoke_api_token(token=token)
    assert token_user(key) is None
    assert token_user("qrg_nonsense") is None
    assert token_user("") is None


def test_a_token_of_a_deactivated_user_finds_nobody(db):
    user = make_user("erp", Role.SUPERVISOR)
    _, key = create_api_token(user=user, name="ERP")
    user.is_active = False
    user.save()
    assert token_user(key) is None


def test_the_command_prints_the_token_once(supervisor, capsys):
    call_command("create_api_token", "--user", supervisor.username, "--scope", "write")
    key = capsys.readouterr().out.strip()
    user, token = token_user(key)
    assert user == supervisor and token.scope == "write"


def test_an_administrator_creates_a_token_in_the_admin_and_sees_it_once(client, admin_user, supervisor):
    client.force_login(admin_user)
    page = client.post("/admin/accounts/apitoken/add/", {"user": supervisor.pk, "name": "ERP", "scope": "read"},
                       follow=True)
    assert page.status_code == 200
    token = ApiToken.objects.get()
    shown = [str(m) for m in page.context["messages"] if m.level == messages.WARNING]
    assert len(shown) == 1
    key = shown[0][shown[0].index("qrg_"):].split()[0]
    assert token.key_hash == hash_token(key) and token.user == supervisor
    client.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
