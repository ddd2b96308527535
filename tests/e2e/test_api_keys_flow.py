import re

import pytest
import requests

from fibe_access.accounts.models import User
from fibe_access.resources.models import Playground
from keys.models import ApiKey

from .conftest import screenshot

pytestmark = pytest.mark.e2e


def _api(live_server, token, path="/api/v1/playgrounds"):
    return requests.get(
        live_server.url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def _copied_token(page) -> str:
    shown = page.locator("#new-token").inner_text().strip()
    page.get_by_role("button", name="Copy token").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == shown
    return copied


def _open_card_action(page, label, action):
    card = page.locator("article.key-card", has=page.get_by_role("heading", name=label))
    card.get_by_role("link", name=action).click()


def test_key_lifecycle_as_a_new_user(page, person, live_server):
    # given a new user who owns two playgrounds
    user = User.objects.get(email=person.email)
    staging = Playground.objects.create(owner=user, name="Staging box")
    Playground.objects.create(owner=user, name="Production box")

    # when they create a playgrounds:read key restricted to one of them
    page.goto("/profile/api-keys/")
    screenshot(page, "api-keys-empty")
    page.get_by_role("link", name="New API key").click()
    page.get_by_label("Label").fill("CI/CD Pipeline")
    page.get_by_label(re.compile(r"^Playgrounds: read")).check()
    page.get_by_label("Staging box").check()
    page.get_by_label("90 days").check()
    screenshot(page, "api-keys-create")
    page.get_by_role("button", name="Create key").click()

    # then the token is shown once, copies, and reaches only that playground
    page.wait_for_url(re.compile(r"/token/$"))
    assert page.get_by_text("This is the only time the token is shown").is_visible()
    screenshot(page, "api-keys-token")
    token = _copied_token(page)
    listed = _api(live_server, token)
    assert listed.status_code == 200
    assert [p["name"] for p in listed.json()["items"]] == ["Staging box"]
    page.reload()
    assert "/profile/api-keys/" in page.url and page.locator("#new-token").count() == 0

    # and the card says what the key is
    card = page.locator("article.key-card").first
    assert "Staging box" in card.inner_text()
    assert "Active" in card.inner_text()

    # when they rotate it, the old token fails at once and the new one works
    _open_card_action(page, "CI/CD Pipeline", "Rotate")
    page.get_by_role("button", name="Rotate key").click()
    page.wait_for_url(re.compile(r"/token/$"))
    new_token = _copied_token(page)
    assert _api(live_server, token).status_code == 401
    assert _api(live_server, new_token).status_code == 200

    # when they expire it now, the new token fails too
    page.get_by_role("link", name="Done").click()
    _open_card_action(page, "CI/CD Pipeline", "Expire now")
    page.get_by_role("button", name="Expire now").click()
    assert page.get_by_text("has expired").is_visible()
    assert _api(live_server, new_token).status_code == 401
    assert "Expired" in page.locator("article.key-card").first.inner_text()

    # when they delete it, it is gone
    _open_card_action(page, "CI/CD Pipeline", "Delete")
    page.get_by_role("button", name="Delete key").click()
    assert page.get_by_text("No API keys yet").is_visible()
    assert not ApiKey.objects.filter(owner=user).exists()
    assert staging.pk  # the playground itself is untouched
    page.goto("/profile/security/")
    log = page.locator("table.security-log").inner_text()
    for line in ("API key created", "API key rotated", "API key expired", "API key deleted"):
        assert line in log


def test_list_page_with_several_keys(page, person):
    user = User.objects.get(email=person.email)
    from fibe_access.accounts.actor import Actor, Source
    from keys import services

    actor = Actor(user=user, source=Source.CLI)
    box = Playground.objects.create(owner=user, name="Demo playground")
    services.key_create(
        actor=actor,
        owner=user,
        label="GitHub Actions CI",
        scope_names=["launch:write", "playspecs:read"],
    )
    services.key_create(
        actor=actor,
        owner=user,
        label="Genie runtime",
        is_agent=True,
        scope_names=["agents:manage", "playgrounds:read"],
        restrictions={"playgrounds": [box.pk]},
    )
    old, _ = services.key_create(
        actor=actor, owner=user, label="Old laptop", scope_names=["playrooms:manage"]
    )
    services.key_expire_now(actor=actor, key=old)
    page.goto("/profile/api-keys/")
    assert page.locator("article.key-card").count() == 3
    screenshot(page, "api-keys-list")
