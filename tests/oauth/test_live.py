"""End to end as an AI host does it: the official SDK client is given only the /mcp URL,
discovers the authorization server from the 401, registers (DCR) or names itself by a metadata
document (CIMD), sends the person to the consent page (sign-in, step-up, narrowing and a
restriction in Chromium), lists and calls tools, refreshes, and fails once the grant is revoked
on Profile → API Keys. Against gunicorn with two workers and the key cache on."""

import json
import re
import time

import anyio
import pytest
import requests
from django.utils import timezone

from fibe_access.oauth.models import AccessToken, Grant
from fibe_access.resources.models import Playspec
from tests.mcp.client import run
from tests.support.factories import resource_make

from . import live

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]


def _expire_access_tokens():
    from django.db import connection

    try:
        AccessToken.objects.update(expires_at=timezone.now())
    finally:
        connection.close()  # this thread's own connection


def _raw_mcp(url, token):
    return requests.post(
        url,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json, text/event-stream",
        },
        timeout=30,
    )


def test_host_connects_by_url_alone_narrowed_restricted_refreshed_then_revoked(app, owner):
    user, device = owner
    mine = resource_make(Playspec, user, name="the one")
    other = resource_make(Playspec, user, name="another")
    mcp_url = app.url + "/mcp"

    # the 401 an unauthenticated host sees points to the metadata
    bare = requests.post(mcp_url, json={}, timeout=10)
    assert bare.status_code == 401
    assert (
        f'resource_metadata="{app.url}/.well-known/oauth-protected-resource/mcp"'
        in (bare.headers["WWW-Authenticate"])
    )

    async def main():
        from playwright.async_api import async_playwright

        async with async_playwright() as pw:
            browser, page = await live.launch(pw, app.url)
            person = live.Person(page, user.email, device.bin_key)

            async def narrow_and_restrict(page):
                await page.get_by_label(re.compile(r"^Playspecs: read")).check()
                await page.get_by_label("the one (#").check()
                await live.screenshot(page, "oauth-consent")
                await page.get_by_role("button", name="Approve").click()

            person.on_consent = narrow_and_restrict
            storage = live.Storage()
            auth = live.provider(mcp_url, person, storage)
            async with live.session(mcp_url, auth) as mcp:
                names = {t.name for t in (await mcp.list_tools()).tools}
                outside = await mcp.call_tool("playspecs_get", {"id": other.pk})
                inside = await mcp.call_tool("playspecs_get", {"id": mine.pk})
            first_token = storage.tokens.access_token

            # the access token lapses: the SDK refreshes, the rotated token works
            await anyio.to_thread.run_sync(_expire_access_tokens)
            auth.context.token_expiry_time = time.time() - 1
            async with live.session(mcp_url, auth) as mcp:
                after_refresh = {t.name for t in (await mcp.list_tools()).tools}
            second_token = storage.tokens.access_token

            # Connected apps lists it; revoking it there ends it in every process
            for _ in range(6):  # both workers hold the key in their cache
                assert (await anyio.to_thread.run_sync(_raw_mcp, mcp_url, second_token)).ok
            await page.goto("/profile/api-keys/")
            card = page.locator("#connected-apps article")
            await card.get_by_text("Test host").wait_for()
            await live.screenshot(page, "oauth-connected-apps")
            await card.get_by_role("link", name="Revoke").click()
            await page.get_by_role("button", name="Revoke access").click()
            await page.get_by_text("was disconnected").wait_for()
            after = [
                (await anyio.to_thread.run_sync(_raw_mcp, mcp_url, second_token)).status_code
                for _ in range(6)
            ]
            violations = list(page.csp_violations)
            await browser.close()
        return (
            names,
            outside,
            inside,
            first_token,
            after_refresh,
            second_token,
            after,
            violations,
            person.consents,
        )

    names, outside, inside, first, after_refresh, second, after, violations, consents = run(main)
    assert names == {"playspecs_list", "playspecs_get", "whoami", "me_activity"}
    assert outside.is_error and json.loads(outside.content[0].text)["code"] == "not_found"
    assert not inside.is_error and json.loads(inside.content[0].text)["id"] == mine.pk
    assert after_refresh == names and second != first and consents == 1
    assert after == [401] * 6
    assert violations == []
    grant = Grant.objects.get()
    assert grant.revoked_at is not None and grant.client.kind == "dcr"


def test_host_named_by_a_metadata_document(app, owner, cimd_host):
    user, device = owner
    base, documents = cimd_host
    client_id = base + "/oauth/client.json"
    documents["/oauth/client.json"] = json.dumps(
        {
            "client_id": client_id,
            "client_name": "Document host",
            "redirect_uris": [live.REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }
    ).encode()
    mcp_url = app.url + "/mcp/readonly"

    async def main():
        from playwright.async_api import async_playwright

        async with async_playwright() as pw:
            browser, page = await live.launch(pw, app.url)
            person = live.Person(page, user.email, device.bin_key)
            shown = {}

            async def approve(page):
                shown["heading"] = await page.get_by_role("heading", level=1).inner_text()
                await page.get_by_label(re.compile(r"^Playspecs: read")).check()
                await page.get_by_role("button", name="Approve").click()

            person.on_consent = approve
            auth = live.provider(mcp_url, person, live.Storage(), metadata_url=client_id)
            async with live.session(mcp_url, auth) as mcp:
                names = {t.name for t in (await mcp.list_tools()).tools}
            await browser.close()
        return names, shown

    names, shown = run(main)
    assert "Document host" in shown["heading"]
    assert names == {"playspecs_list", "playspecs_get", "whoami", "me_activity"}
    grant = Grant.objects.get()
    assert (grant.client.client_id, grant.client.kind, grant.resource) == (
        client_id,
        "cimd",
        "mcp/readonly",
    )
