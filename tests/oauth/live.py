"""The official MCP SDK's OAuth client (``OAuthClientProvider``) against the project under
gunicorn, the person's part (sign-in, step-up, consent) done in Chromium by Playwright's async
API in the client's own event loop."""

from __future__ import annotations

import re
from base64 import b32decode
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

import httpx2
from django_otp.oath import totp
from mcp.client.auth import OAuthClientProvider
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

from tests.e2e.conftest import ARTEFACTS, CHROMIUM

PASSWORD = "correct horse battery staple 42"
REDIRECT = "http://127.0.0.1:53682/callback"  # the host's loopback listener: the browser's
# request to it is answered by Playwright, as a host's own listener would


class Storage:
    """The SDK's TokenStorage, in memory."""

    def __init__(self):
        self.tokens = None
        self.client_info = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info):
        self.client_info = client_info


class Person:
    """A person at the browser: signs in, steps up with the next TOTP code, then does what the
    test asks on the consent page (``on_consent``)."""

    def __init__(self, page, email: str, device_key: bytes):
        self.page = page
        self.email = email
        self.key = device_key
        self.drift = 0
        self.on_consent = None
        self.consents = 0
        self.intercept = True

    def code(self) -> str:
        code = totp(self.key, drift=self.drift)
        self.drift += 1
        return f"{code:06d}"

    async def authorize(self, url: str) -> AuthorizationCodeResult:
        page = self.page
        seen: list[str] = []

        async def answer_callback(route):
            seen.append(route.request.url)
            await route.fulfill(status=200, body="You can close this window.")

        if self.intercept:
            await page.route(re.compile(r"^http://127\.0\.0\.1:53682/"), answer_callback)
        await page.goto(url)
        if "/accounts/login/" in page.url:
            await page.get_by_label("E-mail address").fill(self.email)
            await page.get_by_label("Password").fill(PASSWORD)
            await page.get_by_role("button", name="Sign in").click()
            await page.wait_for_load_state()
        if "/profile/verify/" in page.url:
            await page.get_by_label(re.compile("Code from your authenticator")).fill(self.code())
            await page.get_by_role("button", name="Verify").click()
        await page.wait_for_url(re.compile(r"/oauth/authorize\?"))
        self.consents += 1
        await self.on_consent(page)
        await page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/callback"))
        if not self.intercept:  # a real listener (the CLI's) took the answer
            return None
        await page.unroute(re.compile(r"^http://127\.0\.0\.1:53682/"))
        query = {k: v[0] for k, v in parse_qs(urlsplit(seen[-1]).query).items()}
        return AuthorizationCodeResult(
            code=query.get("code", ""), state=query.get("state"), iss=query.get("iss")
        )


def provider(url: str, person: Person, storage: Storage, *, metadata_url: str | None = None):
    result = {}

    async def redirect_handler(authorization_url: str) -> None:
        result["answer"] = await person.authorize(authorization_url)

    async def callback_handler() -> AuthorizationCodeResult:
        return result.pop("answer")

    return OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="Test host",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=metadata_url,
    )


def device_key(secret_hex: str) -> bytes:
    return bytes.fromhex(secret_hex)


async def launch(playwright, base_url: str):
    browser = await playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
    )
    context = await browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(20_000)
    page.csp_violations = []
    page.on(
        "console",
        lambda msg: (
            page.csp_violations.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    return browser, page


async def screenshot(page, name: str) -> None:
    ARTEFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


@asynccontextmanager
async def session(url: str, auth: OAuthClientProvider):
    """An MCP session whose HTTP client authenticates with ``auth``."""
    async with (
        httpx2.AsyncClient(auth=auth, timeout=60) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as mcp,
    ):
        await mcp.initialize()
        yield mcp


def b32(secret: str) -> bytes:
    return b32decode(secret + "=" * (-len(secret) % 8))
