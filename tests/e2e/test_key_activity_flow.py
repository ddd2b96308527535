"""A key's page in a real browser (issue 24): the usage picture renders within the CSP (the
``page`` fixture fails the test on any violation), the timeline shows the REST, CLI and MCP
calls, and a write links to the webhook delivery it caused."""

import random
import re
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from fibe_access.accounts.models import User
from keys import activity
from keys.activity_model import KeyActivity
from tests.support.factories import api_key_make
from webhooks.models import WebhookEndpoint

from .conftest import screenshot

pytestmark = pytest.mark.e2e


def _past_week(key) -> list[KeyActivity]:
    """A week of earlier use, so the picture has something to draw."""
    rng, now, rows = random.Random(24), timezone.now(), []
    for hour in range(1, 7 * 24):
        busy = 6 if 8 <= (now - timedelta(hours=hour)).hour <= 18 else 1
        for _ in range(rng.randint(0, busy)):
            status = 500 if rng.random() < 0.08 else 200
            at = now - timedelta(hours=hour, minutes=rng.randint(0, 59))
            rows.append(
                KeyActivity(
                    key=key, at=at, door="rest", operation="playgrounds.list", status=status,
                    duration_ms=rng.randint(3, 40), ip="203.0.113.7",
                )
            )  # fmt: skip
    return rows


def test_the_key_page_draws_its_usage_and_links_writes_to_deliveries(page, person, live_server):
    user = User.objects.get(email=person.email)
    key, token = api_key_make(user, "playgrounds:manage", "mcp:access", label="Deploy bot")
    WebhookEndpoint.objects.create(
        owner=user, url="https://hooks.example.com/fibe", events=["playground.created"]
    )
    activity.rows_write(_past_week(key))
    activity.recorder.discard()
    api, auth = live_server.url + "/api/v1", {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{api}/playgrounds", headers=auth, timeout=10).status_code == 200
    made = requests.post(
        f"{api}/playgrounds",
        json={"name": "preview"},
        headers={**auth, "User-Agent": "fibe-cli/1"},
        timeout=10,
    )
    assert made.status_code == 201
    mcp = requests.post(
        live_server.url + "/mcp",
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "tools/call",
            "params": {"name": "playgrounds_get", "arguments": {"id": 10**12}},
        },
        headers={**auth, "Accept": "application/json, text/event-stream"},
        timeout=10,
    )
    assert mcp.status_code == 200
    activity.recorder.flush()

    page.goto("/profile/api-keys/")
    if "/profile/verify/" in page.url:
        person.step_up()
    page.get_by_role("link", name="Deploy bot", exact=True).click()
    page.wait_for_url(re.compile(rf"/profile/api-keys/{key.pk}/$"))

    picture = page.locator("#usage-picture")
    assert picture.is_visible()
    box = picture.bounding_box()
    assert box["width"] > 600 and box["height"] > 80
    assert page.locator("#usage-picture rect.bar-succeeded").count() > 50
    assert page.locator("#usage-picture rect.bar-failed").count() > 0
    rows = page.locator("table.activity tbody tr")
    doors = [rows.nth(i).locator("td").nth(1).inner_text() for i in range(3)]
    assert doors == ["MCP", "CLI", "REST"]
    assert rows.nth(0).locator("td").nth(4).inner_text() == "404"
    screenshot(page, "key-activity")

    page.get_by_label("Door").select_option("mcp")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"door=mcp"))
    assert page.locator("table.activity tbody tr").count() == 1

    page.get_by_label("Door").select_option("")
    page.get_by_label("Operation").select_option("playgrounds.create")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name=re.compile("playground.created")).click()
    page.wait_for_url(re.compile(r"/profile/webhooks/deliveries/\d+/$"))
    assert page.get_by_text("playground.created").first.is_visible()
