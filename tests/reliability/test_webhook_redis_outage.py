"""Redis (the broker) stopped for 20 s mid-stream and started again empty: publishing keeps
working because the outbox is in PostgreSQL, and every delivery arrives once Redis is back
(the beat scan re-enqueues the messages Redis lost or never got)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from fibe_access.celery import app as celery_app
from tests.support.fixtures import point_celery
from tests.support.servers import RedisServer, wait_until
from webhooks.engine import scan
from webhooks.models import Delivery, Event
from webhooks.publish import publish_event

from .test_webhook_faults import beat_until, webhook_ids

pytestmark = pytest.mark.reliability
OUTAGE_SECONDS = 20


@pytest.fixture
def broker(tmp_path):
    """This module's own Redis (it gets stopped), in place of the shared one."""
    previous = celery_app.conf.broker_url
    (tmp_path / "redis-before").mkdir()
    server = RedisServer(tmp_path / "redis-before")
    point_celery(server.url)
    yield server
    point_celery(previous)
    server.stop()


def _publish(user, n: int, tag: str):
    return publish_event(
        owner=user,
        event="playground.created",
        data={"id": n, "name": f"{tag} {n}", "status": "created"},
    )


@pytest.mark.timeout(240)
def test_redis_down_for_20s_and_back_empty_loses_no_delivery(
    broker, start_worker, settings, user, make_endpoint, receiver, tmp_path
):
    settings.WEBHOOKS_STUCK_AFTER = settings.WEBHOOKS_REENQUEUE_AFTER = timedelta(seconds=5)
    start_worker(
        WEBHOOKS_STUCK_AFTER_SECONDS=5,
        WEBHOOKS_REENQUEUE_AFTER_SECONDS=5,
        WEBHOOKS_SEND_WINDOW_SECONDS=1,
    )
    make_endpoint(receiver.url)
    # given 100 events delivered normally
    for i in range(100):
        _publish(user, i, "before")
    assert receiver.wait_for(100, timeout=60)
    # when Redis stops, and events keep being published for 20 s
    broker.stop()
    during, slowest, published = 0, 0.0, []
    outage_ends = time.monotonic() + OUTAGE_SECONDS
    while time.monotonic() < outage_ends:
        started = time.monotonic()
        # returns: the broker error is logged, not raised
        published.append(_publish(user, 1000 + during, "during").pk)
        slowest = max(slowest, time.monotonic() - started)
        during += 1
        time.sleep(0.2)
    # then every one of them is in the outbox, and none could be sent
    assert Event.objects.filter(pk__in=published).count() == during
    assert Delivery.objects.count() == 100 + during
    assert len(receiver.received) == 100
    # when Redis comes back with its data gone, and 50 more events follow
    broker.start_again_empty(tmp_path / "redis-after")
    for i in range(50):
        _publish(user, 2000 + i, "after")
    # then every delivery arrives: the outage's through the beat scan
    expected = {str(u) for u in Delivery.objects.values_list("uid", flat=True)}
    arrived = beat_until(lambda: set(webhook_ids(receiver)) >= expected, 150)
    missing = len(expected - set(webhook_ids(receiver)))
    ids = webhook_ids(receiver)
    print(
        f"\nRedis down {OUTAGE_SECONDS} s: {during} events published meanwhile (slowest "
        f"publish {slowest:.2f} s), {len(expected)} deliveries in all, {missing} missing, "
        f"{len(ids) - len(set(ids))} duplicate(s)"
    )
    assert arrived, f"{missing} deliveries never arrived"
    assert during >= 20
    assert wait_until(
        lambda: Delivery.objects.filter(status="succeeded").count() == len(expected), 20
    )
    assert len(ids) == len(set(ids))  # nothing was killed: no duplicate
    scan.deliveries_enqueue_due()  # and nothing is left to do
    assert not Delivery.objects.exclude(status="succeeded").exists()
