"""Per-endpoint and per-account concurrency slots in the shared Redis, with a lease so a
killed worker cannot hold one for ever."""

import time

import pytest

from webhooks.engine import queue, slots
from webhooks.models import Delivery
from webhooks.publish import publish_event

from .sending import deliver

DATA = {"id": 1, "name": "pg", "status": "running"}


@pytest.fixture
def limits(settings):
    settings.WEBHOOKS_ENDPOINT_CONCURRENCY = 2
    settings.WEBHOOKS_ACCOUNT_CONCURRENCY = 3


def test_an_endpoint_gets_at_most_its_limit_of_slots(limits, make_endpoint, user):
    endpoint = make_endpoint("http://127.0.0.1:9/a")
    first, second = (slots.acquire(endpoint.pk, user.pk) for _ in range(2))

    assert first and second and first != second
    assert slots.acquire(endpoint.pk, user.pk) is None
    slots.release(endpoint.pk, user.pk, first)
    assert slots.acquire(endpoint.pk, user.pk)


def test_an_account_gets_at_most_its_limit_across_its_endpoints(
    limits, make_endpoint, user, other_user
):
    a, b = make_endpoint("http://127.0.0.1:9/a"), make_endpoint("http://127.0.0.1:9/b")
    theirs = make_endpoint("http://127.0.0.1:9/c", owner=other_user)
    held = [slots.acquire(a.pk, user.pk), slots.acquire(a.pk, user.pk)]
    held.append(slots.acquire(b.pk, user.pk))

    assert all(held)
    assert slots.acquire(b.pk, user.pk) is None  # b is free, the account is not
    assert slots.acquire(theirs.pk, other_user.pk)  # another account is unaffected


def test_a_slot_held_by_a_killed_worker_frees_when_its_lease_ends(
    limits, make_endpoint, user, monkeypatch
):
    endpoint = make_endpoint("http://127.0.0.1:9/a")
    monkeypatch.setattr(slots, "lease_seconds", lambda: 0.5)
    assert slots.acquire(endpoint.pk, user.pk) and slots.acquire(endpoint.pk, user.pk)
    assert slots.acquire(endpoint.pk, user.pk) is None

    time.sleep(0.6)  # never released: the workers holding them were killed

    assert slots.acquire(endpoint.pk, user.pk)


def test_a_busy_endpoint_postpones_the_attempt_without_counting_it(
    limits, make_endpoint, user, receiver, broker
):
    endpoint = make_endpoint(receiver.url)
    publish_event(owner=user, event="playground.created", data=DATA)
    delivery = Delivery.objects.get()
    held = [slots.acquire(endpoint.pk, user.pk) for _ in range(2)]

    assert deliver(delivery) is None

    delivery.refresh_from_db()
    assert delivery.attempt_count == 0 and delivery.in_flight_since is None
    assert receiver.received == [] and delivery.status == "pending"
    assert broker.queued() == [(queue.SEND_TASK, [[delivery.pk]])]  # tried again in 1 s
    for token in held:
        slots.release(endpoint.pk, user.pk, token)
    assert deliver(delivery).response_status == 200
