"""The authorization code flow in-process: what is issued, and everything refused."""

import pytest
from django.test import Client

from fibe_access.accounts.models import SecurityEvent
from fibe_access.oauth.models import Grant
from fibe_access.resources.models import Playspec
from keys.models import ApiKey
from tests.support.factories import resource_make

from . import flow

pytestmark = pytest.mark.django_db


def test_code_flow_issues_fibe_tokens_bound_to_the_grant(stepped_up_client, user):
    client_id = flow.register()
    verifier, challenge = flow.pkce()
    answer = flow.consent(stepped_up_client, flow.authorize_url(client_id, challenge))
    got = flow.redirected(answer)
    assert got["state"] == "st4te" and got["iss"] == flow.BASE

    tokens = flow.exchange(got["code"], verifier, client_id).json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["access_token"].startswith("fibe_") and tokens["refresh_token"].startswith(
        "fibe_"
    )
    assert flow.tool_names(tokens["access_token"]) == {
        "playspecs_list",
        "playspecs_get",
        "whoami",
        "me_activity",
    }
    grant = Grant.objects.get()
    assert sorted(grant.key.scopes) == ["mcp:access", "playspecs:read"]
    assert SecurityEvent.objects.filter(user=user, kind="oauth_granted").count() == 1


def test_no_pkce_is_refused(stepped_up_client):
    client_id = flow.register()
    answer = stepped_up_client.get(flow.authorize_url(client_id, None))
    got = flow.redirected(answer)
    assert got["error"] == "invalid_request" and "PKCE" in got["error_description"]
    assert got["iss"] == flow.BASE
    assert Grant.objects.count() == 0


def test_plain_pkce_is_refused(stepped_up_client):
    client_id = flow.register()
    verifier, _ = flow.pkce()
    url = flow.authorize_url(client_id, verifier, code_challenge_method="plain")
    got = flow.redirected(stepped_up_client.get(url))
    assert got["error"] == "invalid_request" and "S256" in got["error_description"]
    got = flow.redirected(flow.consent(stepped_up_client, url))
    assert got["error"] == "invalid_request" and Grant.objects.count() == 0


def test_wrong_verifier_is_refused(stepped_up_client):
    client_id = flow.register()
    _, challenge = flow.pkce()
    got = flow.redirected(flow.consent(stepped_up_client, flow.authorize_url(client_id, challenge)))
    other, _ = flow.pkce()
    answer = flow.exchange(got["code"], other, client_id)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


def test_unregistered_redirect_uri_is_refused_without_redirecting(stepped_up_client):
    client_id = flow.register()
    _, challenge = flow.pkce()
    for uri in ("http://127.0.0.1:8765/other", "https://evil.example/callback"):
        answer = stepped_up_client.get(flow.authorize_url(client_id, challenge, redirect_uri=uri))
        assert answer.status_code == 400 and "Location" not in answer
        assert b"not supported by client" in answer.content


