"""Confirm destructive actions through REST (issue 22): a key with the switch on cannot delete,
destroy, recreate or change a secret without its owner's one-time approval of that exact call."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fibe_access.accounts.models import SecurityEvent
from fibe_access.api.operations import REGISTRY
from fibe_access.resources.models import Playground, Playspec, Secret
from keys.models import Confirmation
from tests.support.factories import api_key_make, resource_make

from .helpers import confirmation_of, decide, url_path

Kind = SecurityEvent.Kind
SCOPES = ("playspecs:read", "playspecs:write", "playspecs:delete")


@pytest.fixture
def guarded(user, api_client):
    key, token = api_key_make(user, *SCOPES, confirm_destructive=True)
    return key, api_client(token)


def test_a_delete_answers_403_confirmation_required_with_the_url_and_changes_nothing(user, guarded):
    key, client = guarded
    spec = resource_make(Playspec, user, name="nightly build")
    response = client.delete(f"/api/v1/playspecs/{spec.pk}")
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "confirmation_required"
    assert body["confirmation_url"].startswith("http://testserver/profile/api-keys/confirmations/")
    assert body["confirmation_url"] in body["message"]
    assert "nightly build" in body["message"]
    assert Playspec.objects.filter(pk=spec.pk).exists()
    pending = confirmation_of(body)
    assert (pending.key_id, pending.operation, pending.record_id) == (
        key.pk,
        "playspecs.delete",
        spec.pk,
    )
    assert pending.status == "pending" and pending.record_name == "nightly build"
    assert timedelta(minutes=9) < pending.expires_at - pending.created_at <= timedelta(minutes=10)
    assert pending.ip == "127.0.0.1"
    # asking again while it waits: the same confirmation, no second row
    again = client.delete(f"/api/v1/playspecs/{spec.pk}").json()
    assert again["confirmation_id"] == pending.pk
    assert SecurityEvent.objects.filter(kind=Kind.CONFIRMATION_REQUESTED).count() == 1


def test_approved_call_passes_exactly_once_then_asks_again(user, guarded, make_stepped_up_client):
    key, client = guarded
    spec = resource_make(Playspec, user)
    body = client.delete(f"/api/v1/playspecs/{spec.pk}").json()
    owner = make_stepped_up_client(user)
    page = owner.get(url_path(body["confirmation_url"]))
    assert page.status_code == 200 and b"Approve" in page.content
    assert decide(owner, body, "approve").status_code == 302
    assert confirmation_of(body).status == "approved"
    assert client.delete(f"/api/v1/playspecs/{spec.pk}").status_code == 204
    assert not Playspec.objects.filter(pk=spec.pk).exists()
    assert confirmation_of(body).status == "used"
    kinds = set(SecurityEvent.objects.values_list("kind", flat=True))
    assert {
        Kind.CONFIRMATION_REQUESTED,
        Kind.CONFIRMATION_APPROVED,
        Kind.CONFIRMATION_USED,
    } <= kinds
    # a second identical call (another record, same shape) asks again
    other = resource_make(Playspec, user)
    second = client.delete(f"/api/v1/playspecs/{other.pk}")
    assert second.status_code == 403 and second.json()["confirmation_id"] != body["confirmation_id"]


def test_the_same_call_after_its_approval_was_used_asks_again(
    user, guarded, make_stepped_up_client
):
    key, client = guarded
    spec = resource_make(Playspec, user, name="a")
    body = client.patch(
        f"/api/v1/playspecs/{spec.pk}", {"name": "b"}, content_type="application/json"
    ).json()
    decide(make_stepped_up_client(user), body, "approve")
    ok = client.patch(
        f"/api/v1/playspecs/{spec.pk}", {"name": "b"}, content_type="application/json"
    )
    assert ok.status_code == 200
    again = client.patch(
        f"/api/v1/playspecs/{spec.pk}", {"name": "b"}, content_type="application/json"
    )
    assert again.status_code == 403 and again.json()["code"] == "confirmation_required"


def test_an_approval_covers_only_its_own_arguments(user, guarded, make_stepped_up_client):
    key, client = guarded
    first, second = resource_make(Playspec, user), resource_make(Playspec, user)
    body = client.delete(f"/api/v1/playspecs/{first.pk}").json()
    decide(make_stepped_up_client(user), body, "approve")
    # another record
    assert client.delete(f"/api/v1/playspecs/{second.pk}").status_code == 403
    # another body for an update of the approved record's operation is another call too
    patch = client.patch(
        f"/api/v1/playspecs/{first.pk}", {"name": "x"}, content_type="application/json"
    )
    assert patch.status_code == 403
    assert Playspec.objects.filter(pk__in=[first.pk, second.pk]).count() == 2
    assert confirmation_of(body).status == "approved"  # still there for the exact call
    assert client.delete(f"/api/v1/playspecs/{first.pk}").status_code == 204


def test_another_key_cannot_use_the_approval(user, guarded, api_client, make_stepped_up_client):
    key, client = guarded
    _, other_token = api_key_make(user, *SCOPES, confirm_destructive=True)
    spec = resource_make(Playspec, user)
    body = client.delete(f"/api/v1/playspecs/{spec.pk}").json()
    decide(make_stepped_up_client(user), body, "approve")
    refused = api_client(other_token).delete(f"/api/v1/playspecs/{spec.pk}")
    assert refused.status_code == 403 and refused.json()["code"] == "confirmation_required"
    assert Playspec.objects.filter(pk=spec.pk).exists()
    assert confirmation_of(body).status == "approved"


def test_deny_refuses_and_a_new_confirmation_is_asked(user, guarded, make_stepped_up_client):
    key, client = guarded
    spec = resource_make(Playspec, user)
    body = client.delete(f"/api/v1/playspecs/{spec.pk}").json()
    owner = make_stepped_up_client(user)
    decide(owner, body, "deny")
    assert confirmation_of(body).status == "denied"
    retry = client.delete(f"/api/v1/playspecs/{spec.pk}")
    assert retry.status_code == 403
    assert retry.json()["confirmation_id"] != body["confirmation_id"]
    assert Playspec.objects.filter(pk=spec.pk).exists()
    # a decided confirmation cannot be approved afterwards
    decide(owner, body, "approve")
    assert confirmation_of(body).status == "denied"
    assert SecurityEvent.objects.filter(kind=Kind.CONFIRMATION_DENIED).count() == 1


def test_an_approval_lapses_after_ten_minutes(user, guarded, make_stepped_up_client):
    key, client = guarded
    spec = resource_make(Playspec, user)
    body = client.delete(f"/api/v1/playspecs/{spec.pk}").json()
    decide(make_stepped_up_client(user), body, "approve")
    # time moves on: the request was made 10 minutes ago
    past = timezone.now() - timedelta(minutes=10, seconds=1)
    Confirmation.objects.filter(pk=body["confirmation_id"]).update(
        created_at=past, expires_at=past + timedelta(minutes=10)
    )
    assert client.delete(f"/api/v1/playspecs/{spec.pk}").status_code == 403
    assert Playspec.objects.filter(pk=spec.pk).exists()


def test_a_lapsed_request_cannot_be_approved(user, guarded, make_stepped_up_client):
    key, client = guarded
    spec = resource_make(Playspec, user)
    body = client.delete(f"/api/v1/playspecs/{spec.pk}").json()
    Confirmation.objects.filter(pk=body["confirmation_id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    decide(make_stepped_up_client(user), body, "approve")
    assert confirmation_of(body).status == "pending"
    assert client.delete(f"/api/v1/playspecs/{spec.pk}").status_code == 403


def test_only_the_owner_after_a_step_up_sees_or_decides(
    user, other_user, guarded, logged_in_client, make_stepped_up_client
):
    key, client = guarded
    spec = resource_make(Playspec, user)
    body = client.delete(f"/api/v1/playspecs/{spec.pk}").json()
    path = url_path(body["confirmation_url"])
    # signed in, no step-up: sent to the second factor, nothing decided
    response = logged_in_client.post(path, {"decision": "approve"})
    assert response.status_code == 302 and "next=" in response["Location"]
    assert confirmation_of(body).status == "pending"
    stranger = make_stepped_up_client(other_user)
    assert stranger.get(path).status_code == 404
    assert stranger.post(path, {"decision": "approve"}).status_code == 404
    assert confirmation_of(body).status == "pending"
    assert client.delete(f"/api/v1/playspecs/{spec.pk}").status_code == 403


def test_a_key_with_the_switch_off_is_not_asked(user, api_client):
    _, token = api_key_make(user, *SCOPES)
    spec = resource_make(Playspec, user)
    assert api_client(token).delete(f"/api/v1/playspecs/{spec.pk}").status_code == 204
    assert not Confirmation.objects.exists()


def test_agent_keys_default_on_others_off(user):
    agent, _ = api_key_make(user, *SCOPES, is_agent=True)
    plain, _ = api_key_make(user, *SCOPES)
    assert agent.confirm_destructive and not plain.confirm_destructive


def test_destroy_recreate_and_secret_changes_are_gated(user, api_client):
    _, token = api_key_make(user, "playgrounds:manage", "secrets:manage", confirm_destructive=True)
    client = api_client(token)
    ground = resource_make(Playground, user)
    secret = resource_make(Secret, user)
    calls = [
        client.delete(f"/api/v1/playgrounds/{ground.pk}"),
        client.post(f"/api/v1/playgrounds/{ground.pk}/recreate"),
        client.patch(
            f"/api/v1/secrets/{secret.pk}", {"value": "new"}, content_type="application/json"
        ),
        client.delete(f"/api/v1/secrets/{secret.pk}"),
    ]
    assert [r.status_code for r in calls] == [403] * 4
    assert {r.json()["code"] for r in calls} == {"confirmation_required"}
    operations = set(Confirmation.objects.values_list("operation", flat=True))
    assert operations == {
        "playgrounds.delete",
        "playgrounds.recreate",
        "secrets.update",
        "secrets.delete",
    }
    # the registry decides: exactly the operations marked destructive (destructiveHint)
    for name in operations:
        assert REGISTRY[name].hints()["destructiveHint"]


def test_non_destructive_calls_cost_no_extra_query(
    user, api_client, django_assert_num_queries, settings
):
    settings.API_KEY_CACHE_SECONDS = 0  # every request reads its key: the same work for both
    spec = resource_make(Playspec, user)

    def calls(client):
        assert client.get(f"/api/v1/playspecs/{spec.pk}").status_code == 200
        created = client.post("/api/v1/playspecs", {"name": "n"}, content_type="application/json")
        assert created.status_code == 201

    _, off_token = api_key_make(user, *SCOPES, label="off")
    _, on_token = api_key_make(user, *SCOPES, label="on", confirm_destructive=True)
    off, on = api_client(off_token), api_client(on_token)
    calls(off), calls(on)  # warm up
    with CaptureQueriesContext(connection) as baseline:
        calls(off)
    with django_assert_num_queries(len(baseline)):
        calls(on)
    assert not Confirmation.objects.exists()


def test_the_switch_changes_only_after_a_step_up_and_is_logged(
    user, logged_in_client, make_stepped_up_client
):
    key, _ = api_key_make(user, *SCOPES)
    path = f"/profile/api-keys/{key.pk}/confirm-destructive/"
    refused = logged_in_client.post(path)
    assert refused.status_code == 302 and "next=" in refused["Location"]
    key.refresh_from_db()
    assert key.confirm_destructive is False
    owner = make_stepped_up_client(user)
    assert owner.get(path).status_code == 200
    assert owner.post(path).status_code == 302
    key.refresh_from_db()
    assert key.confirm_destructive is True
    row = SecurityEvent.objects.get(kind=Kind.KEY_CONFIRM_CHANGED)
    assert row.detail["on"] is True and row.detail["key_id"] == key.pk


def test_an_oauth_grants_switch_is_on_its_app_card(user, make_stepped_up_client):
    from fibe_access.oauth.models import Grant, OAuthClient

    key, _ = api_key_make(user, *SCOPES, confirm_destructive=True)
    client = OAuthClient.objects.create(client_id="app", kind="dcr", client_name="Host")
    Grant.objects.create(owner=user, client=client, key=key, resource="mcp", redirect_host="h")
    owner = make_stepped_up_client(user)
    page = owner.get("/profile/api-keys/").content.decode()
    assert f"/profile/api-keys/{key.pk}/confirm-destructive/" in page
    owner.post(f"/profile/api-keys/{key.pk}/confirm-destructive/")
    key.refresh_from_db()
    assert key.confirm_destructive is False


def test_the_owner_is_told_once_through_the_notice_limits(
    user, guarded, mailoutbox, django_capture_on_commit_callbacks
):
    key, client = guarded
    specs = [resource_make(Playspec, user) for _ in range(3)]
    for spec in specs:
        with django_capture_on_commit_callbacks(execute=True):
            assert client.delete(f"/api/v1/playspecs/{spec.pk}").status_code == 403
    mails = [m for m in mailoutbox if "waits for your approval" in m.subject]
    assert len(mails) == 1 and mails[0].to == [user.email]
    assert key.label in mails[0].body
