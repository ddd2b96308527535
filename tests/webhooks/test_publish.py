import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from webhooks.engine import queue
from webhooks.events import EVENT_NAMES, EVENTS, grouped
from webhooks.models import Delivery, Event, ListenEvent, ListenSession
from webhooks.publish import publish_event

DATA = {"id": 7, "name": "pg", "status": "running"}


def test_catalogue_has_the_thirteen_events_each_with_a_sample():
    assert len(EVENTS) == 13
    assert set(grouped()) == {"playground", "playroom", "playspec", "api_key"}
    for event in EVENTS:
        assert event.description and {"id", "name", "status"} <= set(event.sample)


def test_publish_writes_one_delivery_per_active_subscribed_endpoint(
    user, other_user, make_endpoint, django_capture_on_commit_callbacks
):
    subscribed = make_endpoint("https://a.example/hook")
    make_endpoint("https://b.example/hook", events=["playroom.created"])
    make_endpoint("https://c.example/hook", is_active=False)
    make_endpoint("https://d.example/hook", owner=other_user)

    with django_capture_on_commit_callbacks() as callbacks:
        event = publish_event(owner=user, event="playground.created", data=DATA)

    assert [d.endpoint_id for d in event.deliveries.all()] == [subscribed.pk]
    assert len(callbacks) == 1
    body = json.loads(bytes(event.body))
    assert body["event"] == "playground.created" and body["data"] == DATA
    assert body["timestamp"].endswith("Z")


def test_publish_without_subscribers_writes_nothing(user, make_endpoint):
    make_endpoint("https://b.example/hook", events=["playroom.created"])

    assert publish_event(owner=user, event="playground.created", data=DATA) is None
    assert not Event.objects.exists()


def test_publish_rejects_unknown_events_and_incomplete_data(user):
    with pytest.raises(ValueError):
        publish_event(owner=user, event="playground.exploded", data=DATA)
    with pytest.raises(ValueError):
        publish_event(owner=user, event="playground.created", data={"id": 1})


def test_beat_schedule_names_registered_tasks():
    from django.conf import settings

    from fibe_access.celery import app

    app.loader.import_default_modules()
    names = [
        entry["task"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"].startswith("webhooks.")
    ]
    assert sorted(names) == [
        "webhooks.listen_tasks.sessions_expire",
        "webhooks.tasks.deliveries_enqueue_due",
        "webhooks.tasks.deliveries_purge_old",
        "webhooks.tasks.endpoints_disable_failing",
    ]
    assert all(name in app.tasks for name in names)
    assert queue.SEND_TASK in app.tasks
    assert app.amqp.router.route({}, queue.SEND_TASK)["queue"].name == "webhooks"
    # the shims for messages queued before the one pipeline still consume on the same queue
    for old in ("webhooks.tasks.delivery_attempt", "webhooks.tasks.deliveries_enqueue_batch"):
        assert old in app.tasks and app.amqp.router.route({}, old)["queue"].name == "webhooks"


@pytest.mark.parametrize("count", [1, 60])
def test_publish_query_count_is_constant(user, make_endpoint, count, django_assert_num_queries):
    for i in range(count):
        make_endpoint(f"https://h{i}.example/hook", events=list(EVENT_NAMES))

    # endpoints and live listen sessions (one UNION ALL), the event, its deliveries
    with transaction.atomic(), django_assert_num_queries(3):
        publish_event(owner=user, event="playground.stopped", data=DATA)

    deliveries = Delivery.objects.all()
    assert len(deliveries) == count
    assert len({d.uid for d in deliveries}) == count
    assert {(d.status, d.next_trigger, d.attempt_count, d.is_test) for d in deliveries} == {
        ("pending", "scheduled", 0, False)
    }
    assert all(d.next_attempt_at is not None for d in deliveries)


def test_one_query_finds_the_endpoints_and_the_live_sessions_told_about_the_event(
    user, other_user, make_endpoint, django_assert_num_queries
):
    told = make_endpoint("https://a.example/hook")
    make_endpoint("https://b.example/hook", events=["playroom.created"])
    now = timezone.now()

    def session(owner, events, polled):
        return ListenSession.objects.create(
            owner=owner, host="laptop", events=events, secret="s" * 32, last_polled_at=polled
        )

    listening = session(user, ["playground.created"], now)
    session(user, ["playroom.created"], now)  # told about another event
    session(user, ["playground.created"], now - timedelta(hours=1))  # lapsed
    session(other_user, ["playground.created"], now)  # someone else's

    with transaction.atomic(), django_assert_num_queries(4):
        event = publish_event(owner=user, event="playground.created", data=DATA)

    assert [d.endpoint_id for d in event.deliveries.all()] == [told.pk]
    assert list(ListenEvent.objects.values_list("session_id", flat=True)) == [listening.pk]


def test_rolled_back_publish_leaves_nothing_and_enqueues_nothing(
    user, make_endpoint, django_capture_on_commit_callbacks
):
    make_endpoint("https://a.example/hook")

    with django_capture_on_commit_callbacks() as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            publish_event(owner=user, event="playground.created", data=DATA)
            raise RuntimeError("the resource change failed")

    assert callbacks == []
    assert not Event.objects.exists() and not Delivery.objects.exists()


@pytest.mark.parametrize("count", [3, queue.SEND_CHUNK + 25])
def test_commit_puts_one_message_per_batch_of_deliveries(
    user, make_endpoint, broker, count, django_capture_on_commit_callbacks
):
    for i in range(count):
        make_endpoint(f"https://h{i}.example/hook")

    with django_capture_on_commit_callbacks(execute=True):
        publish_event(owner=user, event="playground.created", data=DATA)
        assert broker.queued() == []  # nothing leaves before the commit

    ids = sorted(Delivery.objects.values_list("pk", flat=True))
    queued = broker.queued()
    assert {name for name, _ in queued} == {queue.SEND_TASK}
    assert len(queued) == -(-count // queue.SEND_CHUNK)  # one message per batch
    assert sorted(pk for _, args in queued for pk in args[0]) == ids
