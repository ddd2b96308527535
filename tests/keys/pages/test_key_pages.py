import re

import pytest
from django.test import Client

from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from fibe_access.resources.models import Playground
from keys import services, tokens
from keys.models import ApiKey
from keys.views import KEYS_PAGE


@pytest.fixture
def playground(user):
    return Playground.objects.create(owner=user, name="Staging box")


@pytest.fixture
def their_playground(other_user):
    return Playground.objects.create(owner=other_user, name="Not yours")


def _cli(user):
    return Actor(user=user, source=Source.CLI)


def _create(user, **kw):
    kw.setdefault("label", "CI")
    kw.setdefault("scope_names", ["playgrounds:read"])
    return services.key_create(actor=_cli(user), owner=user, **kw)


def _post_new(client, **data):
    payload = {"label": "CI/CD Pipeline", "scopes": ["playgrounds:read"], "expiry": "30"}
    payload.update(data)
    return client.post("/profile/api-keys/new/", payload)


def test_empty_state_explains_keys(stepped_up_client):
    page = stepped_up_client.get("/profile/api-keys/")
    assert b"No API keys yet" in page.content
    assert b"Create your first key" in page.content


def test_create_shows_the_token_once_and_reload_does_not(stepped_up_client, user, playground):
    response = _post_new(stepped_up_client, **{"restrict_playgrounds": [playground.pk]})
    assert response.status_code == 302
    page = stepped_up_client.get(response["Location"])
    token = re.search(rb'id="new-token"[^>]*>([^<]+)<', page.content).group(1).decode()
    assert tokens.is_well_formed(token)
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]
    key = ApiKey.objects.get(owner=user)
    assert key.restrictions == {"playgrounds": [playground.pk]}
    again = stepped_up_client.get(response["Location"])
    assert again.status_code == 302
    assert token.encode() not in stepped_up_client.get("/profile/api-keys/").content
    assert SecurityEvent.objects.filter(user=user, kind="key_created").exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"scopes": []}, b"Choose at least one scope."),
        ({"scopes": ["playgrounds:fly"]}, b"Unknown scope"),
        ({"expiry": "date", "expires_on": "2001-01-01"}, b"Choose an expiry date in the future."),
        ({"expiry": "date", "expires_on": ""}, b"Pick the day the key expires."),
        ({"label": "   "}, b"This field is required."),
        ({"label": "x" * 101}, b"at most 100 characters"),
        ({"label": "bad\x00label"}, b"Null characters are not allowed."),
        ({"expiry": "forever"}, b"Select a valid choice"),
    ],
)
def test_create_refuses_bad_input_with_a_clear_message(stepped_up_client, user, data, message):
    response = _post_new(stepped_up_client, **data)
    assert response.status_code == 200
    assert message in response.content
    assert not ApiKey.objects.exists()


def test_restriction_to_another_accounts_resource_is_refused(stepped_up_client, their_playground):
    response = _post_new(stepped_up_client, restrict_playgrounds=[their_playground.pk])
    assert response.status_code == 200
    assert b"only restrict a key to resources" in response.content
    assert not ApiKey.objects.exists()


def test_restriction_outside_the_chosen_scopes_is_refused(stepped_up_client, playground):
    response = _post_new(
        stepped_up_client, scopes=["playrooms:read"], restrict_playgrounds=[playground.pk]
    )
    assert response.status_code == 200
    assert b"chose no scope for them" in response.content
    assert not ApiKey.objects.exists()


def test_hostile_label_is_escaped_on_the_list(stepped_up_client, user):
    _create(user, label="<script>alert(1)</script>")
    page = stepped_up_client.get("/profile/api-keys/")
    assert b"<script>alert(1)</script>" not in page.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page.content


def test_card_shows_status_scopes_restriction_names_and_last_used(
    stepped_up_client, user, playground
):
    key, _ = _create(
        user,
        scope_names=["playgrounds:read", "launch:write"],
        restrictions={"playgrounds": [playground.pk]},
        is_agent=True,
    )
    ApiKey.objects.filter(pk=key.pk).update(last_used_ip="203.0.113.9", last_used_at=key.created_at)
    page = stepped_up_client.get("/profile/api-keys/").content.decode()
    assert "Active" in page and "For agents" in page
    assert "Staging box" in page
    assert "launch:write" in page
    assert 'from <span class="mono">203.0.113.9</span>' in page


