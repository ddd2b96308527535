"""The encryption key of every sealed value (agent keys, Secret values): required without debug,
named in each ciphertext, rotatable with `manage.py reencrypt` (alias `reencrypt_agent_keys`),
and a reveal it cannot serve is a clear message."""

import base64
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from fibe_access import keyring
from fibe_access.accounts.actor import Actor, Source
from fibe_access.resources.models import Secret
from keys import services
from keys.models import ApiKey
from tests.resources.plaintext import assert_nowhere_in_the_database
from tests.support.factories import resource_make

BASE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


@pytest.fixture
def agent_key(user):
    return services.key_create(
        actor=Actor(user=user, source=Source.CLI),
        owner=user,
        label="Genie",
        scope_names=["agents:read"],
        is_agent=True,
    )


def _settings_import(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "API_KEY_"))}
    return subprocess.run(
        [sys.executable, "-c", "import fibe_access.settings"],
        env={**clean, **env},
        cwd=BASE,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_debug_the_encryption_key_is_required_at_start_up():
    run = _settings_import(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="s" * 50)
    assert run.returncode != 0
    assert "ImproperlyConfigured" in run.stderr
    assert "API_KEY_ENCRYPTION_KEY must be set" in run.stderr
    assert "urlsafe_b64encode(os.urandom(32))" in run.stderr
    ok = _settings_import(
        DJANGO_DEBUG="0", DJANGO_SECRET_KEY="s" * 50, API_KEY_ENCRYPTION_KEY=new_key()
    )
    assert ok.returncode == 0, ok.stderr
    # development (make run's env file has debug on) may derive one from the secret key
    assert _settings_import(DJANGO_DEBUG="1", DJANGO_SECRET_KEY="s" * 50).returncode == 0


def test_each_ciphertext_names_its_key(agent_key):
    key, token = agent_key
    assert key.encrypted_token.startswith(f"v2:{keyring.current_key_id()}:")
    assert token not in key.encrypted_token


def _quiet(command: str) -> None:
    call_command(command, stdout=open(os.devnull, "w"))  # noqa: SIM115


def test_old_keys_still_decrypt_and_the_command_moves_everything_to_the_new_one(
    agent_key, user, settings, stepped_up_client
):
    # given an agent key and two Secret values sealed under the key about to be retired
    key, token = agent_key
    secrets = [resource_make(Secret, user, value=f"vault-value-{n}") for n in range(2)]
    old = settings.API_KEY_ENCRYPTION_KEY
    settings.API_KEY_ENCRYPTION_KEY = new_key()
    settings.API_KEY_ENCRYPTION_OLD_KEYS = [old]
    # the old key still opens them
    page = stepped_up_client.post(f"/profile/api-keys/{key.pk}/reveal/")
    assert token.encode() in page.content
    assert Secret.objects.get(pk=secrets[0].pk).revealed_value() == "vault-value-0"
    # when the command runs
    out = StringIO()
    call_command("reencrypt", stdout=out)
    assert "keys.ApiKey.encrypted_token: re-encrypted 1" in out.getvalue()
    assert "resources.Secret.value: re-encrypted 2" in out.getvalue()
    # then everything is under the new key, which alone opens it
    settings.API_KEY_ENCRYPTION_OLD_KEYS = []
    key.refresh_from_db()
    assert keyring.key_id_of(key.encrypted_token) == keyring.current_key_id()
    assert keyring.decrypt(key.encrypted_token, context=key.digest) == token
    for n, secret in enumerate(Secret.objects.order_by("pk")):
        assert keyring.key_id_of(secret.value) == keyring.current_key_id()
        assert secret.revealed_value() == f"vault-value-{n}"
    assert_nowhere_in_the_database(token, "vault-value-0", "vault-value-1")
    # and a second run finds nothing to move
    again = StringIO()
    call_command("reencrypt", stdout=again)
    assert "resources.Secret.value: re-encrypted 0, already current 2" in again.getvalue()


def test_the_former_command_name_moves_everything_too(agent_key, user, settings):
    key, _ = agent_key
    secret = resource_make(Secret, user, value="vault-value")
    settings.API_KEY_ENCRYPTION_OLD_KEYS = [settings.API_KEY_ENCRYPTION_KEY]
    settings.API_KEY_ENCRYPTION_KEY = new_key()
    _quiet("reencrypt_agent_keys")
    key.refresh_from_db()
    secret.refresh_from_db()
    assert keyring.key_id_of(key.encrypted_token) == keyring.current_key_id()
    assert keyring.key_id_of(secret.value) == keyring.current_key_id()


def test_legacy_v1_ciphertexts_are_moved_too(agent_key, settings):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, token = agent_key
    raw = base64.urlsafe_b64decode(settings.API_KEY_ENCRYPTION_KEY)
    nonce = os.urandom(12)
    sealed = AESGCM(raw).encrypt(nonce, token.encode(), key.digest.encode())
    ApiKey.objects.filter(pk=key.pk).update(
        encrypted_token="v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()
    )
    _quiet("reencrypt")
    key.refresh_from_db()
    assert key.encrypted_token.startswith("v2:")
    assert keyring.decrypt(key.encrypted_token, context=key.digest) == token


def test_reveal_after_the_key_changed_without_the_old_one_is_a_message_not_a_500(
    agent_key, settings, stepped_up_client
):
    key, token = agent_key
    settings.API_KEY_ENCRYPTION_KEY = new_key()
    response = stepped_up_client.post(f"/profile/api-keys/{key.pk}/reveal/", follow=True)
    assert response.status_code == 200
    assert b"encrypted with a key this server no longer has" in response.content
    assert token.encode() not in response.content
    with pytest.raises(CommandError, match="No configured key opens keys.ApiKey"):
        _quiet("reencrypt")
