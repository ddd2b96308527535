"""Wiring a key: login stores it 0600 in a 0700 folder and never prints it; the environment
wins over the file; status says where the key came from; logout removes it; a refused or
malformed key fails cleanly without being echoed."""

import json
import stat
from datetime import timedelta

from django.utils import timezone

from fibe_access.resources.models import Playspec
from tests.support.factories import resource_make

from .conftest import assert_clean_failure


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_login_stores_the_key_0600_and_prints_no_token(fibe, make_token, owner):
    token = make_token("playspecs:read", label="laptop")

    result = fibe.login(token)

    assert result.code == 0, result
    assert "laptop" in result.err and owner.email in result.err
    assert token not in result.text and token[:-4] not in result.text
    assert _mode(fibe.config) == 0o600
    assert _mode(fibe.config.parent) == 0o700
    assert token in fibe.config.read_text()
    # and later commands use it with no key in the environment
    listed = fibe("playspecs", "list", "--json")
    assert listed.code == 0, listed


def test_login_under_a_permissive_umask_still_writes_0600_in_0700(fibe, make_token):
    result = fibe("auth", "login", "--with-token", input=make_token("playspecs:read"), umask=0)

    assert result.code == 0, result
    assert _mode(fibe.config) == 0o600
    assert _mode(fibe.config.parent) == 0o700


def test_login_prompt_does_not_echo_the_key(fibe, make_token):
    token = make_token("playspecs:read")

    result = fibe.terminal("auth", "login", answer=("API key", token))

    assert result.code == 0, result
    assert "Logged in" in result.out
    assert token not in result.out and token[:-4] not in result.out
    assert _mode(fibe.config) == 0o600


def test_login_without_a_terminal_or_with_token_is_a_usage_error(fibe):
    result = fibe("auth", "login", input="")

    assert_clean_failure(result, 2)
    assert "--with-token" in result.err
    assert not fibe.config.exists()


def test_a_key_is_never_accepted_as_an_argument(fibe, make_token):
    token = make_token("playspecs:read")

    for args in (["auth", "login", "--token", token], ["auth", "login", token]):
        result = fibe(*args, input="")
        assert_clean_failure(result, 2, token)
    assert not fibe.config.exists()


def test_login_with_a_refused_key_stores_nothing_and_does_not_echo_it(fibe, make_token):
    token = make_token("playspecs:read")
    wrong = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]

    result = fibe.login(wrong)

    assert_clean_failure(result, 4, wrong)
    assert "Nothing was stored" in result.err
    assert not fibe.config.exists()


def test_status_shows_label_scopes_restrictions_expiry_and_source_never_the_token(
    fibe, make_token, owner
):
    spec = resource_make(Playspec, owner)
    expires = timezone.now() + timedelta(days=30)
    token = make_token(
        "playspecs:read",
        "launch:write",
        label="ci deploy",
        expires_at=expires,
        restrictions={"playspecs": [spec.pk]},
    )
    fibe.login(token)

    result = fibe("auth", "status")

    assert result.code == 0, result
    for shown in ("ci deploy", "playspecs:read", "launch:write", f"playspecs: {spec.pk}"):
        assert shown in result.out
    assert expires.date().isoformat() in result.out
    assert str(fibe.config) in result.out  # where the key came from
    assert f"…{token[-4:]}" in result.out
    assert token not in result.text and token[:-4] not in result.text

    as_json = fibe("auth", "status", "--json")
    assert as_json.code == 0, as_json
    data = json.loads(as_json.out)
    assert data["key_source"] == str(fibe.config)
    assert data["restrictions"] == {"playspecs": [spec.pk]}
    assert token not in as_json.text


def test_the_environment_wins_over_the_stored_key(fibe, make_token, other_user):
    mine = make_token("playspecs:read", label="stored one")
    theirs = make_token("playspecs:read", label="from the environment", for_user=other_user)
    fibe.login(mine)

    result = fibe("auth", "status", env={"FIBE_API_KEY": theirs})

    assert result.code == 0, result
    assert "from the environment" in result.out and "FIBE_API_KEY" in result.out
    assert "stored one" not in result.out
    assert theirs not in result.text and theirs[:-4] not in result.text


def test_a_stored_key_is_not_sent_to_another_server(fibe, make_token):
    token = make_token("playspecs:read")
    fibe.login(token)

    result = fibe("playspecs", "list", env={"FIBE_API_URL": "http://127.0.0.1:9"})

    assert_clean_failure(result, 4, token)
    assert "stored key is for" in result.err


def test_widened_permissions_are_warned_about(fibe, make_token):
    fibe.login(make_token("playspecs:read"))
    fibe.config.chmod(0o644)

    result = fibe("playspecs", "list")

    assert result.code == 0, result
    assert "warning" in result.err and "chmod 600" in result.err


def test_logout_removes_the_file_and_then_commands_say_how_to_log_in(fibe, make_token):
    token = make_token("playspecs:read")
    fibe.login(token)

    result = fibe("auth", "logout")

    assert result.code == 0, result
    assert not fibe.config.exists()
    after = fibe("playspecs", "list")
    assert_clean_failure(after, 4, token)
    assert "fibe auth login" in after.err


def test_no_key_at_all_says_how_to_log_in(fibe):
    for args in (["whoami"], ["auth", "status"], ["playgrounds", "list", "--json"]):
        result = fibe(*args)
        assert_clean_failure(result, 4)
        assert "fibe auth login" in result.err and "FIBE_API_KEY" in result.err


def test_a_bad_key_in_the_environment_fails_without_being_echoed(fibe, make_token):
    real = make_token("playspecs:read")
    unknown = real[:-6] + ("A" if real[-6] != "A" else "B") + real[-5:]
    malformed = "fibe_" + "x" * 20 + " with spaces\n" + "y" * 20

    for bad in (unknown, "not-a-fibe-token-at-all-0123456789", malformed):
        result = fibe("playspecs", "list", env={"FIBE_API_KEY": bad})
        assert_clean_failure(result, 4, bad.strip())
        assert "FIBE_API_KEY" in result.err
        assert "fibe auth login" in result.err


def test_whoami_json_is_the_keys_own_description(fibe, make_token, owner):
    fibe.login(make_token("playgrounds:read", label="whoami key"))

    result = fibe("whoami", "--json")

    assert result.code == 0, result
    data = json.loads(result.out)  # stdout holds only JSON
    assert data["label"] == "whoami key"
    assert data["owner_email"] == owner.email
    assert data["scopes"] == ["playgrounds:read"]
