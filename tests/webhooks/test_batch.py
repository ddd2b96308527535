"""The send task's pipeline in this process, in batches: one call claims many due deliveries,
sends them (one thread per account) and records one attempt row each with a few queries
whatever the batch size; busy endpoints go back uncounted, a closing send window hands the
rest back, and a stalling receiver is cut at the attempt budget by the deadline that works in
the sending threads."""

import time
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from webhooks.engine import pipeline, queue, slots
from webhooks.models import Attempt, Delivery
from webhooks.publish import publish_event

from .hostile import HostileReceiver

DATA = {"id": 1, "name": "pg", "status": "running"}


def _publish(owner, count: int) -> list[int]:
    for i in range(count):
        publish_event(owner=owner, event="playground.created", data={**DATA, "id": i})
    return list(
        Delivery.objects.filter(endpoint__owner=owner).order_by("pk").values_list("pk", flat=True)
    )


@pytest.mark.parametrize("count", [4, 40])
def test_one_call_sends_a_batch_with_one_attempt_row_each_in_a_few_queries(
    count, user, other_user, make_endpoint, receiver, django_assert_max_num_queries, monkeypatch
):
    monkeypatch.setattr(pipeline, "RECORD_EVERY", 30.0)  # one recording, once all are sent
    make_endpoint(receiver.url)
    make_endpoint(receiver.url + "?other", owner=other_user)
    ids = _publish(user, count // 2) + _publish(other_user, count // 2)

    # claim: set, select given, select more due, mark; record: set, select, update, insert
    # (and a savepoint around each, inside the test transaction): not one per delivery
    with django_assert_max_num_queries(12):
        sent = pipeline.deliveries_send(delivery_ids=ids[:1])  # the rest are due: claimed too

    assert sent == count and len(receiver.received) == count
    uids = {r.headers["X-Playground-Delivery"] for r in receiver.received}
    assert uids == {str(u) for u in Delivery.objects.values_list("uid", flat=True)}
    assert set(Delivery.objects.values_list("status", "attempt_count", "in_flight_since")) == {
        ("succeeded", 1, None)
    }
    rows = Attempt.objects.values("delivery").annotate(n=Count("pk"))
    assert len(rows) == count and {r["n"] for r in rows} == {1}
    assert set(Attempt.objects.values_list("response_status", "number", "trigger")) == {
        (200, 1, "scheduled")
    }
    # the same bytes as stored at publish, and nothing left to send a second time
    stored = {bytes(b) for b in Delivery.objects.values_list("event__body", flat=True)}
    assert {r.body for r in receiver.received} == stored
    assert pipeline.deliveries_send(delivery_ids=ids) == 0 and len(receiver.received) == count


def test_not_yet_due_and_finished_deliveries_are_left_alone(user, make_endpoint, receiver):
    make_endpoint(receiver.url)
    later, done, due = _publish(user, 3)
    Delivery.objects.filter(pk=later).update(
        status="retrying", next_attempt_at=timezone.now() + timedelta(minutes=5)
    )
    Delivery.objects.filter(pk=done).update(status="succeeded")

    assert pipeline.deliveries_send(delivery_ids=[later, done]) == 1

    assert len(receiver.received) == 1
    assert Delivery.objects.get(pk=due).status == "succeeded"
    assert Delivery.objects.get(pk=later).attempt_count == 0


def test_failures_are_recorded_one_by_one_on_the_retry_schedule(user, make_endpoint, receiver):
    from tests.support.servers import Reply

    make_endpoint(receiver.url)
    ids = _publish(user, 3)
    receiver.reply(Reply(status=500), Reply(status=200), Reply(status=503))

    assert pipeline.deliveries_send(delivery_ids=ids) == 3

    statuses = dict(Delivery.objects.values_list("pk", "status"))
    assert sorted(statuses.values()) == ["retrying", "retrying", "succeeded"]
    retrying = Delivery.objects.filter(status="retrying")
    assert all(d.next_attempt_at > timezone.now() for d in retrying)
    assert Attempt.objects.count() == 3
    assert Attempt.objects.exclude(response_status=200).filter(failure_reason="").count() == 0


def test_a_busy_endpoint_is_skipped_uncounted_and_tried_again_later(
    settings, user, other_user, make_endpoint, receiver, broker
):
    settings.WEBHOOKS_ENDPOINT_CONCURRENCY = 1
    busy = make_endpoint(receiver.url)
    make_endpoint(receiver.url + "?free", owner=other_user)
    busy_ids = _publish(user, 2)
    free_ids = _publish(other_user, 2)
    held = slots.acquire(busy.pk, user.pk)

    assert pipeline.deliveries_send(delivery_ids=busy_ids + free_ids) == 2

    assert {r.path for r in receiver.received} == {"/hook?free"}
    assert set(
        Delivery.objects.filter(pk__in=busy_ids).values_list(
            "status", "attempt_count", "in_flight_since"
        )
    ) == {("pending", 0, None)}
    assert broker.queued() == [(queue.SEND_TASK, [busy_ids])]  # again in a second
    slots.release(busy.pk, user.pk, held)
    # and the batch gave back its own slots: the endpoint has its one slot free again
    token = slots.acquire(busy.pk, user.pk)
    assert token is not None
    slots.release(busy.pk, user.pk, token)


def test_one_thread_holds_one_slot_of_its_account_for_all_its_endpoints(
    settings, user, make_endpoint, receiver
):
    settings.WEBHOOKS_ACCOUNT_CONCURRENCY = 1
    for i in range(3):
        make_endpoint(receiver.url + f"?e{i}")
    ids = _publish(user, 2)  # two events to three endpoints

    assert pipeline.deliveries_send(delivery_ids=ids) == 6
    assert len(receiver.received) == 6


def test_deliveries_left_when_the_send_window_closes_go_back_uncounted(
    settings, user, make_endpoint, receiver, broker
):
    from tests.support.servers import Reply

    settings.WEBHOOKS_SEND_WINDOW = 0.2
    make_endpoint(receiver.url)
    ids = _publish(user, 5)
    receiver.default = Reply(delay=0.3)

    sent = pipeline.deliveries_send(delivery_ids=ids)

    assert sent == 1 and len(receiver.received) == 1
    rest = Delivery.objects.exclude(status="succeeded")
    assert set(rest.values_list("status", "attempt_count", "in_flight_since")) == {
        ("pending", 0, None)
    }
    assert broker.queued() == [(queue.SEND_TASK, [sorted(d.pk for d in rest)])]
    assert Attempt.objects.count() == 1


def test_a_disabled_endpoint_is_not_sent_to_and_a_spent_delivery_is_not_sent_again(
    user, other_user, make_endpoint, receiver
):
    disabled = make_endpoint(receiver.url)
    make_endpoint(receiver.url + "?spent", owner=other_user)
    off = _publish(user, 1)
    spent = _publish(other_user, 1)
    disabled.is_active = False
    disabled.save()
    Delivery.objects.filter(pk__in=spent).update(attempt_count=8, status="retrying")

    assert pipeline.deliveries_send(delivery_ids=off + spent) == 0

    assert receiver.received == [] and not Attempt.objects.exists()
    assert set(Delivery.objects.values_list("status", flat=True)) == {"failed"}


@pytest.mark.parametrize("mode", ["dribble_headers", "dribble_body", "silent"])
def test_a_stalling_receiver_in_a_sender_thread_is_cut_at_the_budget_beside_a_served_one(
    mode, settings, user, other_user, make_endpoint, receiver
):
    settings.WEBHOOKS_ATTEMPT_BUDGET = 1.5
    settings.WEBHOOKS_READ_TIMEOUT = 1.0
    hostile = HostileReceiver(mode, dribble_every=0.3)
    try:
        make_endpoint(hostile.url)
        make_endpoint(receiver.url, owner=other_user)
        ids = _publish(user, 1) + _publish(other_user, 1)
        started = time.monotonic()

        assert pipeline.deliveries_send(delivery_ids=ids) == 2

        took = time.monotonic() - started
        assert receiver.received[0].at - started < 1.0  # not held behind the stalling one
        assert hostile.count == 1
    finally:
        hostile.stop()
    stalled = Attempt.objects.get(delivery__endpoint__url=hostile.url)
    assert stalled.response_status in (None, 200)
    assert stalled.failure_reason, stalled
    if mode != "silent":  # silent is ended by its read timeout, the others by the budget
        assert "attempt budget" in stalled.failure_reason
    assert took < 1.5 + 1.5  # the budget, and a margin for this busy machine
    assert Delivery.objects.get(pk=ids[0]).status == "retrying"
    assert Delivery.objects.get(pk=ids[1]).status == "succeeded"


def test_the_old_task_names_forward_to_the_pipeline(user, make_endpoint, receiver, broker):
    # messages queued by the single-delivery engine before a deploy are still honoured
    from webhooks import tasks

    make_endpoint(receiver.url)
    first, second = _publish(user, 2)

    tasks.delivery_attempt(first)  # the old one-delivery message: sent by the pipeline
    tasks.deliveries_enqueue_batch([second])  # the old fan-out message: one batched message

    assert len(receiver.received) == 2  # the pipeline claimed the other due one too
    assert set(Attempt.objects.values_list("delivery_id", "trigger")) == {
        (first, "scheduled"),
        (second, "scheduled"),
    }
    assert broker.queued() == [(queue.SEND_TASK, [[second]])]
