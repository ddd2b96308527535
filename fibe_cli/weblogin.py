"""`fibe auth login --web`: the OAuth authorization code flow with a loopback redirect (RFC 8252),
as `gh auth login --web` does it. The CLI registers itself (RFC 7591) for this run's loopback
port, opens the consent page in the browser, receives the code on 127.0.0.1, checks ``state``
and ``iss`` (RFC 9207) and exchanges the code with its PKCE verifier for a token bound to the
API (RFC 8707). ``refresh`` swaps an expiring token for a new pair (they rotate)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import sys
import threading
import time
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from .errors import AUTH, UNREACHABLE, CliError, keep_secret

TIMEOUT = (10, 30)
WAIT_SECONDS = 600
CLIENT_NAME = "Fibe CLI"


def _s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(verifier)), unpadded (the CLI ships without Authlib)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _json(method: str, url: str, **kwargs) -> dict:
    try:
        response = requests.request(method, url, timeout=TIMEOUT, allow_redirects=False, **kwargs)
    except requests.RequestException as exc:
        raise CliError(f"Cannot reach {url}: {type(exc).__name__}.", UNREACHABLE) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 400 or not isinstance(body, dict):
        reason = (
            body.get("error_description") or body.get("error") or f"HTTP {response.status_code}"
        )
        raise CliError(f"{url} refused: {reason}", AUTH)
    return body


def discover(server: str) -> dict:
    return _json("GET", server + "/.well-known/oauth-authorization-server")


class _Callback(BaseHTTPRequestHandler):
    result: dict = {}
    done = threading.Event()

    def do_GET(self):  # noqa: N802
        parts = urlsplit(self.path)
        if parts.path != "/callback":
            self.send_response(404)
            self.end_headers()
            return
        type(self).result = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"Fibe CLI: you can close this window and go back to the terminal.")
        type(self).done.set()

    def log_message(self, *args):
        pass


def login(server: str) -> dict:
    """Run the flow; returns what to store: the token pair and how to refresh it."""
    metadata = discover(server)
    handler = type("Callback", (_Callback,), {"result": {}, "done": threading.Event()})
    httpd = HTTPServer(("127.0.0.1", 0), handler)
    redirect_uri = f"http://127.0.0.1:{httpd.server_address[1]}/callback"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        client = _json(
            "POST",
            metadata["registration_endpoint"],
            json={"client_name": CLIENT_NAME, "redirect_uris": [redirect_uri]},
        )
        verifier = secrets.token_urlsafe(64)
        state = secrets.token_urlsafe(24)
        resource = server + "/api/v1"
        url = (
            metadata["authorization_endpoint"]
            + "?"
            + urlencode(
                {
                    "response_type": "code",
                    "client_id": client["client_id"],
                    "redirect_uri": redirect_uri,
                    "state": state,
                    "code_challenge": _s256(verifier),
                    "code_challenge_method": "S256",
                    "resource": resource,
                }
            )
        )
        print(f"Open this page to approve the CLI (opening your browser):\n{url}", file=sys.stderr)
        sys.stderr.flush()
        webbrowser.open(url)
        if not handler.done.wait(WAIT_SECONDS):
            raise CliError("No answer from the browser in time.", AUTH)
        got = handler.result
    finally:
        httpd.shutdown()
    if got.get("state") != state:
        raise CliError("The browser's answer does not match this login (state).", AUTH)
    if got.get("iss") != metadata["issuer"]:
        raise CliError("The answer came from another server (iss).", AUTH)
    if "error" in got:
        raise CliError(f"Not approved: {got.get('error_description') or got['error']}.", AUTH)
    tokens = _json(
        "POST",
        metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": got.get("code", ""),
            "redirect_uri": redirect_uri,
            "client_id": client["client_id"],
            "code_verifier": verifier,
            "resource": resource,
        },
    )
    return _stored(tokens, client["client_id"], metadata["token_endpoint"], resource)


def _stored(tokens: dict, client_id: str, token_endpoint: str, resource: str) -> dict:
    keep_secret(tokens["access_token"])
    keep_secret(tokens.get("refresh_token", ""))
    return {
        "key": tokens["access_token"],
        "oauth": {
            "refresh_token": tokens.get("refresh_token", ""),
            "expires_at": time.time() + int(tokens.get("expires_in", 3600)),
            "client_id": client_id,
            "token_endpoint": token_endpoint,
            "resource": resource,
        },
    }


def refresh(oauth: dict) -> dict:
    """A new token pair for a stored OAuth login (the old refresh token is spent)."""
    tokens = _json(
        "POST",
        oauth["token_endpoint"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": oauth["refresh_token"],
            "client_id": oauth["client_id"],
            "resource": oauth["resource"],
        },
    )
    return _stored(tokens, oauth["client_id"], oauth["token_endpoint"], oauth["resource"])
