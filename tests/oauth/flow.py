"""The OAuth flow driven in-process with Django's test client: register a client, ask for
consent as a stepped-up person, exchange the code, refresh. Each step returns what the server
answered, so refusals can be asserted one by one."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from django.test import Client

BASE = "http://localhost"  # Authlib refuses plain HTTP but on loopback (RFC 8252)
HOST = {"HTTP_HOST": "localhost"}
MCP = BASE + "/mcp"
REDIRECT = "http://127.0.0.1:8765/callback"
LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def register(redirect_uris=(REDIRECT,), name="Test host") -> str:
    answer = Client(**HOST).post(
        "/oauth/register",
        json.dumps({"client_name": name, "redirect_uris": list(redirect_uris)}),
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    return answer.json()["client_id"]


def authorize_url(client_id: str, challenge: str | None, **overrides) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "state": "st4te",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": MCP,
        "scope": "mcp:access",
        **overrides,
    }
    return "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


def consent(browser: Client, url: str, *, scopes=("playspecs:read",), extra=None, deny=False):
    """POST the consent form; the answer (a redirect to the client when all went well)."""
    data = {"decision": "deny" if deny else "approve", "scopes": list(scopes), "expiry": "none"}
    data.update(extra or {})
    return browser.post(url, data, **HOST)


def redirected(answer) -> dict:
    location = answer["Location"]
    assert location.startswith(REDIRECT), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(code: str, verifier: str | None, client_id: str, **overrides):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": client_id,
        "code_verifier": verifier,
        "resource": MCP,
        **overrides,
    }
    return Client(**HOST).post("/oauth/token", {k: v for k, v in data.items() if v is not None})


def refresh(refresh_token: str, client_id: str, **overrides):
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client_id,
        "resource": MCP,
        **overrides,
    }
    return Client(**HOST).post("/oauth/token", data)


def connect(browser: Client, *, scopes=("playspecs:read",), extra=None, resource=MCP):
    """The whole flow; returns (client_id, token response)."""
    client_id = register()
    verifier, challenge = pkce()
    url = authorize_url(client_id, challenge, resource=resource)
    got = redirected(consent(browser, url, scopes=scopes, extra=extra))
    answer = exchange(got["code"], verifier, client_id, resource=resource)
    assert answer.status_code == 200, answer.content
    return client_id, answer.json()


def mcp(token: str | None, body=None, path="/mcp"):
    headers = {"HTTP_ACCEPT": "application/json, text/event-stream"}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return Client(**HOST).post(
        path, json.dumps(body or LIST), content_type="application/json", **headers
    )


def tool_names(token: str, path="/mcp") -> set[str]:
    answer = mcp(token, path=path)
    assert answer.status_code == 200, answer.content
    return {t["name"] for t in answer.json()["result"]["tools"]}
