"""The agent-key encryption key: required without debug, named in each ciphertext, rotatable
with `manage.py reencrypt_agent_keys`, and a reveal it cannot serve is a clear message."""

import base64
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from fibe_access import keyring
from fibe_access.accounts.actor import Actor, Source
from keys import services
from keys.models import ApiKey

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


def test_old_keys_still_decrypt_and_the_command_moves_everything_to_the_new_one(
    agent_key, settings, stepped_up_client
):
    key, token = agent_key
    old = settings.API_KEY_ENCRYPTION_KEY
    settings.API_KEY_ENCRYPTION_KEY = new_key()
    settings.API_KEY_ENCRYPTION_OLD_KEYS = [old]
    page = stepped_up_client.post(f"/profile/api-keys/{key.pk}/reveal/")
    assert token.encode() in page.content
    call_command("reencrypt_agent_keys", stdout=open(os.devnull, "w"))  # noqa: SIM115
    key.refresh_from_db()
    assert keyring.key_id_of(key.encrypted_token) == keyring.current_key_id()
    settings.API_KEY_ENCRYPTION_OLD_KEYS = []
    assert keyring.decrypt(key.encrypted_token, context=key.digest) == token


def test_legacy_v1_ciphertexts_are_moved_too(agent_key, settings):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key, token = agent_key
    raw = base64.urlsafe_b64decode(settings.API_KEY_ENCRYPTION_KEY)
    nonce = os.urandom(12)
    sealed = AESGCM(raw).encrypt(nonce, token.encode(), key.digest.encode())
    ApiKey.objects.filter(pk=key.pk).update(
        encrypted_token="v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()
    )
    call_command("reencrypt_agent_keys", stdout=open(os.devnull, "w"))  # noqa: SIM115
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
    with pytest.raises(CommandError, match="No configured key opens"):
        call_command("reencrypt_agent_keys", stdout=open(os.devnull, "w"))  # noqa: SIM115
