"""Rotation with an overlap: both tokens work, with every guarantee, until the old one stops."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from keys import services
from keys.models import ApiKey
from tests.support.factories import api_key_make

CLI = Actor(user=None, source=Source.CLI)
Kind = SecurityEvent.Kind


def status(api_client, token) -> int:
    return api_client(token).get("/api/v1/me").status_code


@pytest.mark.parametrize("overlap", ["1h", "24h", "7d"])
def test_both_tokens_work_during_the_overlap_and_only_the_new_one_after(user, api_client, overlap):
    # given a key rotated with an overlap
    key, old = api_key_make(user, "playgrounds:read")
    key, new = services.key_rotate(actor=CLI, key=key, overlap=overlap)
    # then both tokens answer during the window
    assert status(api_client, old) == 200
    assert status(api_client, new) == 200
    window = services.OVERLAPS[overlap]
    with time_machine.travel(timezone.now() + window - timedelta(seconds=30), tick=False):
        assert status(api_client, old) == 200
    # and after it the old one is refused, the new one still works
    with time_machine.travel(timezone.now() + window + timedelta(seconds=1), tick=False):
        response = api_client(old).get("/api/v1/me")
        assert response.status_code == 401
        assert "rotated" in response.json()["message"]
        assert status(api_client, new) == 200


def test_rotating_without_an_overlap_stops_the_old_token_at_once(user, api_client):
    key, old = api_key_make(user, "playgrounds:read")
    assert status(api_client, old) == 200
    key, new = services.key_rotate(actor=CLI, key=key)
    assert status(api_client, old) == 401
    assert status(api_client, new) == 200


def test_an_unknown_overlap_is_refused_and_changes_nothing(user):
    key, _ = api_key_make(user, "playgrounds:read")
    with pytest.raises(ValidationError):
        services.key_rotate(actor=CLI, key=key, overlap="forever")
    assert ApiKey.objects.get(pk=key.pk).digest == key.digest


@pytest.mark.parametrize("end", ["stop", "expire_now", "delete", "account"])
def test_ending_the_key_or_the_overlap_stops_the_old_token_at_once(user, api_client, end):
    key, old = api_key_make(user, "playgrounds:read")
    key, new = services.key_rotate(actor=CLI, key=key, overlap="7d")
    assert status(api_client, old) == 200  # both held in this process's key cache
    assert status(api_client, new) == 200
    if end == "stop":
        services.key_end_overlap(actor=CLI, key=key)
    elif end == "expire_now":
        services.key_expire_now(actor=CLI, key=key)
    elif end == "delete":
        services.key_delete(actor=CLI, key=key)
    else:
        services.key_revoke_all_for_owner(actor=CLI, owner=user)
    assert status(api_client, old) == 401
    assert status(api_client, new) == (200 if end == "stop" else 401)


def test_rotating_again_stops_the_token_an_earlier_overlap_kept(user, api_client):
    key, first = api_key_make(user, "playgrounds:read")
    key, second = services.key_rotate(actor=CLI, key=key, overlap="24h")
    key, third = services.key_rotate(actor=CLI, key=key, overlap="24h")
    assert status(api_client, first) == 401
    assert status(api_client, second) == 200
    assert status(api_client, third) == 200


def test_both_tokens_share_one_rate_limit(user, api_client):
    # given a key limited to 4 requests a minute, rotated with an overlap
    key, old = api_key_make(user, "playgrounds:read", rate_limit_per_minute=4)
    key, new = services.key_rotate(actor=CLI, key=key, overlap="1h")
    # when both tokens are used in turn (frozen inside one minute)
    with time_machine.travel(timezone.now().replace(second=5), tick=False):
        answers = [status(api_client, t) for t in (old, new, old, new, old, new)]
    # then the limit counts them together
    assert answers == [200, 200, 200, 200, 429, 429]


def test_rotation_and_the_old_tokens_end_are_in_the_security_log(user):
    key, _ = api_key_make(user, "playgrounds:read")
    services.key_rotate(actor=CLI, key=key, overlap="24h")
    services.key_end_overlap(actor=CLI, key=key)
    rotated = SecurityEvent.objects.get(user=user, kind=Kind.KEY_ROTATED)
    assert rotated.detail["overlap"] == "24h" and rotated.detail["old_token_stops_at"]
    ended = SecurityEvent.objects.get(user=user, kind=Kind.KEY_OLD_TOKEN_ENDED)
    assert ended.detail["key_id"] == key.pk and ended.detail["reason"] == "stopped"


def test_a_web_actor_without_a_step_up_cannot_rotate_or_stop(user):
    from fibe_access.accounts.stepup import StepUpRequired

    key, _ = api_key_make(user, "playgrounds:read")
    web = Actor(user=user, source=Source.WEB, stepped_up=False)
    with pytest.raises(StepUpRequired):
        services.key_rotate(actor=web, key=key, overlap="1h")
    with pytest.raises(StepUpRequired):
        services.key_end_overlap(actor=web, key=key)
