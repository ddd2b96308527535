"""Key management services: validation, step-up, security log, agent keys, account deletion."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from fibe_access import keyring
from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from fibe_access.accounts.services import account_delete
from fibe_access.accounts.stepup import StepUpRequired
from fibe_access.resources.models import Playspec
from keys import services, tokens
from keys.models import ApiKey
from tests.support.factories import resource_make

Kind = SecurityEvent.Kind


def create(actor, owner, *names, **kwargs):
    kwargs.setdefault("label", "CI/CD Pipeline")
    return services.key_create(actor=actor, owner=owner, scope_names=list(names), **kwargs)


def log_kinds(user):
    return list(
        SecurityEvent.objects.filter(user=user).order_by("id").values_list("kind", flat=True)
    )


def test_create_returns_the_token_once_and_stores_only_its_digest(web_actor, user):
    # when a stepped-up owner creates a key
    key, token = create(web_actor, user, "playgrounds:read", "playgrounds:read")
    # then the token is well formed and only its digest and last four characters are kept
    assert tokens.is_well_formed(token)
    key.refresh_from_db()
    assert key.digest == tokens.digest(token)
    assert key.last4 == token[-4:]
    assert key.encrypted_token == ""
    assert key.scopes == ["playgrounds:read"]
    assert key.status == ApiKey.Status.ACTIVE
    # and the security log says so, with the label and without the token
    event = SecurityEvent.objects.get(user=user, kind=Kind.KEY_CREATED)
    assert event.detail["label"] == "CI/CD Pipeline"
    assert token not in str(event.detail)


def test_web_actor_without_step_up_cannot_manage_keys(user):
    stale = Actor(user=user, source=Source.WEB, stepped_up=False)
    with pytest.raises(StepUpRequired):
        create(stale, user, "playgrounds:read")
    assert not ApiKey.objects.exists()
    key, _ = create(Actor(user=None, source=Source.CLI), user, "playgrounds:read")
    for service in (
        services.key_rotate,
        services.key_expire_now,
        services.key_delete,
        services.key_reveal,
    ):
        with pytest.raises(StepUpRequired):
            service(actor=stale, key=key)
    key.refresh_from_db()
    assert key.status == ApiKey.Status.ACTIVE


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"label": ""}, "label"),
        ({"label": "x" * 101}, "label"),
        ({"label": "nul\x00"}, "label"),
        ({"scope_names": []}, "scopes"),
        ({"scope_names": ["playgrounds:admin"]}, "scopes"),
        ({"scope_names": "playgrounds:read"}, "scopes"),
        ({"expires_at": timezone.now() - timedelta(minutes=1)}, "expires_at"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(web_actor, user, kwargs, field):
    kwargs = {"label": "k", "scope_names": ["playgrounds:read"], **kwargs}
    with pytest.raises(ValidationError) as excinfo:
        services.key_create(actor=web_actor, owner=user, **kwargs)
    assert field in excinfo.value.message_dict
    assert not ApiKey.objects.exists()
    assert Kind.KEY_CREATED not in log_kinds(user)


def test_restriction_to_own_resource_is_kept(web_actor, user):
    spec = resource_make(Playspec, user)
    key, _ = create(web_actor, user, "launch:write", restrictions={"playspecs": [spec.pk]})
    assert key.restrictions == {"playspecs": [spec.pk]}


def test_rotate_changes_the_secret_and_logs(web_actor, user):
    key, old = create(web_actor, user, "playgrounds:read")
    key, new = services.key_rotate(actor=web_actor, key=key)
    assert new != old
    assert ApiKey.objects.get(pk=key.pk).digest == tokens.digest(new)
    assert not ApiKey.objects.filter(digest=tokens.digest(old)).exists()
    assert log_kinds(user)[-1] == Kind.KEY_ROTATED


def test_expire_now_marks_the_key_expired_and_logs(web_actor, user):
    key, _ = create(
        web_actor, user, "playgrounds:read", expires_at=timezone.now() + timedelta(days=30)
    )
    services.key_expire_now(actor=web_actor, key=key)
    key.refresh_from_db()
    assert key.status == ApiKey.Status.EXPIRED
    assert key.expires_at <= timezone.now()
    assert log_kinds(user)[-1] == Kind.KEY_EXPIRED


def test_key_past_its_expiry_reads_as_expired(web_actor, user):
    key, _ = create(
        web_actor, user, "playgrounds:read", expires_at=timezone.now() + timedelta(hours=1)
    )
    assert key.current_status() == ApiKey.Status.ACTIVE
    assert key.current_status(timezone.now() + timedelta(hours=2)) == ApiKey.Status.EXPIRED


def test_delete_removes_the_key_and_logs(web_actor, user):
    key, _ = create(web_actor, user, "playgrounds:read")
    services.key_delete(actor=web_actor, key=key)
    assert not ApiKey.objects.filter(pk=key.pk).exists()
    assert log_kinds(user)[-1] == Kind.KEY_DELETED


def test_agent_key_is_encrypted_and_revealed_to_its_owner_with_a_log_line(web_actor, user):
    key, token = create(web_actor, user, "playgrounds:read", is_agent=True)
    key.refresh_from_db()
    assert key.encrypted_token and token not in key.encrypted_token
    assert services.key_reveal(actor=web_actor, key=key) == token
    assert log_kinds(user)[-1] == Kind.KEY_REVEALED


def test_rotated_agent_key_reveals_the_new_token(web_actor, user):
    key, _ = create(web_actor, user, "playgrounds:read", is_agent=True)
    key, new = services.key_rotate(actor=web_actor, key=key)
    assert services.key_reveal(actor=web_actor, key=key) == new


def test_ordinary_key_cannot_be_revealed(web_actor, user):
    key, _ = create(web_actor, user, "playgrounds:read")
    with pytest.raises(ValidationError):
        services.key_reveal(actor=web_actor, key=key)
    assert Kind.KEY_REVEALED not in log_kinds(user)


def test_agent_ciphertext_is_bound_to_its_key(web_actor, user):
    a, _ = create(web_actor, user, "playgrounds:read", is_agent=True)
    b, _ = create(web_actor, user, "playgrounds:read", is_agent=True)
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        keyring.decrypt(a.encrypted_token, context=b.digest)


def test_configured_encryption_key_is_used(web_actor, user, settings):
    settings.API_KEY_ENCRYPTION_KEY = "A" * 43
    key, token = create(web_actor, user, "playgrounds:read", is_agent=True)
    assert services.key_reveal(actor=web_actor, key=key) == token
    settings.API_KEY_ENCRYPTION_KEY = "B" * 43
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        services.key_reveal(actor=web_actor, key=key)


def test_revoke_stops_one_key_for_good_and_logs(web_actor, user, api_client):
    key, token = create(web_actor, user, "playgrounds:read", is_agent=True)
    assert api_client(token).get("/api/v1/me").status_code == 200
    services.key_revoke(actor=web_actor, key=key)
    services.key_revoke(actor=web_actor, key=key)
    key.refresh_from_db()
    assert key.status == ApiKey.Status.REVOKED and key.encrypted_token == ""
    assert api_client(token).get("/api/v1/me").status_code == 401
    assert Kind.KEY_REVOKED in log_kinds(user)
    with pytest.raises(ValidationError):
        services.key_rotate(actor=web_actor, key=key)


def test_revoke_all_revokes_every_key_of_the_owner_only(web_actor, user, other_user):
    mine = [create(web_actor, user, "playgrounds:read", is_agent=True)[0] for _ in range(3)]
    theirs, _ = create(Actor(user=None, source=Source.CLI), other_user, "playgrounds:read")
    assert services.key_revoke_all_for_owner(owner=user, actor=web_actor) == 3
    for key in mine:
        key.refresh_from_db()
        assert key.status == ApiKey.Status.REVOKED
        assert key.encrypted_token == ""
    theirs.refresh_from_db()
    assert theirs.status == ApiKey.Status.ACTIVE
    assert log_kinds(user).count(Kind.KEY_REVOKED) == 3


def test_account_deletion_stops_its_keys_at_once(web_actor, user, api_client):
    _, token = create(web_actor, user, "playgrounds:read")
    assert api_client(token).get("/api/v1/me").status_code == 200
    account_delete(actor=web_actor, user=user)
    assert api_client(token).get("/api/v1/me").status_code == 401
