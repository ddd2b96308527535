"""Authentication, rate limits and last-used bookkeeping on the API."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fibe_access.accounts.actor import Actor, Source
from fibe_access.resources.models import Playground, Playroom
from keys import services, tokens
from keys.models import ApiKey
from tests.support.factories import api_key_make, resource_make

CLI = Actor(user=None, source=Source.CLI)


def assert_invalid_token(response):
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="fibe", error="invalid_token"'
    assert response.json()["code"] == "invalid_token"
    assert response.json()["message"]


def test_valid_key_reads_me(user, api_client):
    # given a key with a scope and an expiry
    expires = timezone.now() + timedelta(days=3)
    key, token = api_key_make(user, "playgrounds:read", expires_at=expires)
    # when it asks who it is
    response = api_client(token).get("/api/v1/me")
    # then it sees its own label, scopes, restrictions and expiry
    assert response.status_code == 200
    body = response.json()
    assert body["label"] == key.label
    assert body["scopes"] == ["playgrounds:read"]
    assert body["restrictions"] == {}
    assert body["expires_at"].startswith(expires.strftime("%Y-%m-%dT%H:%M"))


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Token abc", "Bearer fibe_", "Bearer not-a-token"],
)
def test_missing_or_malformed_authorization_is_401(header, client, db):
    # when a request comes with no usable token
    extra = {} if header is None else {"HTTP_AUTHORIZATION": header}
    response = client.get("/api/v1/me", **extra)
    # then it is refused as an invalid token
    assert_invalid_token(response)


def test_malformed_and_bad_checksum_tokens_never_touch_the_database(
    api_client, db, django_assert_num_queries
):
    # given a well-formed token with one character of its checksum changed, and a truncated one
    good = tokens.generate()
    bad_checksum = good[:-1] + ("A" if good[-1] != "A" else "B")
    for token in [bad_checksum, good[:-2], good + "x", "fibe_" + "0" * 49, "ghp_" + good[5:]]:
        # when it is used, then it is refused without a single query
        with django_assert_num_queries(0):
            response = api_client(token).get("/api/v1/playgrounds/1")
        assert_invalid_token(response)


def test_unknown_well_formed_token_is_401(api_client, db):
    response = api_client(tokens.generate()).get("/api/v1/me")
    assert_invalid_token(response)


def test_expired_key_is_401(user, api_client):
    # given a key whose expiry time has passed (status still says active)
    key, token = api_key_make(user, "playgrounds:read")
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    # then it cannot call anything
    assert_invalid_token(api_client(token).get("/api/v1/me"))


def test_expired_now_key_is_401(user, api_client):
    key, token = api_key_make(user, "playgrounds:read")
    assert api_client(token).get("/api/v1/me").status_code == 200
    services.key_expire_now(actor=CLI, key=key)
    assert_invalid_token(api_client(token).get("/api/v1/me"))


def test_revoked_key_is_401(user, api_client):
    _, token = api_key_make(user, "playgrounds:read")
    services.key_revoke_all_for_owner(owner=user, actor=CLI)
    assert_invalid_token(api_client(token).get("/api/v1/me"))


def test_rotated_key_old_secret_fails_and_new_one_works(user, api_client):
    key, old = api_key_make(user, "playgrounds:read")
    _, new = services.key_rotate(actor=CLI, key=key)
    assert_invalid_token(api_client(old).get("/api/v1/me"))
    assert api_client(new).get("/api/v1/me").status_code == 200


def test_deleted_key_is_401(user, api_client):
    key, token = api_key_make(user, "playgrounds:read")
    services.key_delete(actor=CLI, key=key)
    assert_invalid_token(api_client(token).get("/api/v1/me"))


def test_key_of_deactivated_account_is_401(user, api_client):
    _, token = api_key_make(user, "playgrounds:read")
    user.is_active = False
    user.save()
    assert_invalid_token(api_client(token).get("/api/v1/me"))


def test_rate_limit_answers_429_with_retry_after_and_headers(user, api_client):
    # given a key allowed 3 requests a minute
    _, token = api_key_make(user, "playgrounds:read", rate_limit_per_minute=3)
    client = api_client(token)
    # when it makes 3 requests, each says how many remain
    remaining = [client.get("/api/v1/playgrounds")["X-RateLimit-Remaining"] for _ in range(3)]
    assert remaining == ["2", "1", "0"]
    # then the fourth is refused with the limit, a reset time and Retry-After
    response = client.get("/api/v1/playgrounds")
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert response["X-RateLimit-Limit"] == "3"
    assert response["X-RateLimit-Remaining"] == "0"
    assert 0 < int(response["Retry-After"]) <= 60
    assert int(response["X-RateLimit-Reset"]) > timezone.now().timestamp()


def test_rate_limit_is_per_key(user, api_client):
    _, spent = api_key_make(user, "playgrounds:read", rate_limit_per_minute=1)
    _, fresh = api_key_make(user, "playgrounds:read", rate_limit_per_minute=1)
    assert api_client(spent).get("/api/v1/me").status_code == 200
    assert api_client(spent).get("/api/v1/me").status_code == 429
    assert api_client(fresh).get("/api/v1/me").status_code == 200


def test_default_rate_limit_comes_from_settings(user, api_client, settings):
    settings.API_KEY_RATE_LIMIT_PER_MINUTE = 2
    _, token = api_key_make(user, "playgrounds:read")
    client = api_client(token)
    assert client.get("/api/v1/me")["X-RateLimit-Limit"] == "2"
    client.get("/api/v1/me")
    assert client.get("/api/v1/me").status_code == 429


def test_rate_limit_headers_on_errors_and_empty_responses(user, api_client):
    # given a key that may delete playrooms but not read playgrounds
    _, token = api_key_make(user, "playrooms:delete")
    room = resource_make(Playroom, user)
    client = api_client(token)
    # then a 403 and a 204 both carry the rate-limit headers
    assert "X-RateLimit-Remaining" in client.get("/api/v1/playgrounds")
    response = client.delete(f"/api/v1/playrooms/{room.pk}")
    assert response.status_code == 204
    assert "X-RateLimit-Limit" in response


def test_last_used_is_written_once_for_100_requests_in_a_minute(user, api_client):
    # given a key never used
    key, token = api_key_make(user, "playgrounds:read")
    client = api_client(token)
    # when it makes 100 requests
    with CaptureQueriesContext(connection) as queries:
        for _ in range(100):
            assert client.get("/api/v1/playgrounds").status_code == 200
    # then the key row was updated exactly once, with the time and IP
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "keys_apikey"')]
    assert len(updates) == 1
    key.refresh_from_db()
    assert key.last_used_ip == "127.0.0.1"
    assert timezone.now() - key.last_used_at < timedelta(seconds=30)


def test_last_used_is_written_again_after_a_minute(user, api_client):
    key, token = api_key_make(user, "playgrounds:read")
    long_ago = timezone.now() - timedelta(seconds=61)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=long_ago)
    api_client(token).get("/api/v1/me")
    key.refresh_from_db()
    assert key.last_used_at > long_ago + timedelta(seconds=30)


def test_authenticated_read_costs_one_query_for_the_key(
    user, api_client, django_assert_num_queries
):
    # given a key used within the last minute and a playground
    key, token = api_key_make(user, "playgrounds:read")
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    pg = resource_make(Playground, user)
    # then reading it costs the key lookup plus the playground itself
    with django_assert_num_queries(2):
        assert api_client(token).get(f"/api/v1/playgrounds/{pg.pk}").status_code == 200


def test_openapi_names_each_operations_scope_and_the_bearer_scheme(client, db):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["components"]["securitySchemes"]["ApiKeyAuth"]["scheme"] == "bearer"
    launch = schema["paths"]["/api/v1/playspecs/{id}/launch"]["post"]
    assert "`launch:write`" in launch["description"]
    assert "`playspecs:write`" in launch["description"]
    assert "`secrets:delete`" in schema["paths"]["/api/v1/secrets/{id}"]["delete"]["description"]
    assert client.get("/api/v1/docs").status_code == 200


def test_steady_state_authentication_adds_no_query(user, api_client, django_assert_num_queries):
    # given a key that has just been used (its row read and last use recorded)
    _, token = api_key_make(user, "playgrounds:read")
    pg = resource_make(Playground, user)
    client = api_client(token)
    client.get(f"/api/v1/playgrounds/{pg.pk}")
    # then the next requests cost only the playground's own query
    for _ in range(3):
        with django_assert_num_queries(1):
            assert client.get(f"/api/v1/playgrounds/{pg.pk}").status_code == 200


def test_change_made_outside_the_services_applies_within_the_cache_time(user, api_client, settings):
    # given a key cached by this process for a short while
    settings.API_KEY_CACHE_SECONDS = 0.2
    _, token = api_key_make(user, "playgrounds:read")
    client = api_client(token)
    assert client.get("/api/v1/me").status_code == 200
    # when its account is deactivated without going through the key services
    user.is_active = False
    user.save()
    # then the cached copy serves until the cache time is up, and no longer
    assert client.get("/api/v1/me").status_code == 200
    time.sleep(0.3)
    assert_invalid_token(client.get("/api/v1/me"))
