"""A key's page (issue 24): its usage picture and activity timeline, filterable, each write
linked to the webhook deliveries it caused; behind the step-up, only for the key's owner."""

import re

import pytest
from django.test import Client

from keys import activity
from tests.support.factories import api_key_make
from webhooks.models import Delivery, WebhookEndpoint


@pytest.fixture
def recorder(db):
    activity.recorder.discard()
    yield activity.recorder
    activity.recorder.discard()


@pytest.fixture
def used_key(user, recorder):
    """A key used through REST, the CLI and MCP, one write causing a webhook delivery."""
    key, token = api_key_make(user, "playgrounds:manage", "mcp:access", label="Deploy bot")
    WebhookEndpoint.objects.create(
        owner=user, url="https://hooks.example.com/in", events=["playground.created"]
    )
    rest = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    rest.get("/api/v1/playgrounds")
    rest.post(
        "/api/v1/playgrounds", {"name": "p"}, "application/json", HTTP_USER_AGENT="fibe-cli/1"
    )
    rest.get("/api/v1/playgrounds/999999999")
    rest.post(
        "/mcp",
        '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", '
        '"params": {"name": "playgrounds_list", "arguments": {}}}',
        "application/json",
        HTTP_ACCEPT="application/json, text/event-stream",
    )
    recorder.flush()
    return key


def test_the_key_page_shows_its_activity_picture_and_caused_deliveries(stepped_up_client, used_key):
    page = stepped_up_client.get(f"/profile/api-keys/{used_key.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Deploy bot" in html
    rows = re.findall(r'<tr id="activity-\d+">(.*?)</tr>', html, re.S)
    assert len(rows) == 4
    doors = [re.search(r'<span class="pill[^"]*">(REST|CLI|MCP)</span>', r)[1] for r in rows]
    assert doors == ["MCP", "REST", "CLI", "REST"]  # newest first
    assert ">404<" in rows[1] and ">201<" in rows[2]
    delivery = Delivery.objects.get(event__credential_id=used_key.pk)
    assert f'href="/profile/webhooks/deliveries/{delivery.pk}/"' in rows[2]
    assert "playground.created" in rows[2]
    # the usage picture: drawn on the server, an SVG of bars, no script and no inline style
    svg = re.search(r'<svg id="usage-picture".*?</svg>', html, re.S)[0]
    assert svg.count('class="bar-succeeded"') == 1 and svg.count('class="bar-failed"') == 1
    assert "4 requests in the last 7 days, 1 failed (25%)" in html
    assert "<script" not in svg and "style=" not in html
    # the list links to the page
    assert (
        f'href="/profile/api-keys/{used_key.pk}/"'
        in stepped_up_client.get("/profile/api-keys/").content.decode()
    )


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("door=mcp", 1),
        ("door=cli", 1),
        ("outcome=failed", 1),
        ("outcome=succeeded", 3),
        ("operation=playgrounds.list", 2),
        ("door=rest&outcome=failed", 1),
        ("door=nonsense", 4),  # a filter the form refuses filters nothing
    ],
)
def test_the_timeline_filters_by_door_status_and_operation(
    stepped_up_client, used_key, query, count
):
    html = stepped_up_client.get(f"/profile/api-keys/{used_key.pk}/?{query}").content.decode()
    assert len(re.findall(r'<tr id="activity-\d+">', html)) == count


def test_the_key_page_needs_a_step_up_and_the_owner(
    logged_in_client, totp_device, make_stepped_up_client, other_user, used_key
):
    response = logged_in_client.get(f"/profile/api-keys/{used_key.pk}/")
    assert response.status_code == 302 and "/profile/verify/" in response["Location"]
    stranger = make_stepped_up_client(other_user)
    assert stranger.get(f"/profile/api-keys/{used_key.pk}/").status_code == 404


def test_an_unused_key_says_so(stepped_up_client, user, recorder):
    key, _ = api_key_make(user, "playgrounds:read")
    html = stepped_up_client.get(f"/profile/api-keys/{key.pk}/").content.decode()
    assert "No activity yet" in html and "No requests in the last 7 days." in html
