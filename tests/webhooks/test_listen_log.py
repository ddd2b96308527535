"""The delivery log of listen sessions: each event handed out is logged, the client's report of
forwarding it completes the row, the log reads on Profile → Webhooks like an endpoint's, only
the session's own key can report, bad reports change nothing, the engine never sends a row,
and old rows are purged with the delivery-log retention."""

import re
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.support.factories import api_key_make
from tests.support.pages import OLDER, Sql, assert_flat, link, walk
from webhooks import listen_log
from webhooks.engine import scan
from webhooks.models import Delivery, Event, ListenDelivery
from webhooks.publish import publish_event
from webhooks.views import PAGE_SIZE

from .listening import JSON, open_session


def data(n: int) -> dict:
    return {"id": n, "name": f"pg {n}", "status": "running", "playspec_id": None}


def poll(client, session_id, cursor=0):
    answer = client.get(
        f"/api/v1/webhooks/sessions/{session_id}/events", {"cursor": cursor, "wait": 0}
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def report(client, session_id, results):
    return client.post(
        f"/api/v1/webhooks/sessions/{session_id}/deliveries",
        {"results": results},
        content_type=JSON,
    )


@pytest.fixture
def listener(user, api_client):
    client = api_client(api_key_make(user, "webhooks:read")[1])
    session = open_session(client)
    for n in (1, 2):
        publish_event(owner=user, event="playground.created", data=data(n))
    messages = poll(client, session["id"])["events"]
    assert len(messages) == 2
    return client, session, [m["id"] for m in messages]


def rows(session_id):
    return {str(r.uid): r for r in ListenDelivery.objects.filter(session_ref=session_id)}


def test_each_handed_out_event_is_logged_and_the_report_completes_it(user, listener):
    client, session, (first, second) = listener

    pending = rows(session["id"])
    answer = report(
        client,
        session["id"],
        [
            {"id": first, "status": 200, "duration_ms": 12, "tries": 1},
            {"id": second, "status": None, "tries": 4, "error": "Connection refused"},
        ],
    )
    done = rows(session["id"])

    assert {r.status for r in pending.values()} == {"pending"}
    assert {r.event_type for r in pending.values()} == {"playground.created"}
    assert {r.host for r in pending.values()} == {"laptop.local"}
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"recorded": 2}
    ok, failed = done[first], done[second]
    assert (ok.status, ok.response_status, ok.duration_ms, ok.attempt_count) == (
        "succeeded",
        200,
        12,
        1,
    )
    assert (failed.status, failed.response_status, failed.attempt_count) == ("failed", None, 4)
    assert failed.failure_reason == "Connection refused"
    assert ok.event.owner == user  # the event it was, for its body


def test_a_message_named_twice_in_one_report_keeps_the_last_outcome(listener):
    client, session, (first, _) = listener

    answer = report(
        client, session["id"], [{"id": first, "status": 200}, {"id": first, "status": 500}]
    )

    assert answer.status_code == 200 and answer.json() == {"recorded": 1}
    assert rows(session["id"])[first].response_status == 500


def test_a_report_sent_again_overwrites_and_a_non_2xx_is_a_failure(listener):
    client, session, (first, _) = listener
    report(client, session["id"], [{"id": first, "status": 200, "duration_ms": 3}])

    again = report(client, session["id"], [{"id": first, "status": 503, "duration_ms": 9}])

    row = rows(session["id"])[first]
    assert again.status_code == 200
    assert (row.status, row.response_status, row.duration_ms) == ("failed", 503, 9)
    assert row.failure_reason == "The local receiver answered 503."


def test_the_engine_never_sends_a_listen_delivery(user, listener):
    client, session, ids = listener
    report(client, session["id"], [{"id": i, "status": 500} for i in ids])  # "failed"

    assert scan.deliveries_enqueue_due() == 0
    assert Delivery.objects.count() == 0
    assert ListenDelivery.objects.filter(status="failed").count() == 2


@pytest.mark.parametrize(
    "results",
    [
        [],
        [{"id": "not-a-uuid", "status": 200}],
        [{"id": "{first}", "status": 42}],
        [{"id": "{first}", "status": 200, "duration_ms": -1}],
        [{"id": "{first}", "status": 200, "tries": 0}],
        [{"id": "{first}", "status": 200, "error": "nul\x00"}],
        [{"id": "{first}", "status": 200, "error": "x" * 501}],
        [{"id": "{first}", "status": 200, "extra": 1}],
        [{"id": "{first}"}],  # status is required (null says "no answer")
        [{"id": "{first}", "status": 200}] * 101,
    ],
)
def test_bad_reports_are_422_and_change_nothing(listener, results):
    client, session, (first, _) = listener
    results = [
        {k: (v.format(first=first) if k == "id" else v) for k, v in r.items()} for r in results
    ]

    answer = report(client, session["id"], results)

    assert answer.status_code == 422, answer.content
    assert answer.json()["message"].startswith("results")
    assert {r.status for r in rows(session["id"]).values()} == {"pending"}


@pytest.mark.parametrize("body", [None, [], "text", 7])
def test_a_body_that_is_not_an_object_is_refused(listener, body):
    client, session, _ = listener
    answer = client.post(
        f"/api/v1/webhooks/sessions/{session['id']}/deliveries",
        body if body is not None else "null",
        content_type=JSON,
    )

    assert answer.status_code in (400, 422), answer.content
    assert {r.status for r in rows(session["id"]).values()} == {"pending"}


