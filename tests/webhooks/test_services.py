from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from fibe_access.accounts.stepup import StepUpRequired
from tests.support.servers import Reply
from webhooks import selectors, services
from webhooks.engine import queue, scan
from webhooks.engine.pipeline import deliveries_send
from webhooks.models import Delivery
from webhooks.publish import publish_event

from .sending import deliver

Kind = SecurityEvent.Kind
DATA = {"id": 1, "name": "pg", "status": "running"}


def _kinds(user):
    return list(
        SecurityEvent.objects.filter(user=user).order_by("pk").values_list("kind", flat=True)
    )


def test_endpoint_lifecycle_is_security_logged(user, web_actor):
    endpoint = services.endpoint_create(
        actor=web_actor,
        url="http://127.0.0.1:9/a",
        events=["playroom.created", "playground.created"],
        secret="abc",
    )
    services.endpoint_update(actor=web_actor, endpoint=endpoint, secret="xyz")
    services.endpoint_disable(actor=web_actor, endpoint=endpoint)
    services.endpoint_enable(actor=web_actor, endpoint=endpoint)
    services.endpoint_delete(actor=web_actor, endpoint=endpoint)

    assert endpoint.events == ["playground.created", "playroom.created"]  # catalogue order
    assert _kinds(user) == [
        Kind.WEBHOOK_CREATED,
        Kind.WEBHOOK_UPDATED,
        Kind.WEBHOOK_SECRET_CHANGED,
        Kind.WEBHOOK_DISABLED,
        Kind.WEBHOOK_ENABLED,
        Kind.WEBHOOK_DELETED,
    ]
    for event in SecurityEvent.objects.filter(user=user):
        assert event.detail["url"] == "http://127.0.0.1:9/a"
        assert "abc" not in str(event.detail) and "xyz" not in str(event.detail)


def test_web_actor_without_step_up_is_refused(user):
    actor = Actor(user=user, source=Source.WEB, stepped_up=False)

    with pytest.raises(StepUpRequired):
        services.endpoint_create(
            actor=actor, url="http://127.0.0.1:9/a", events=["playground.created"]
        )


@pytest.mark.parametrize("events", [[], ["playground.exploded"], "playground.created"])
def test_events_must_come_from_the_catalogue(api_actor, events):
    with pytest.raises(ValidationError):
        services.endpoint_create(actor=api_actor, url="http://127.0.0.1:9/a", events=events)


def test_cannot_touch_another_owners_endpoint(api_actor, other_user, make_endpoint):
    theirs = make_endpoint("http://127.0.0.1:9/a", owner=other_user)

    with pytest.raises(PermissionDenied):
        services.endpoint_update(actor=api_actor, endpoint=theirs, description="mine now")


def test_test_webhook_goes_through_the_same_path_marked_as_test(
    user, api_actor, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(receiver.url)
    receiver.reply(Reply(status=500))

    with django_capture_on_commit_callbacks() as callbacks:
        delivery = services.endpoint_test(actor=api_actor, endpoint=endpoint)
    attempt = deliver(delivery)

    assert len(callbacks) == 1
    assert receiver.received[0].headers["X-Playground-Event"] == "playground.created"
    delivery.refresh_from_db()
    assert delivery.is_test and attempt.trigger == Delivery.Trigger.TEST
    assert delivery.status == Delivery.Status.FAILED  # tests are not retried
    assert list(selectors.delivery_list(endpoint=endpoint, is_test=True)) == [delivery]


def test_redeliver_is_logged_as_manual(user, api_actor, make_endpoint, receiver):
    endpoint = make_endpoint(receiver.url)
    publish_event(owner=user, event="playground.created", data=DATA)
    delivery = Delivery.objects.get()
    deliver(delivery)

    services.delivery_redeliver(actor=api_actor, delivery=delivery)
    deliver(delivery)

    triggers = [a.trigger for a in selectors.delivery_list(endpoint=endpoint)[0].attempts.all()]
    assert triggers == [Delivery.Trigger.SCHEDULED, Delivery.Trigger.MANUAL]
    assert len(receiver.received) == 2


def test_recover_failed_since_resends_only_recent_failures(
    user, api_actor, make_endpoint, receiver
):
    endpoint = make_endpoint(receiver.url)
    for _ in range(3):
        publish_event(owner=user, event="playground.created", data=DATA)
    old, recent, ok = Delivery.objects.order_by("pk")
    Delivery.objects.filter(pk__in=[old.pk, recent.pk]).update(status=Delivery.Status.FAILED)
    Delivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))

    count = services.deliveries_recover_failed(
        actor=api_actor, endpoint=endpoint, since=timezone.now() - timedelta(days=1)
    )

    assert count == 1
    recent.refresh_from_db()
    assert recent.status == Delivery.Status.PENDING
    assert recent.next_trigger == Delivery.Trigger.MANUAL
    assert Delivery.objects.get(pk=old.pk).status == Delivery.Status.FAILED


def test_delivery_log_filters_in_constant_queries(
    user, make_endpoint, receiver, django_assert_num_queries
):
    endpoint = make_endpoint(receiver.url, events=["playground.created", "playroom.created"])
    for event in ["playground.created", "playroom.created"] * 5:
        publish_event(owner=user, event=event, data=DATA)
    assert deliveries_send(delivery_ids=list(Delivery.objects.values_list("pk", flat=True))) == 10

    with django_assert_num_queries(2):
        rows = list(
            selectors.delivery_list(endpoint=endpoint, event="playroom.created", status="succeeded")
        )
        assert sum(len(r.attempts.all()) for r in rows) == 5

    assert len(rows) == 5 and {r.event.type for r in rows} == {"playroom.created"}


def test_enqueue_due_picks_due_and_lost_deliveries_and_records_stuck_attempts(
    user, make_endpoint, broker, django_capture_on_commit_callbacks
):
    make_endpoint("http://127.0.0.1:9/a")
    for _ in range(5):
        publish_event(owner=user, event="playground.created", data=DATA)
    now = timezone.now()
    fresh, lost, retry_due, retry_later, stuck = Delivery.objects.order_by("pk")
    Delivery.objects.filter(pk=lost.pk).update(enqueued_at=now - timedelta(minutes=5))
    Delivery.objects.filter(pk=retry_due.pk).update(status="retrying", enqueued_at=None)
    Delivery.objects.filter(pk=retry_later.pk).update(
        status="retrying", enqueued_at=None, next_attempt_at=now + timedelta(minutes=5)
    )
    Delivery.objects.filter(pk=stuck.pk).update(
        enqueued_at=now - timedelta(minutes=10),
        in_flight_since=now - timedelta(minutes=10),
        attempt_count=1,
    )

    with django_capture_on_commit_callbacks() as callbacks:
        count = scan.deliveries_enqueue_due()
        assert broker.queued() == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()

    queued = broker.queued()
    assert count == 2 and len(callbacks) == 1
    assert [name for name, _ in queued] == [queue.SEND_TASK]  # one message for the batch
    assert sorted(queued[0][1][0]) == sorted([lost.pk, retry_due.pk])  # not the fresh one
    # the stuck attempt is recorded as lost and counts: retried on the schedule, not at once
    stuck.refresh_from_db()
    assert stuck.status == "retrying" and stuck.in_flight_since is None
    assert timedelta(seconds=3) < stuck.next_attempt_at - now < timedelta(seconds=7)
    (attempt,) = stuck.attempts.all()
    assert (attempt.number, attempt.response_status) == (1, None)
    assert attempt.failure_reason == scan.LOST_REASON