def test_registration_refuses_non_https_redirects():
    answer = Client(**flow.HOST).post(
        "/oauth/register",
        '{"client_name": "x", "redirect_uris": ["http://evil.example/cb"]}',
        content_type="application/json",
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_redirect_uri"
    answer = Client(**flow.HOST).post(
        "/oauth/register", "not json", content_type="application/json"
    )
    assert answer.status_code == 400


def test_missing_or_foreign_resource_is_refused(stepped_up_client):
    client_id = flow.register()
    _, challenge = flow.pkce()
    for resource in (None, "https://elsewhere.example/mcp"):
        got = flow.redirected(
            stepped_up_client.get(flow.authorize_url(client_id, challenge, resource=resource))
        )
        assert got["error"] == "invalid_target"


def test_reused_code_is_refused_and_revokes_the_grant(stepped_up_client):
    client_id = flow.register()
    verifier, challenge = flow.pkce()
    got = flow.redirected(flow.consent(stepped_up_client, flow.authorize_url(client_id, challenge)))
    first = flow.exchange(got["code"], verifier, client_id).json()
    assert flow.mcp(first["access_token"]).status_code == 200

    again = flow.exchange(got["code"], verifier, client_id)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert flow.mcp(first["access_token"]).status_code == 401
    assert flow.refresh(first["refresh_token"], client_id).status_code == 400
    assert Grant.objects.get().revoked_at is not None
    assert SecurityEvent.objects.filter(kind="oauth_token_reused").count() == 1


def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_grant(stepped_up_client):
    client_id, first = flow.connect(stepped_up_client)
    second = flow.refresh(first["refresh_token"], client_id)
    assert second.status_code == 200, second.content
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert flow.mcp(second["access_token"]).status_code == 200

    reused = flow.refresh(first["refresh_token"], client_id)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    assert flow.mcp(second["access_token"]).status_code == 401
    assert flow.refresh(second["refresh_token"], client_id).status_code == 400
    assert SecurityEvent.objects.filter(kind="oauth_token_reused").count() == 1


def test_expired_access_token_fails_and_refresh_gives_a_working_one(stepped_up_client):
    from django.utils import timezone

    from fibe_access.oauth.models import AccessToken

    client_id, first = flow.connect(stepped_up_client)
    AccessToken.objects.update(expires_at=timezone.now())
    answer = flow.mcp(first["access_token"])
    assert answer.status_code == 401 and "expired" in answer.json()["message"]
    fresh = flow.refresh(first["refresh_token"], client_id).json()
    assert flow.mcp(fresh["access_token"]).status_code == 200


def test_token_is_accepted_only_by_its_resource(stepped_up_client, api_client):
    _, for_mcp = flow.connect(stepped_up_client)
    assert api_client(for_mcp["access_token"]).get("/api/v1/me").status_code == 401
    readonly = flow.mcp(for_mcp["access_token"], path="/mcp/readonly")
    assert readonly.status_code == 401

    _, for_api = flow.connect(stepped_up_client, resource=flow.BASE + "/api/v1")
    assert api_client(for_api["access_token"]).get("/api/v1/me").status_code == 200
    assert flow.mcp(for_api["access_token"]).status_code == 401


def test_token_request_naming_another_resource_is_refused(stepped_up_client):
    client_id = flow.register()
    verifier, challenge = flow.pkce()
    got = flow.redirected(flow.consent(stepped_up_client, flow.authorize_url(client_id, challenge)))
    answer = flow.exchange(got["code"], verifier, client_id, resource=flow.BASE + "/api/v1")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_target"


def test_consent_post_without_step_up_is_not_carried_out(logged_in_client, totp_device):
    client_id = flow.register()
    _, challenge = flow.pkce()
    url = flow.authorize_url(client_id, challenge)
    answer = flow.consent(logged_in_client, url)
    assert answer.status_code == 302 and answer["Location"].startswith("/profile/verify/")
    assert Grant.objects.count() == 0 and ApiKey.objects.count() == 0


def test_signed_out_person_is_sent_to_sign_in_first():
    client_id = flow.register()
    _, challenge = flow.pkce()
    answer = Client(**flow.HOST).get(flow.authorize_url(client_id, challenge))
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")


def test_scopes_can_be_narrowed_never_widened(stepped_up_client):
    client_id = flow.register()
    _, challenge = flow.pkce()
    url = flow.authorize_url(client_id, challenge, scope="mcp:access playspecs:read")
    page = stepped_up_client.get(url)
    assert page.status_code == 200 and b'value="playspecs:read"' in page.content
    assert b'value="playspecs:delete"' not in page.content
    answer = flow.consent(stepped_up_client, url, scopes=["playspecs:delete"])
    assert answer.status_code == 200 and Grant.objects.count() == 0


def test_restriction_on_the_consent_page_applies_to_tools(stepped_up_client, user):
    mine = resource_make(Playspec, user)
    other = resource_make(Playspec, user)
    _, tokens = flow.connect(
        stepped_up_client,
        scopes=["playspecs:read"],
        extra={"restrict_playspecs": [str(mine.pk)]},
    )
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "playspecs_get", "arguments": {"id": other.pk}},
    }
    answer = flow.mcp(tokens["access_token"], call).json()["result"]
    assert answer["isError"] and '"not_found"' in answer["content"][0]["text"]
    call["params"]["arguments"]["id"] = mine.pk
    assert not flow.mcp(tokens["access_token"], call).json()["result"]["isError"]


def test_deny_is_one_click_and_tells_the_client(stepped_up_client):
    client_id = flow.register()
    _, challenge = flow.pkce()
    got = flow.redirected(
        flow.consent(stepped_up_client, flow.authorize_url(client_id, challenge), deny=True)
    )
    assert got["error"] == "access_denied" and got["iss"] == flow.BASE and got["state"] == "st4te"
    assert Grant.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        "[]",
        '{"redirect_uris": [1]}',
        '{"redirect_uris": "http://127.0.0.1:1/cb"}',
        '{"redirect_uris": ["http://127.0.0.1:1/cb"], "client_name": 5}',
        '{"redirect_uris": ["http://127.0.0.1:1/cb#frag"]}',
        '{"redirect_uris": ["https://u:p@example.com/cb"]}',
    ],
)
def test_bad_registrations_are_clear_4xx(body):
    answer = Client(**flow.HOST).post("/oauth/register", body, content_type="application/json")
    assert 400 <= answer.status_code < 500 and answer.json()["error"]


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"grant_type": "authorization_code"},
        {"grant_type": "authorization_code", "code": "x", "client_id": "nobody"},
        {"grant_type": "refresh_token", "client_id": "nobody", "refresh_token": "fibe_x"},
        {"grant_type": "password", "username": "a", "password": "b"},
        {"grant_type": "client_credentials"},
    ],
)
def test_bad_token_requests_are_clear_4xx(data):
    answer = Client(**flow.HOST).post("/oauth/token", data)
    assert 400 <= answer.status_code < 500 and answer.json()["error"]


def test_bad_authorization_requests_are_clear_4xx(stepped_up_client):
    for query in (
        "",
        "?response_type=code",
        "?response_type=token&client_id=x",
        "?response_type=code&client_id=" + "x" * 5000,
        "?response_type=code&client_id=https://no-such-host.invalid/c.json",
    ):
        answer = stepped_up_client.get("/oauth/authorize" + query)
        assert answer.status_code == 400, query
