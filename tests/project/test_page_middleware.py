"""The page middleware is scoped to pages (fibe_access/pagemiddleware.py): API requests skip
sessions, CSRF, auth, OTP, messages, step-up and axes, keep the security headers, and answer
exactly as before; pages keep every behaviour."""

import pytest
from django.conf import settings
from django.test import Client, RequestFactory

from fibe_access import pagemiddleware
from fibe_access.accounts.stepup import StepUpRequired
from fibe_access.resources.models import Playground
from tests.support.factories import api_key_make, resource_make

INVALID = 'Bearer realm="fibe", error="invalid_token"'


def test_api_with_a_session_cookie_and_no_key_is_401(logged_in_client, user):
    # given a browser signed in to the pages (a valid session cookie), and a playground of its own
    pg = resource_make(Playground, user)
    assert logged_in_client.get("/profile/security/").status_code == 200
    # when it calls the API with that cookie and no key
    for path in ("/api/v1/me", f"/api/v1/playgrounds/{pg.pk}", "/api/v1/playgrounds"):
        response = logged_in_client.get(path)
        # then the API refuses it: no cookie authentication on the API
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == INVALID
        assert response.json() == {
            "code": "invalid_token",
            "message": "Send a valid API key: Authorization: Bearer <token>.",
        }


def test_api_write_with_a_session_cookie_is_401_not_a_csrf_403(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/api/v1/playgrounds", {"name": "x"}, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert Playground.objects.count() == 0


def test_api_answers_carry_security_headers_and_no_session(user, api_client):
    pg = resource_make(Playground, user)
    _, token = api_key_make(user, "playgrounds:read")
    response = api_client(token).get(f"/api/v1/playgrounds/{pg.pk}")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Content-Security-Policy"] == pagemiddleware.API_CSP
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert int(response["Content-Length"]) == len(response.content)
    assert "Set-Cookie" not in response.headers and not response.cookies
    assert "Cookie" not in response.get("Vary", "")
    assert response["X-RateLimit-Limit"] == str(settings.API_KEY_RATE_LIMIT_PER_MINUTE)


def test_api_403_and_429_bodies_and_headers_are_unchanged(user, api_client):
    # given a key that may read playgrounds only, allowed 2 requests a minute
    _, token = api_key_make(user, "playgrounds:read", rate_limit_per_minute=2)
    client = api_client(token)
    # when it asks for another family's list, it is refused with the scope it lacks
    denied = client.get("/api/v1/playspecs")
    assert denied.status_code == 403
    assert denied.json()["code"] == "insufficient_scope"
    assert "playspecs:read" in denied.json()["message"]
    assert (denied["X-RateLimit-Limit"], denied["X-RateLimit-Remaining"]) == ("2", "1")
    assert client.get("/api/v1/me").status_code == 200
    # and past its limit it gets the 429 body and headers
    limited = client.get("/api/v1/me")
    assert limited.status_code == 429
    assert limited.json() == {
        "code": "rate_limited",
        "message": "Rate limit of 2 requests a minute reached for this key.",
    }
    assert (limited["X-RateLimit-Limit"], limited["X-RateLimit-Remaining"]) == ("2", "0")
    assert 0 < int(limited["Retry-After"]) <= 60
    assert limited["Content-Security-Policy"] == pagemiddleware.API_CSP


def test_unknown_api_path_is_json_404_without_page_middleware(logged_in_client):
    response = logged_in_client.get("/api/v1/no/such/thing")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response["Content-Security-Policy"] == pagemiddleware.API_CSP


def test_pages_keep_csrf_session_and_their_policy(user):
    # a page form posted without its CSRF token is refused
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": user.email, "password": "x"})
    assert response.status_code == 403
    # a page sets the CSRF cookie and keeps the pages' policy
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert "csrftoken" in page.cookies
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert page["X-Frame-Options"] == "DENY"


def test_pages_keep_step_up(logged_in_client, totp_device):
    response = logged_in_client.get("/profile/api-keys/")
    assert response.status_code == 302
    assert response["Location"] == "/profile/verify/?next=%2Fprofile%2Fapi-keys%2F"


@pytest.mark.parametrize("path", ["/profile/api-keys/new", "/api/v1/keys"])
def test_step_up_hook_runs_for_pages_only(path, user, totp_device):
    # given the step-up middleware, and a service deep under a view raising StepUpRequired
    middleware = pagemiddleware.StepUpMiddleware(lambda request: None)
    request = RequestFactory().post(path)
    request.user = user
    # when the exception reaches the middleware
    answer = middleware.process_exception(request, StepUpRequired())
    # then a page is redirected to step up, and the API is left to its own error handling
    if path.startswith("/api/"):
        assert answer is None
    else:
        assert answer.status_code == 302 and answer["Location"].startswith("/profile/verify/")


def test_wrappers_are_the_page_middleware_for_pages():
    # each wrapper is a subclass of what it wraps (the admin's and axes' checks look for it)
    from axes.middleware import AxesMiddleware
    from django.contrib.auth.middleware import AuthenticationMiddleware

    assert issubclass(pagemiddleware.AuthenticationMiddleware, AuthenticationMiddleware)
    assert issubclass(pagemiddleware.AxesMiddleware, AxesMiddleware)
    assert "fibe_access.pagemiddleware.AxesMiddleware" in settings.MIDDLEWARE


def test_api_docs_stay_a_page_under_the_pages_policy(client, db):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["Content-Security-Policy"] != pagemiddleware.API_CSP


@pytest.mark.parametrize("path", ["/mcp", "/mcp/readonly"])
def test_mcp_is_token_authenticated_like_the_api(user, path):
    # given a browser signed in to the pages, whose CSRF checks are on
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    # when it posts an MCP message with its session cookie and no key
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    response = client.post(path, message, content_type="application/json")
    # then the MCP server refuses it as the API does: no cookie authentication, no session
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["Content-Security-Policy"] == pagemiddleware.API_CSP
    assert "Set-Cookie" not in response.headers and not response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_only_the_mcp_paths_skip_the_pages_middleware():
    factory = RequestFactory()
    assert pagemiddleware.is_api(factory.post("/mcp"))
    assert pagemiddleware.is_api(factory.post("/mcp/readonly"))
    assert not pagemiddleware.is_api(factory.get("/mcpx"))
    assert not pagemiddleware.is_api(factory.get("/profile/mcp"))
