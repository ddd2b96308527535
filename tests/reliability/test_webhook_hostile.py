"""Hostile receivers against a real Celery worker (concurrency 2) on a private Redis: one
account's endpoints misbehave in every way tests/webhooks/hostile.py knows while another
account's healthy endpoint keeps being served promptly. Celery beat's part is played here."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest

from fibe_access.accounts.actor import Actor
from tests.support.servers import wait_until
from tests.webhooks.hostile import MODES, HostileReceiver
from webhooks import services
from webhooks.engine import scan
from webhooks.models import Attempt, Delivery
from webhooks.publish import publish_event

pytestmark = pytest.mark.reliability
WORKER_ENV = {
    "WEBHOOKS_ATTEMPT_BUDGET_SECONDS": 3,
    "WEBHOOKS_READ_TIMEOUT_SECONDS": 2,
    "WEBHOOKS_ACCOUNT_CONCURRENCY": 1,
    # a delivery waits in its batch at most the window and one budget before it is sent:
    # within WEBHOOKS_STUCK_AFTER, so the scan never records a waiting one as lost
    "WEBHOOKS_SEND_WINDOW_SECONDS": 2,
    "WEBHOOKS_STUCK_AFTER_SECONDS": 10,
    "WEBHOOKS_REENQUEUE_AFTER_SECONDS": 10,
}


@pytest.fixture
def hostiles():
    servers = {mode: HostileReceiver(mode) for mode in MODES}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.mark.timeout(240)
def test_hostile_receivers_are_each_sent_once_while_another_account_is_served(
    start_worker, hostiles, user, other_user, make_endpoint, receiver, settings
):
    # given a worker giving one account at most one of its two slots
    start_worker(**WORKER_ENV)
    healthy = make_endpoint(receiver.url, owner=other_user)
    endpoints = {mode: make_endpoint(s.url, owner=user) for mode, s in hostiles.items()}
    # when every hostile endpoint gets a test send, twice (as by a user clicking again) ...
    tests = [
        services.endpoint_test(actor=Actor.system(), endpoint=endpoint)
        for _ in range(2)
        for endpoint in endpoints.values()
    ]
    # ... and the other account publishes an event every 0.2 s meanwhile
    published = {}
    for i in range(40):
        publish_event(
            owner=other_user,
            event="playground.created",
            data={"id": i, "name": f"pg {i}", "status": "created"},
        )
        published[Delivery.objects.filter(endpoint=healthy).latest("pk").uid] = time.monotonic()
        time.sleep(0.2)

    # then the healthy endpoint got every event promptly
    assert receiver.wait_for(40, timeout=30), f"only {len(receiver.received)} arrived"
    latency = [
        r.at - published[next(u for u in published if str(u) == r.headers["X-Playground-Delivery"])]
        for r in receiver.received
    ]
    p50, worst = statistics.median(latency), max(latency)
    print(
        f"\nhealthy endpoint beside {len(MODES)} hostile ones: p50 {p50:.3f} s, max {worst:.3f} s"
    )
    assert p50 < 1.0 and worst < 5.0
    # and every test send reached its hostile receiver exactly once and left one attempt row
    settings.WEBHOOKS_STUCK_AFTER = settings.WEBHOOKS_REENQUEUE_AFTER = timedelta(seconds=10)

    def all_done():
        scan.deliveries_enqueue_due()
        return not Delivery.objects.filter(pk__in=[t.pk for t in tests], status__in=Delivery.OPEN)

    assert wait_until(all_done, 120, interval=1.0)
    for mode, server in hostiles.items():
        assert server.count == 2, (mode, server.count)
    attempts = Attempt.objects.filter(delivery__in=tests)
    assert attempts.count() == len(tests)
    assert all(a.number == 1 for a in attempts)
    failed = attempts.exclude(response_status=200)
    assert all(a.failure_reason for a in failed)
    assert {a.failure_reason for a in attempts if "budget" in a.failure_reason}
