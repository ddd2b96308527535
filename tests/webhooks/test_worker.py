"""End to end: a private Redis, real Celery workers started here, a loopback receiver, and the
test database the workers share with this process (transactional, so they see commits)."""

import base64
import json
import time
from datetime import timedelta

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from fibe_access.accounts.actor import Actor, Source
from keys.services import key_create
from tests.support.fixtures import SECRET
from tests.support.servers import Reply, wait_until
from webhooks.engine import scan
from webhooks.models import Attempt, Delivery
from webhooks.publish import publish_event
from webhooks.signing import github_signature

pytestmark = pytest.mark.reliability
DATA = {"id": 5, "name": "pg", "status": "running"}


def _beat_until(predicate, timeout):
    """Play celery beat's part: run the due-delivery scan until ``predicate`` holds."""

    def tick():
        scan.deliveries_enqueue_due()
        return predicate()

    return wait_until(tick, timeout, interval=0.25)


def test_playground_created_through_the_api_arrives_signed(
    start_worker, user, make_endpoint, receiver, api_client
):
    start_worker()
    make_endpoint(receiver.url)
    _, token = key_create(
        actor=Actor(user=user, source=Source.CLI),
        owner=user,
        label="ci",
        scope_names=["playgrounds:write"],
    )

    response = api_client(token).post(
        "/api/v1/playgrounds", {"name": "From CI"}, content_type="application/json"
    )

    assert response.status_code in (200, 201), response.content
    assert receiver.wait_for(1, timeout=15)
    got = receiver.received[0]
    assert got.headers["X-Playground-Signature"] == github_signature(SECRET, got.body)
    body = Webhook(base64.b64encode(SECRET.encode()).decode()).verify(got.body, got.headers)
    assert body["event"] == "playground.created"
    assert body["data"]["id"] == response.json()["id"] and body["data"]["name"] == "From CI"
    time.sleep(0.5)
    assert len(receiver.received) == 1
    assert wait_until(lambda: Delivery.objects.filter(status="succeeded").count() == 1, 5)


def test_rolled_back_change_sends_nothing(start_worker, user, make_endpoint, receiver):
    start_worker()
    make_endpoint(receiver.url)

    with pytest.raises(RuntimeError), transaction.atomic():
        publish_event(owner=user, event="playground.created", data={**DATA, "name": "ghost"})
        raise RuntimeError("rolled back")
    publish_event(owner=user, event="playground.created", data={**DATA, "name": "real"})

    assert receiver.wait_for(1, timeout=15)
    time.sleep(1)
    assert [json.loads(r.body)["data"]["name"] for r in receiver.received] == ["real"]


def test_500_then_200_is_retried_from_the_database_and_delivered_once(
    start_worker, user, make_endpoint, receiver
):
    start_worker()
    make_endpoint(receiver.url)
    receiver.reply(Reply(status=500))

    publish_event(owner=user, event="playground.created", data=DATA)

    assert _beat_until(lambda: Delivery.objects.filter(status="succeeded").exists(), 20)
    delivery = Delivery.objects.get()
    assert [a.response_status for a in delivery.attempts.order_by("number")] == [500, 200]
    assert len(receiver.received) == 2
    assert len({r.headers["X-Playground-Delivery"] for r in receiver.received}) == 1


def test_worker_killed_mid_batch_loses_no_event(
    start_worker, user, make_endpoint, receiver, settings
):
    fast_recovery = {
        "WEBHOOKS_STUCK_AFTER_SECONDS": 3,
        "WEBHOOKS_REENQUEUE_AFTER_SECONDS": 3,
        "WEBHOOKS_SEND_WINDOW_SECONDS": 1,
    }
    settings.WEBHOOKS_STUCK_AFTER = settings.WEBHOOKS_REENQUEUE_AFTER = timedelta(seconds=3)
    worker = start_worker(**fast_recovery)
    make_endpoint(receiver.url)
    receiver.default = Reply(delay=0.02)

    for i in range(200):
        publish_event(owner=user, event="playground.created", data={**DATA, "id": i})
    assert receiver.wait_for(30, timeout=20)
    worker.kill()
    received_at_kill = len(receiver.received)
    start_worker(**fast_recovery)

    expected = {str(uid) for uid in Delivery.objects.values_list("uid", flat=True)}

    def all_arrived():
        return {r.headers["X-Playground-Delivery"] for r in receiver.received} >= expected

    assert received_at_kill < 200
    assert _beat_until(all_arrived, 60), (
        f"{len(expected - {r.headers['X-Playground-Delivery'] for r in receiver.received})}"
        " deliveries never arrived"
    )
    assert len(expected) == 200
    assert wait_until(lambda: Delivery.objects.filter(status="succeeded").count() == 200, 10)
    assert Attempt.objects.filter(response_status=200).count() >= 200