def test_rotate_shows_a_new_token_and_the_old_one_stops(stepped_up_client, user):
    key, old = _create(user)
    response = stepped_up_client.post(f"/profile/api-keys/{key.pk}/rotate/")
    page = stepped_up_client.get(response["Location"])
    new = re.search(rb'id="new-token"[^>]*>([^<]+)<', page.content).group(1).decode()
    assert new != old
    key.refresh_from_db()
    assert key.digest == tokens.digest(new)
    assert SecurityEvent.objects.filter(user=user, kind="key_rotated").exists()


def test_expire_and_delete_change_the_key_and_log(stepped_up_client, user):
    key, _ = _create(user)
    stepped_up_client.post(f"/profile/api-keys/{key.pk}/expire/")
    key.refresh_from_db()
    assert key.current_status() == "expired"
    stepped_up_client.post(f"/profile/api-keys/{key.pk}/delete/")
    assert not ApiKey.objects.filter(pk=key.pk).exists()
    kinds = set(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True))
    assert {"key_expired", "key_deleted"} <= kinds


def test_actions_ask_for_confirmation_on_get_and_change_nothing(stepped_up_client, user):
    key, _ = _create(user)
    for action in ("rotate", "expire", "delete"):
        page = stepped_up_client.get(f"/profile/api-keys/{key.pk}/{action}/")
        assert page.status_code == 200
    key.refresh_from_db()
    assert key.status == "active"


def test_reveal_shows_an_agent_keys_token_and_logs(stepped_up_client, user):
    key, token = _create(user, is_agent=True)
    page = stepped_up_client.post(f"/profile/api-keys/{key.pk}/reveal/")
    assert token.encode() in page.content
    assert SecurityEvent.objects.filter(user=user, kind="key_revealed").count() == 1


def test_reveal_of_a_non_agent_key_is_404(stepped_up_client, user):
    key, _ = _create(user)
    assert stepped_up_client.post(f"/profile/api-keys/{key.pk}/reveal/").status_code == 404


@pytest.mark.parametrize("action", ["rotate", "expire", "delete", "reveal"])
def test_one_user_cannot_act_on_anothers_key(stepped_up_client, other_user, action):
    key, _ = _create(other_user, is_agent=True)
    assert stepped_up_client.get(f"/profile/api-keys/{key.pk}/{action}/").status_code == 404
    assert stepped_up_client.post(f"/profile/api-keys/{key.pk}/{action}/").status_code == 404
    key.refresh_from_db()
    assert key.status == "active"
    assert list(SecurityEvent.objects.filter(user=other_user).values_list("kind", flat=True)) == [
        "key_created"
    ]


def test_token_page_of_anothers_key_shows_nothing(stepped_up_client, other_user):
    key, token = _create(other_user)
    response = stepped_up_client.get(f"/profile/api-keys/{key.pk}/token/")
    assert response.status_code == 302
    assert token.encode() not in stepped_up_client.get(response["Location"]).content


def test_other_users_keys_are_not_listed(stepped_up_client, other_user):
    _create(other_user, label="Their secret integration")
    assert b"Their secret integration" not in stepped_up_client.get("/profile/api-keys/").content


def test_csrf_is_enforced_on_key_creation(user, make_stepped_up_client):
    client = make_stepped_up_client(user)
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    response = strict.post(
        "/profile/api-keys/new/", {"label": "x", "scopes": ["playgrounds:read"], "expiry": "none"}
    )
    assert response.status_code == 403
    assert not ApiKey.objects.exists()


def test_list_page_query_count_does_not_grow_with_keys(
    stepped_up_client, user, playground, django_assert_max_num_queries
):
    for i in range(3):
        _create(user, label=f"k{i}", restrictions={"playgrounds": [playground.pk]})
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        stepped_up_client.get("/profile/api-keys/")
    for i in range(30):
        _create(user, label=f"more{i}", restrictions={"playgrounds": [playground.pk]})
    with CaptureQueriesContext(connection) as many:
        page = stepped_up_client.get("/profile/api-keys/")
    # a page of the list (issue 27: every key is reached through "Older →")
    assert page.content.count(b'class="card key-card key-row"') == KEYS_PAGE
    assert len(many.captured_queries) == len(few.captured_queries)


def test_account_deletion_revokes_every_key_first(stepped_up_client, user):
    key, token = _create(user)
    stepped_up_client.post("/profile/delete/", {"email": user.email})
    assert not ApiKey.objects.filter(pk=key.pk).exists()
    assert SecurityEvent.objects.filter(kind="account_deleted").exists()
