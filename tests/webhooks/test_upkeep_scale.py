"""The beat's upkeep stays bounded as the tables grow (issue 27): the purge deletes in batches
of a bounded size, at most so many a run, each statement on an index; disabling failing
endpoints reads an index. The time is bench/scale.py's business, never a test's."""

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.support.plans import index_conditions, statements, unindexed
from webhooks.engine import upkeep
from webhooks.models import Attempt, Delivery, Event, ListenEvent, ListenSession
from webhooks.publish import publish_event


def _history(user, endpoint, n, *, days_ago):
    """``n`` events with a delivery and two attempts each, ``days_ago`` old."""
    for i in range(n):
        event = publish_event(
            owner=user, event="playground.created", data={"id": i, "name": "x", "status": "s"}
        )
        delivery = Delivery.objects.get(event=event)
        for number in (1, 2):
            Attempt.objects.create(
                delivery=delivery,
                number=number,
                trigger="scheduled",
                request_url=endpoint.url,
                request_body=b"{}",
                response_status=500,
            )
        Event.objects.filter(pk=event.pk).update(
            created_at=timezone.now() - timedelta(days=days_ago)
        )


def _deletes_of(captured, table):
    start = ["DELETE", "FROM", f'"{table}"']
    return [q["sql"] for q in captured.captured_queries if q["sql"].split()[:3] == start]


def test_purge_deletes_in_bounded_batches_and_keeps_what_is_recent(user, make_endpoint, settings):
    settings.WEBHOOKS_LOG_RETENTION = timedelta(days=30)
    endpoint = make_endpoint("https://hooks.example.com/in")
    _history(user, endpoint, 5, days_ago=31)
    _history(user, endpoint, 2, days_ago=1)
    session = ListenSession.objects.create(owner=user, secret="s", last_polled_at=timezone.now())
    ListenEvent.objects.create(session=session, event=Event.objects.order_by("created_at")[0])

    with CaptureQueriesContext(connection) as captured:
        assert upkeep.deliveries_purge_old(batch=2) == 5

    # Three batches of at most two events: one DELETE per table per batch, no more.
    for table in (
        "webhooks_event",
        "webhooks_delivery",
        "webhooks_attempt",
        "webhooks_listenevent",
    ):
        assert len(_deletes_of(captured, table)) == 3, table
    assert Event.objects.count() == 2
    assert Delivery.objects.count() == 2 and Attempt.objects.count() == 4
    assert not ListenEvent.objects.exists()


def test_one_run_deletes_at_most_its_batches(user, make_endpoint, settings):
    settings.WEBHOOKS_LOG_RETENTION = timedelta(days=30)
    endpoint = make_endpoint("https://hooks.example.com/in")
    _history(user, endpoint, 5, days_ago=40)

    assert upkeep.deliveries_purge_old(batch=2, max_batches=2) == 4
    assert Event.objects.count() == 1 and Attempt.objects.count() == 2
    assert upkeep.deliveries_purge_old(batch=2, max_batches=2) == 1  # the next run: the rest
    assert not Attempt.objects.exists()


def test_the_purge_rests_between_batches_in_proportion_to_each(
    user, make_endpoint, settings, monkeypatch
):
    settings.WEBHOOKS_LOG_RETENTION = timedelta(days=30)
    settings.WEBHOOKS_PURGE_PAUSE = 2.0
    _history(user, make_endpoint("https://hooks.example.com/in"), 5, days_ago=31)

    class Clock:  # every reading a quarter second later; sleeps are recorded, not slept
        now, slept = 0.0, []

        def monotonic(self):
            self.now += 0.25
            return self.now

        def sleep(self, seconds):
            self.slept.append(seconds)

    clock = Clock()
    monkeypatch.setattr(upkeep, "time", clock)
    assert upkeep.deliveries_purge_old(batch=2) == 5
    # Three batches, each 0.25 s by this clock: nothing before the first, twice 0.5 s after.
    assert clock.slept == [0.0, 0.5, 0.5]


def test_every_purge_statement_runs_on_an_index(user, make_endpoint, settings):
    settings.WEBHOOKS_LOG_RETENTION = timedelta(days=30)
    endpoint = make_endpoint("https://hooks.example.com/in")
    _history(user, endpoint, 3, days_ago=31)

    with CaptureQueriesContext(connection) as captured:
        upkeep.deliveries_purge_old(batch=2)

    found = statements(captured)
    assert len(found) >= 5  # the select of a batch and its four deletes, at least
    for sql in found:
        assert not unindexed(sql), sql


def test_disabling_failing_endpoints_reads_an_index(user, make_endpoint):
    make_endpoint("https://hooks.example.com/in", failing_since=timezone.now() - timedelta(days=9))

    with CaptureQueriesContext(connection) as captured:
        upkeep.endpoints_disable_failing()

    select = statements(captured, ("SELECT",))[0]
    assert any("failing_since" in cond for cond in index_conditions(select)), select
