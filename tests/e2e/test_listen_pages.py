"""The catalogue on the New Webhook page (each event's example behind a disclosure) and live
`fibe listen` sessions and their delivery log on Profile → Webhooks, in Chromium."""

import json
import uuid

import pytest
from django.utils import timezone

from fibe_access.accounts.models import User
from webhooks.events import BY_NAME
from webhooks.models import ListenDelivery, ListenSession

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


def test_a_sessions_deliveries_from_its_row_and_after_it_ends(page, person):
    user = User.objects.get(email=person.email)
    session = ListenSession.objects.create(
        owner=user,
        host="ada-laptop.local",
        events=["playground.created"],
        secret="s",
        last_polled_at=timezone.now(),
    )
    for n, (status, code, error) in enumerate(
        [("succeeded", 200, ""), ("failed", None, "Connection refused")]
    ):
        ListenDelivery.objects.create(
            owner=user,
            session_ref=session.pk,
            host=session.host,
            uid=uuid.UUID(int=n + 1),
            event_type="playground.created",
            status=status,
            response_status=code,
            duration_ms=12 if code else None,
            attempt_count=1 if code else 4,
            failure_reason=error,
            reported_at=timezone.now(),
        )
    page.goto("/profile/webhooks/")

    page.locator(f"#session-{session.pk}").get_by_role("link", name="Deliveries").click()

    log = page.locator("table.listen-deliveries")
    assert "12 ms" in log.inner_text() and "Connection refused" in log.inner_text()
    screenshot(page, "webhooks-cli-deliveries")
    session.delete()  # ended: the log stays, reached from the list
    page.goto("/profile/webhooks/")
    page.locator("#cli-sessions").get_by_role("link", name="CLI deliveries").click()
    assert page.locator("table.listen-deliveries tbody tr").count() == 2
