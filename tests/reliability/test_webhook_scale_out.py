"""Scale out: two workers in separate processes (as on two machines) drain one backlog through
the send task's pipeline, every delivery of it on the broker twice (as after a beat re-enqueue
racing a slow worker), and no delivery is sent twice."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.models import Count

from tests.support.servers import Reply, wait_until
from webhooks.engine import queue
from webhooks.models import Attempt, Delivery
from webhooks.publish import publish_event

pytestmark = pytest.mark.reliability
EVENTS = 300


@pytest.mark.timeout(240)
def test_two_workers_drain_one_backlog_without_sending_anything_twice(
    start_worker, broker, user, other_user, make_endpoint, receiver
):
    # given two idle workers, each claiming small batches (so both get a share)
    workers = [start_worker(WEBHOOKS_SEND_BATCH=20), start_worker(WEBHOOKS_SEND_BATCH=20)]
    make_endpoint(receiver.url)
    make_endpoint(receiver.url + "?b", owner=other_user)
    receiver.default = Reply(delay=0.005)

    # when a backlog for two accounts' endpoints lands at once (one commit) ...
    with transaction.atomic():
        for i in range(EVENTS // 2):
            for owner in (user, other_user):
                publish_event(
                    owner=owner,
                    event="playground.created",
                    data={"id": i, "name": f"pg {i}", "status": "created"},
                )
    # ... and every delivery's message is put on the broker a second time
    for pk in Delivery.objects.values_list("pk", flat=True):
        queue.enqueue([pk])

    # then every delivery arrives exactly once, with one attempt row
    assert receiver.wait_for(EVENTS, timeout=120), f"only {len(receiver.received)} arrived"
    assert wait_until(lambda: not broker.queued(), 30)
    assert wait_until(lambda: Delivery.objects.filter(status="succeeded").count() == EVENTS, 20)
    sent = [r.headers["X-Playground-Delivery"] for r in receiver.received]
    assert len(sent) == len(set(sent)) == EVENTS
    assert not Attempt.objects.values("delivery").annotate(n=Count("pk")).filter(n__gt=1)
    assert set(Delivery.objects.values_list("attempt_count", flat=True)) == {1}
    # and both workers sent part of it
    for worker in workers:
        assert worker.log.read_text().count("-> succeeded") > 10, worker.log
