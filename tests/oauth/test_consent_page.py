"""The consent page as a new person meets it in Chromium (live server, styles and scripts
served): after sign-up and TOTP enrolment, an app asking for scopes is narrowed, restricted
and approved; it shows under Connected apps; Deny is one click. Screenshots are kept."""

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from fibe_access.oauth.models import Grant
from fibe_access.resources.models import Playspec
from tests.e2e.conftest import screenshot
from tests.support.factories import resource_make

from . import flow

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _register(base: str) -> str:
    host = {"HTTP_HOST": urlsplit(base).netloc}
    answer = Client(**host).post(
        "/oauth/register",
        json.dumps({"client_name": "Claude-like host", "redirect_uris": [flow.REDIRECT]}),
        content_type="application/json",
    )
    return answer.json()["client_id"]


def _open_consent(page, person, live_server, **overrides):
    client_id = _register(live_server.url)
    _, challenge = flow.pkce()
    url = flow.authorize_url(client_id, challenge, resource=live_server.url + "/mcp", **overrides)
    page.goto(url)
    if "/profile/verify/" in page.url:
        person.step_up()
    page.wait_for_url(re.compile(r"/oauth/authorize\?"))
    return client_id


def test_consent_narrows_restricts_and_shows_under_connected_apps(page, person, live_server):
    from fibe_access.accounts.models import User

    owner = User.objects.get(email=person.email)
    mine = resource_make(Playspec, owner, name="nightly build")
    resource_make(Playspec, owner, name="staging")
    seen = []
    page.route(
        re.compile(r"^http://127\.0\.0\.1:8765/"),
        lambda route: (seen.append(route.request.url), route.fulfill(status=200, body="ok")),
    )

    _open_consent(page, person, live_server, scope="mcp:access playspecs:read playspecs:delete")
    assert page.get_by_role("heading", name=re.compile("Claude-like host")).is_visible()
    assert page.get_by_text("Unverified").first.is_visible()
    screenshot(page, "oauth-consent-page")
    page.get_by_label(re.compile(r"^Playspecs: delete")).uncheck()
    page.get_by_label("nightly build (#").check()
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:8765/callback"))
    query = parse_qs(urlsplit(seen[-1]).query)
    assert query["code"] and query["iss"] == [live_server.url]

    grant = Grant.objects.get()
    assert sorted(grant.key.scopes) == ["mcp:access", "playspecs:read"]
    assert grant.key.restrictions == {"playspecs": [mine.pk]}
    page.goto("/profile/api-keys/")
    card = page.locator("#connected-apps article")
    assert card.get_by_text("Claude-like host").is_visible()
    assert card.get_by_text("nightly build").is_visible()
    screenshot(page, "oauth-connected-apps-page")


def test_deny_is_one_click(page, person, live_server):
    seen = []
    page.route(
        re.compile(r"^http://127\.0\.0\.1:8765/"),
        lambda route: (seen.append(route.request.url), route.fulfill(status=200, body="ok")),
    )
    _open_consent(page, person, live_server)
    page.get_by_role("button", name="Deny").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:8765/callback"))
    assert parse_qs(urlsplit(seen[-1]).query)["error"] == ["access_denied"]
    assert Grant.objects.count() == 0
