"""A new user adds a webhook pointing at a real receiver on loopback; a real Celery worker on a
private Redis delivers; the pages show what happened."""

import re
import time

import pytest

from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import User
from fibe_access.resources.models import Playground
from fibe_access.resources.services import resource_create
from tests.support.servers import Reply, wait_until
from webhooks.models import Attempt, Delivery
from webhooks.tasks import deliveries_enqueue_due

from .conftest import screenshot

pytestmark = pytest.mark.e2e


def _reload_until(page, predicate, timeout=20):
    """Load the current page again until predicate() holds. A fresh navigation (not
    page.reload(), which fails while an earlier navigation is still being committed)."""
    url = page.url
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.goto(url, wait_until="load")
        if predicate():
            return True
        time.sleep(0.5)
    return False


def test_webhook_flow_as_a_new_user(page, person, receiver, start_worker):
    start_worker()  # returns once the worker is ready
    user = User.objects.get(email=person.email)

    # when they add an endpoint pointing at their receiver, for every event, with a secret
    page.goto("/profile/webhooks/")
    screenshot(page, "webhooks-empty")
    page.get_by_role("link", name="New webhook").click()
    page.get_by_label("Target URL").fill(receiver.url)
    page.get_by_label("Select all events").check()
    page.get_by_role("button", name="Generate").click()
    secret = page.get_by_label("Signing secret").input_value()
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    page.get_by_label("Description").fill("Staging notifier")
    screenshot(page, "webhooks-create")
    page.get_by_role("button", name="Add endpoint").click()

    # then the secret is shown once
    page.wait_for_url(re.compile(r"/profile/webhooks/\d+/$"))
    assert page.locator("#new-secret").inner_text().strip() == secret

    # when they press Test webhook, the receiver gets a signed sample and the log shows 200
    page.get_by_role("button", name="Test webhook").click()
    # the form posts and redirects back: wait for the page that says so
    page.get_by_text("Test event sent").wait_for()
    assert receiver.wait_for(1, timeout=20)
    assert receiver.received[0].headers["X-Playground-Event"] == "playground.created"
    assert _reload_until(
        page,
        lambda: (
            page.locator("table.deliveries").count() == 1
            and "200" in page.locator("table.deliveries").inner_text()
        ),
    )
    assert "test" in page.locator("table.deliveries").inner_text()
    page.get_by_role("link", name="Details").first.click()
    page.get_by_text("Request headers").click()
    page.get_by_text("Response headers and body").click()
    detail = page.locator("main").inner_text()
    assert "HTTP 200" in detail and "X-Playground-Signature" in detail
    assert "Test webhook" in detail  # the attempt's trigger
    screenshot(page, "webhooks-delivery-ok")

    # when the receiver starts failing and a real event happens, the retry history grows
    receiver.default = Reply(status=500, body=b"receiver is down")
    resource_create(
        actor=Actor(user=user, source=Source.API),
        model=Playground,
        owner=user,
        name="Demo playground",
    )
    assert receiver.wait_for(2, timeout=20)
    delivery = Delivery.objects.get(endpoint__owner=user, is_test=False)
    assert wait_until(lambda: Attempt.objects.filter(delivery=delivery).count() == 1, 10)
    delivery.refresh_from_db()
    assert delivery.status == "retrying"
    # Beat enqueues due retries every few seconds; the test sends its message itself.
    assert wait_until(
        lambda: (
            deliveries_enqueue_due.delay()
            and Attempt.objects.filter(delivery=delivery).count() >= 2
        ),
        timeout=20,
        interval=1.0,
    )
    page.goto(f"/profile/webhooks/deliveries/{delivery.pk}/")
    history = page.locator("ol.timeline").inner_text()
    assert "Attempt 1" in history and "Attempt 2" in history
    assert history.count("Receiver answered HTTP 500") == 2
    assert "Next attempt" in history
    screenshot(page, "webhooks-delivery-retrying")

    page.goto("/profile/webhooks/")
    strip = page.locator("figure.strip")
    assert "1 succeeded" in strip.inner_text() and "1 retrying" in strip.inner_text()
    screenshot(page, "webhooks-list")
    page.get_by_role("link", name="Deliveries").click()
    screenshot(page, "webhooks-endpoint-log")
