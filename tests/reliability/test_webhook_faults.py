"""Webhook delivery under faults, with real Celery workers (concurrency 2) on a private Redis, a
loopback receiver and the test database. Celery beat's part (``deliveries_enqueue_due``, every
5 s in production) is played by this process, once a second.

Each test prints its figures (run with ``-s``) and asserts them."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from tests.support.servers import Receiver, Reply, wait_until
from webhooks.engine import scan
from webhooks.models import Attempt, Delivery
from webhooks.publish import publish_event

pytestmark = pytest.mark.reliability
CONCURRENCY = 2
# a batch starts no send after 1 s, so nothing waits in one as long as WEBHOOKS_STUCK_AFTER
FAST_RECOVERY = {
    "WEBHOOKS_STUCK_AFTER_SECONDS": 5,
    "WEBHOOKS_REENQUEUE_AFTER_SECONDS": 5,
    "WEBHOOKS_SEND_WINDOW_SECONDS": 1,
}


def webhook_ids(receiver) -> list[str]:
    """The ``webhook-id`` of every request the receiver got, duplicates included."""
    return [
        next(v for k, v in r.headers.items() if k.lower() == "webhook-id")
        for r in list(receiver.received)
    ]


def beat_until(predicate, timeout: float) -> bool:
    def tick():
        scan.deliveries_enqueue_due()
        return predicate()

    return wait_until(tick, timeout, interval=1.0)


def _publish_many(user, count: int) -> None:
    try:
        for i in range(count):
            publish_event(
                owner=user,
                event="playground.created",
                data={"id": i, "name": f"pg {i}", "status": "created"},
            )
    finally:
        connection.close()  # this thread's own connection


@pytest.fixture
def fast_recovery(settings):
    """Re-enqueue lost messages and stuck attempts after 5 s instead of 60/120 s, here and in
    the workers."""
    settings.WEBHOOKS_STUCK_AFTER = settings.WEBHOOKS_REENQUEUE_AFTER = timedelta(seconds=5)
    return FAST_RECOVERY


@pytest.mark.timeout(300)
def test_1000_events_with_the_worker_killed_twice_all_arrive(
    start_worker, fast_recovery, user, make_endpoint, receiver, settings
):
    # given a worker and an endpoint on a loopback receiver
    worker = start_worker(**fast_recovery)
    make_endpoint(receiver.url)
    receiver.default = Reply(delay=0.005)
    # when 1000 events are published (by another thread, as a web process would) and the
    # worker is killed -9 twice on the way
    publisher = threading.Thread(target=_publish_many, args=(user, 1000))
    publisher.start()
    kills = []
    try:
        for at in (200, 550):
            assert receiver.wait_for(at, timeout=90), f"only {len(receiver.received)} arrived"
            worker.kill()
            kills.append(len(receiver.received))
            worker = start_worker(**fast_recovery)
    finally:
        publisher.join(120)
    assert not publisher.is_alive()
    expected = {str(uid) for uid in Delivery.objects.values_list("uid", flat=True)}
    # then every delivery arrives at least once
    assert beat_until(lambda: set(webhook_ids(receiver)) >= expected, 180), (
        f"{len(expected - set(webhook_ids(receiver)))} deliveries never arrived"
    )
    assert wait_until(lambda: Delivery.objects.filter(status="succeeded").count() == 1000, 20)
    ids = webhook_ids(receiver)
    duplicates = len(ids) - len(set(ids))
    print(
        f"\n1000 events, worker killed at {kills} received: {len(set(ids))} distinct arrived, "
        f"{duplicates} duplicate(s) (same webhook-id sent again after a kill)"
    )
    assert len(expected) == 1000 and set(ids) == expected
    assert all(k < 1000 for k in kills)
    # only attempts a killed worker's batches had sent but not yet recorded can be sent twice
    # (each batch records its outcomes every pipeline.RECORD_EVERY seconds)
    assert duplicates <= len(kills) * CONCURRENCY * settings.WEBHOOKS_SEND_BATCH
    # one recorded success each; an attempt cut short by the kill was recorded as lost by the
    # beat scan (counted in attempt_count, claimed before sending)
    assert Attempt.objects.filter(response_status=200).count() == 1000
    assert Delivery.objects.aggregate(n=Sum("attempt_count"))["n"] >= len(ids)


@pytest.mark.timeout(240)
def test_receiver_down_then_up_retries_deliver_everything_with_reasons_logged(
    start_worker, fast_recovery, user, make_endpoint, receiver
):
    # given a worker and an endpoint whose receiver is down (connection refused)
    worker = start_worker(**fast_recovery)
    port = receiver.port
    make_endpoint(receiver.url)
    receiver.stop()
    # when 50 events are published
    for i in range(50):
        publish_event(
            owner=user,
            event="playground.created",
            data={"id": i, "name": f"pg {i}", "status": "created"},
        )
    # then each first attempt fails, is logged with its reason, and is scheduled ~5 s later
    assert wait_until(lambda: Attempt.objects.count() == 50, 60)
    assert wait_until(lambda: Delivery.objects.filter(status="retrying").count() == 50, 10)
    first = Attempt.objects.select_related("delivery").order_by("pk")
    assert {a.failure_reason for a in first} == {"Connection refused."}
    assert {a.response_status for a in first} == {None}
    for attempt in first:
        delay = attempt.delivery.next_attempt_at - attempt.created_at
        assert timedelta(seconds=3.9) < delay < timedelta(seconds=6.1)
    # and the second (after the 5 s retry, run by the beat scan) fails too, scheduled ~5 min on
    assert beat_until(lambda: Attempt.objects.count() == 100, 60)
    assert wait_until(lambda: Delivery.objects.filter(status="retrying").count() == 50, 10)
    for d in Delivery.objects.all():
        assert timedelta(minutes=3.9) < d.next_attempt_at - timezone.now() < timedelta(minutes=6.1)
    # when the receiver is back on its port and the 5-minute retries fall due (this test moves
    # next_attempt_at to now rather than wait five minutes)
    back = Receiver(port)
    try:
        Delivery.objects.update(next_attempt_at=timezone.now())
        # then every delivery arrives exactly once, on its third attempt
        assert beat_until(lambda: Delivery.objects.filter(status="succeeded").count() == 50, 60)
        ids = webhook_ids(back)
        assert len(ids) == 50 and set(ids) == {
            str(u) for u in Delivery.objects.values_list("uid", flat=True)
        }
    finally:
        back.stop()
    histories = {
        tuple(a.response_status for a in d.attempts.order_by("number"))
        for d in Delivery.objects.prefetch_related("attempts")
    }
    assert histories == {(None, None, 200)}
    assert set(Delivery.objects.values_list("attempt_count", flat=True)) == {3}
    assert Attempt.objects.filter(failure_reason="Connection refused.").count() == 100
    log = worker.log.read_text()
    print(
        f"\nreceiver down: 50 deliveries × 2 refused attempts, then delivered on attempt 3; "
        f"worker log lines for retries: {log.count('-> retrying')}"
    )
    assert log.count("-> retrying") == 100 and log.count("-> succeeded") == 50
