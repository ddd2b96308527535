"""Rotation with an overlap, Stop it now, allowed addresses, the key policy and a webhook secret
rotation, as a new user does them in the browser (screenshots in test-artefacts/)."""

import re

import pytest
import requests

from fibe_access.accounts.models import User
from webhooks.models import WebhookEndpoint

from .conftest import screenshot

pytestmark = pytest.mark.e2e


def _me(live_server, token):
    return requests.get(
        live_server.url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).status_code


def _card(page, label):
    return page.locator("article.key-card", has=page.get_by_role("heading", name=label))


def test_rotate_with_an_overlap_then_stop_it_now(page, person, live_server):
    page.goto("/profile/api-keys/new/")
    page.get_by_label("Label").fill("Deploy bot")
    page.get_by_label(re.compile(r"^Playgrounds: read")).check()
    page.get_by_role("button", name="Create key").click()
    page.wait_for_url(re.compile(r"/token/$"))
    old = page.locator("#new-token").inner_text().strip()

    page.goto("/profile/api-keys/")
    _card(page, "Deploy bot").get_by_role("link", name="Rotate").click()
    page.get_by_label("In 1 hour").check()
    screenshot(page, "api-keys-rotate")
    page.get_by_role("button", name="Rotate key").click()
    page.wait_for_url(re.compile(r"/token/$"))
    new = page.locator("#new-token").inner_text().strip()
    assert _me(live_server, old) == 200 and _me(live_server, new) == 200

    page.goto("/profile/api-keys/")
    card = _card(page, "Deploy bot")
    assert card.get_by_text(re.compile(r"stops in 59")).is_visible()
    screenshot(page, "api-keys-card-overlap")
    card.get_by_role("link", name="Stop it now").click()
    page.get_by_role("button", name="Stop it now").click()
    page.wait_for_url(re.compile(r"/profile/api-keys/$"))
    assert _me(live_server, old) == 401 and _me(live_server, new) == 200

    _card(page, "Deploy bot").get_by_role("link", name=re.compile("Change")).click()
    page.get_by_label("Allowed IP addresses").fill("10.0.0.0/8\n2001:db8::/32")
    screenshot(page, "api-keys-allowed-ips")
    page.get_by_role("button", name="Save addresses").click()
    page.wait_for_url(re.compile(r"/profile/api-keys/$"))
    assert _card(page, "Deploy bot").get_by_text("10.0.0.0/8").is_visible()
    screenshot(page, "api-keys-card-allowed-ips")
    assert _me(live_server, new) == 403  # 127.0.0.1 is not in 10.0.0.0/8

    page.get_by_role("link", name="Key policy").click()
    page.get_by_label("Expire keys that go unused").check()
    page.get_by_label("Unused for (days)").fill("60")
    screenshot(page, "api-keys-policy")
    page.get_by_role("button", name="Save policy").click()
    assert page.get_by_text("API key policy saved.").is_visible()
    assert User.objects.get(email=person.email).key_inactivity_days == 60


def test_webhook_secret_rotation_in_the_browser(page, person):
    user = User.objects.get(email=person.email)
    endpoint = WebhookEndpoint.objects.create(
        owner=user, url="https://example.com/hooks", events=["api_key.expiring"], secret="old-one"
    )
    page.goto(f"/profile/webhooks/{endpoint.pk}/")
    page.get_by_role("link", name="Rotate secret").click()
    screenshot(page, "webhooks-secret-rotate")
    page.get_by_role("button", name="Rotate secret").click()
    page.wait_for_url(re.compile(rf"/profile/webhooks/{endpoint.pk}/$"))
    new = page.locator("#new-secret").inner_text().strip()
    assert new.startswith("whsec_")
    assert page.get_by_text(re.compile("The old secret still signs every delivery")).is_visible()
    screenshot(page, "webhooks-secret-overlap")
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [new, "old-one"]
