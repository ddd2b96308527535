from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from fibe_access.accounts.models import SecurityEvent
from fibe_access.resources.models import Playspec
from keys import tokens
from keys.models import ApiKey
from tests.support.factories import resource_make


def run(*args) -> str:
    out = StringIO()
    call_command("createapikey", *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_creates_a_restricted_expiring_key_and_prints_its_token_once(user, api_client):
    spec = resource_make(Playspec, user)
    # when an operator bootstraps a CI key from the shell
    token = run(
        user.email.upper(),
        "--label",
        "CI",
        "--scope",
        "launch:write",
        "--restrict",
        f"playspecs:{spec.pk}",
        "--expires",
        "2099-12-31",
    )
    # then the printed token is the key's, which works on the API
    key = ApiKey.objects.get(digest=tokens.digest(token))
    assert key.owner == user and key.label == "CI"
    assert key.restrictions == {"playspecs": [spec.pk]}
    assert key.expires_at.year == 2099
    assert SecurityEvent.objects.filter(
        user=user, kind="key_created", detail__source="cli"
    ).exists()
    response = api_client(token).post(
        f"/api/v1/playspecs/{spec.pk}/launch", {}, content_type="application/json"
    )
    assert response.status_code == 201


def test_agent_flag_makes_an_agent_key(user):
    token = run(user.email, "--label", "genie", "--scope", "agents:read", "--agent")
    assert ApiKey.objects.get(digest=tokens.digest(token)).is_agent


@pytest.mark.parametrize(
    "args, message",
    [
        (["nobody@example.com", "--label", "x", "--scope", "agents:read"], "No account"),
        (["{email}", "--label", "x", "--scope", "agents:admin"], "Unknown scope"),
        (
            ["{email}", "--label", "x", "--scope", "launch:write", "--restrict", "playspecs:99999"],
            "No playspecs with ID 99999",
        ),
        (
            ["{email}", "--label", "x", "--scope", "launch:write", "--restrict", "playspecs"],
            "FAMILY:ID",
        ),
        (
            ["{email}", "--label", "x", "--scope", "agents:read", "--expires", "tomorrow"],
            "YYYY-MM-DD",
        ),
        (
            ["{email}", "--label", "x", "--scope", "agents:read", "--expires", "2001-01-01"],
            "future",
        ),
        (["{email}", "--label", "", "--scope", "agents:read"], "label"),
    ],
)
def test_clear_errors_and_no_key_for_bad_input(user, args, message):
    args = [a.replace("{email}", user.email) for a in args]
    with pytest.raises(CommandError) as excinfo:
        run(*args)
    assert message in str(excinfo.value)
    assert not ApiKey.objects.exists()


def test_restriction_to_another_accounts_playspec_is_refused(user, other_user):
    theirs = resource_make(Playspec, other_user)
    with pytest.raises(CommandError, match=f"No playspecs with ID {theirs.pk}"):
        run(
            user.email,
            "--label",
            "x",
            "--scope",
            "launch:write",
            "--restrict",
            f"playspecs:{theirs.pk}",
        )
