"""The catalogue on the New Webhook page (each event's example behind a disclosure) and live
`fibe listen` sessions on Profile → Webhooks, in Chromium."""

import json

import pytest
from django.utils import timezone

from fibe_access.accounts.models import User
from webhooks.events import BY_NAME
from webhooks.models import ListenSession

from .conftest import screenshot

pytestmark = pytest.mark.e2e


def test_examples_on_the_form_and_cli_sessions_on_the_list(page, person):
    user = User.objects.get(email=person.email)
    page.goto("/profile/webhooks/new/")
    example = page.locator("details.event-example").filter(has_text="playspec.deleted")
    assert not example.locator("pre").is_visible()

    example.locator("summary").click()

    shown = json.loads(example.locator("pre").inner_text())
    assert shown == BY_NAME["playspec.deleted"].example()
    screenshot(page, "webhooks-new-example")

    page.goto("/profile/webhooks/")
    assert page.locator("#cli-sessions").count() == 0
    ListenSession.objects.create(
        owner=user,
        host="ada-laptop.local",
        events=["playground.created", "playspec.deleted"],
        secret="s",
        last_polled_at=timezone.now(),
    )
    page.goto("/profile/webhooks/")
    sessions = page.locator("#cli-sessions")
    assert "ada-laptop.local" in sessions.inner_text()
    assert "playspec.deleted" in sessions.inner_text()
    screenshot(page, "webhooks-cli-sessions")

    ListenSession.objects.all().delete()
    page.goto("/profile/webhooks/")
    assert page.locator("#cli-sessions").count() == 0