def test_a_message_never_handed_to_this_session_is_409_and_nothing_is_recorded(
    user, listener, api_client
):
    client, session, (first, _) = listener
    # the same key's second session, handed its own message
    other = open_session(client, host="other")
    publish_event(owner=user, event="playground.created", data=data(3))
    [theirs] = [m["id"] for m in poll(client, other["id"])["events"]]
    poll(client, session["id"])  # the first session gets it too; take its copy out of the way

    stranger = report(client, session["id"], [{"id": str(uuid.uuid4()), "status": 200}])
    mixed = report(
        client, session["id"], [{"id": first, "status": 200}, {"id": theirs, "status": 200}]
    )

    assert stranger.status_code == 409 and stranger.json()["code"] == "conflict"
    assert mixed.status_code == 409
    assert theirs in mixed.json()["message"]
    assert rows(session["id"])[first].status == "pending"  # all or nothing
    assert rows(other["id"])[theirs].status == "pending"


def test_another_key_or_account_cannot_report_for_the_session(
    user, other_user, listener, api_client
):
    _, session, (first, _) = listener
    for owner in (user, other_user):
        stranger = api_client(api_key_make(owner, "webhooks:read", "webhooks:write")[1])

        answer = report(stranger, session["id"], [{"id": first, "status": 200}])

        assert answer.status_code == 404
    no_scope = api_client(api_key_make(user, "playgrounds:read")[1])
    assert report(no_scope, session["id"], [{"id": first, "status": 200}]).status_code == 403
    assert rows(session["id"])[first].status == "pending"


def test_an_ended_session_takes_no_more_reports_but_its_log_stays(listener):
    client, session, (first, _) = listener

    assert client.delete(f"/api/v1/webhooks/sessions/{session['id']}").status_code == 204
    answer = report(client, session["id"], [{"id": first, "status": 200}])

    assert answer.status_code == 404
    assert len(rows(session["id"])) == 2


def test_a_trigger_is_logged_as_a_test(user, api_client):
    client = api_client(api_key_make(user, "webhooks:read", "webhooks:write")[1])
    session = open_session(client)
    triggered = client.post(
        "/api/v1/webhooks/trigger", {"event": "playground.created"}, content_type=JSON
    )
    assert triggered.status_code == 202, triggered.content

    poll(client, session["id"])

    [row] = rows(session["id"]).values()
    assert row.is_test


def test_the_log_is_purged_after_the_delivery_log_retention(listener, settings):
    _, session, (first, second) = listener
    settings.WEBHOOKS_LOG_RETENTION = timedelta(days=30)
    ListenDelivery.objects.filter(uid=first).update(created_at=timezone.now() - timedelta(days=31))

    assert listen_log.deliveries_purge_old() == 1

    assert list(rows(session["id"])) == [second]


def test_the_event_purge_leaves_the_log_readable(listener):
    _, session, (first, _) = listener
    Event.objects.all().delete()  # what the engine's retention purge does to old events

    row = ListenDelivery.objects.select_related("event").get(uid=first)

    assert row.event is None and row.event_type == "playground.created"


# --- Profile → Webhooks ----------------------------------------------------------------------


def test_the_page_shows_the_sessions_deliveries_like_an_endpoints(
    user, other_user, listener, stepped_up_client, make_stepped_up_client
):
    client, session, (first, second) = listener
    report(
        client,
        session["id"],
        [
            {"id": first, "status": 200, "duration_ms": 12},
            {"id": second, "status": None, "tries": 4, "error": "Connection refused"},
        ],
    )

    listing = stepped_up_client.get("/profile/webhooks/")
    page = stepped_up_client.get("/profile/webhooks/cli/")
    only_failed = stepped_up_client.get("/profile/webhooks/cli/", {"status": "failed"})
    this_session = stepped_up_client.get("/profile/webhooks/cli/", {"session": session["id"]})
    no_session = stepped_up_client.get("/profile/webhooks/cli/", {"session": 10**30})
    theirs = make_stepped_up_client(other_user).get("/profile/webhooks/cli/")

    assert b"/profile/webhooks/cli/?session=" in listing.content
    assert page.status_code == 200
    text = page.content.decode()
    assert first in text and second in text
    assert "Connection refused" in text and "12 ms" in text and "laptop.local" in text
    assert first not in only_failed.content.decode() and second in only_failed.content.decode()
    assert first in this_session.content.decode()
    assert no_session.status_code == 200
    assert first not in theirs.content.decode() and b"No deliveries yet" in theirs.content


def test_the_page_needs_a_step_up(logged_in_client):
    answer = logged_in_client.get("/profile/webhooks/cli/")

    assert answer.status_code == 302


def test_the_cli_log_pages_by_position_and_stays_flat(user, stepped_up_client):
    ListenDelivery.objects.bulk_create(
        ListenDelivery(owner=user, session_ref=7, uid=uuid.uuid4(), event_type="playground.created")
        for _ in range(PAGE_SIZE * 2 + 3)
    )
    path = "/profile/webhooks/cli/?session=7"

    pages = walk(stepped_up_client, path)
    deep = Sql(stepped_up_client, "/profile/webhooks/cli/" + link(pages[1], OLDER))

    assert len(pages) == 3
    shown = [uid for p in pages for uid in re.findall(r'listen-delivery-(\d+)"', p)]
    assert sorted(map(int, shown)) == sorted(ListenDelivery.objects.values_list("pk", flat=True))
    assert_flat(deep.on("webhooks_listendelivery"), limit=PAGE_SIZE)
