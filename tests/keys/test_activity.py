"""Per-key activity (issue 24), in this process: every authenticated REST request and MCP tool
call is buffered with its door, operation, record and status, written in batches, linked to
the webhook deliveries a write caused, dropped and counted past the buffer, and trimmed.

This process has no background writer (API_ACTIVITY_BACKGROUND is off under pytest): each
test calls ``recorder.flush()`` itself, inside its own transaction. The live server tests
(tests/keys/test_activity_live.py) exercise the background writer."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from fibe_access.accounts.actor import Actor, Source
from fibe_access.resources import services as resources
from fibe_access.resources.models import Playground
from keys import activity, activity_selectors
from keys.activity_model import KeyActivity, KeyActivityHour
from tests.support.factories import UserFactory, api_key_make, resource_make
from webhooks.models import Delivery, WebhookEndpoint

CLI_AGENT = "fibe-cli/1"


@pytest.fixture
def recorder(db):
    activity.recorder.discard()
    cache.delete(activity.DROPPED)
    yield activity.recorder
    activity.recorder.discard()


def _mcp(token: str, name: str, arguments: dict) -> dict:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
    body["params"] = {"name": name, "arguments": arguments}
    answer = Client().post(
        "/mcp",
        json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_ACCEPT="application/json, text/event-stream",
        HTTP_USER_AGENT=CLI_AGENT,  # an MCP call is MCP whatever client sent it
    )
    assert answer.status_code == 200, answer.content
    return answer.json()["result"]


def _rows(key) -> list[tuple]:
    return [
        (a.door, a.operation, a.status, a.record_id)
        for a in KeyActivity.objects.filter(key=key).order_by("at", "id")
    ]


def test_rest_cli_and_mcp_calls_of_one_key_appear_in_order_with_doors_and_statuses(user, recorder):
    key, token = api_key_make(user, "playgrounds:manage", "mcp:access")
    theirs = resource_make(Playground, UserFactory())
    rest = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    assert rest.get("/api/v1/playgrounds").status_code == 200
    made = rest.post(
        "/api/v1/playgrounds",
        {"name": "demo"},
        content_type="application/json",
        HTTP_USER_AGENT=CLI_AGENT,
    )
    assert made.status_code == 201
    made_id = made.json()["id"]
    assert rest.get(f"/api/v1/playgrounds/{theirs.pk}").status_code == 404
    assert rest.post("/api/v1/playgrounds", {"name": 5}, "application/json").status_code == 422
    assert not _mcp(token, "playgrounds_get", {"id": made_id})["isError"]
    assert _mcp(token, "secrets_list", {})["structuredContent"]["status"] == 403
    # not authenticated: nothing to record against the key
    assert Client().get("/api/v1/playgrounds").status_code == 401
    assert len(recorder.pending) == 6 and KeyActivity.objects.count() == 0  # off the path

    assert recorder.flush() == 6

    assert _rows(key) == [
        ("rest", "playgrounds.list", 200, None),
        ("cli", "playgrounds.create", 201, made_id),
        ("rest", "playgrounds.get", 404, theirs.pk),
        ("rest", "playgrounds.create", 422, None),
        ("mcp", "playgrounds.get", 200, made_id),
        ("mcp", "secrets.list", 403, None),
    ]
    row = KeyActivity.objects.filter(key=key).first()
    assert row.ip == "127.0.0.1" and row.duration_ms >= 0


def test_me_activity_lists_the_calling_keys_own_newest_first_filtered_and_paged(user, recorder):
    key, token = api_key_make(user, "playgrounds:read")
    _, other_token = api_key_make(user, "playgrounds:read")
    mine = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    other = Client(HTTP_AUTHORIZATION=f"Bearer {other_token}")
    for _ in range(3):
        mine.get("/api/v1/playgrounds")
    mine.get("/api/v1/playgrounds/999999999")
    other.get("/api/v1/playgrounds")
    recorder.flush()

    page = mine.get("/api/v1/me/activity?limit=2").json()
    assert page["count"] == 4 and len(page["items"]) == 2
    assert page["items"][0]["operation"] == "playgrounds.get"  # newest first
    assert set(page["items"][0]) == {
        "at",
        "door",
        "operation",
        "record_id",
        "status",
        "duration_ms",
        "ip",
    }
    failed = mine.get("/api/v1/me/activity?outcome=failed").json()
    assert [i["status"] for i in failed["items"]] == [404]
    listed = mine.get("/api/v1/me/activity?operation=playgrounds.list&door=rest").json()
    assert listed["count"] == 3
    assert mine.get("/api/v1/me/activity?door=fax").status_code == 422


def test_a_write_is_linked_to_the_webhook_deliveries_it_caused(user, recorder):
    key, token = api_key_make(user, "playgrounds:manage")
    other_key, other_token = api_key_make(user, "playgrounds:manage")
    endpoint = WebhookEndpoint.objects.create(
        owner=user, url="https://hooks.example.com/fibe", events=["playground.created"]
    )
    rest = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    rest.get("/api/v1/playgrounds")
    made = rest.post("/api/v1/playgrounds", {"name": "a"}, "application/json").json()
    Client(HTTP_AUTHORIZATION=f"Bearer {other_token}").post(
        "/api/v1/playgrounds", {"name": "b"}, "application/json"
    )
    resources.resource_create(  # made in the browser: caused by no key
        actor=Actor(user=user, source=Source.WEB), model=Playground, owner=user, name="c"
    )
    recorder.flush()

    entries = list(activity_selectors.activity_list(key_id=key.pk))
    linked = activity_selectors.with_deliveries(owner=user, key_id=key.pk, entries=entries)

    by_operation = {c.entry.operation: c.deliveries for c in linked}
    (delivery,) = by_operation["playgrounds.create"]
    assert delivery.endpoint == endpoint and delivery.event.credential_id == key.pk
    assert delivery.event.subjects["playgrounds"] == made["id"]
    assert by_operation["playgrounds.list"] == []
    assert Delivery.objects.filter(event__credential_id=other_key.pk).count() == 1
    assert Delivery.objects.filter(event__credential_id__isnull=True).count() == 1


def test_a_full_buffer_drops_and_counts_instead_of_blocking(user, recorder, settings):
    settings.API_ACTIVITY_BUFFER = 3
    key, token = api_key_make(user, "playgrounds:read")
    rest = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    for _ in range(8):
        assert rest.get("/api/v1/me").status_code == 200  # answered, whatever the buffer

    assert recorder.dropped == 5
    assert recorder.flush() == 3
    assert KeyActivity.objects.filter(key=key).count() == 3
    assert activity.dropped_total() == 5  # the counter every process adds to


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_cannot_get_its_locks_soon_is_dropped_not_queued(user, settings):
    """A TRUNCATE (the test suite's flush) or a migration holding the hourly table: the writer
    gives way within its lock timeout instead of holding the rows table while it waits, which
    deadlocked the suite's flush against a live server's writer."""
    import psycopg
    from django.db import connection

    activity.recorder.discard()
    key, _ = api_key_make(user, "playgrounds:read")
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=False) as other:
        other.execute(f"LOCK TABLE {KeyActivityHour._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        activity.record(
            key_id=key.pk,
            door="rest",
            operation="me.read",
            kind="read",
            record_id=None,
            status=200,
            started=timezone.now().timestamp(),
            duration=0.001,
            ip="127.0.0.1",
        )
        assert activity.recorder.flush() == 0  # given way, not waiting for the lock
        other.rollback()
    assert activity.recorder.dropped == 1
    assert not KeyActivity.objects.filter(key=key).exists()  # neither table, not half of it
    activity.recorder.discard()


def test_recording_can_be_turned_off(user, recorder, settings):
    settings.API_ACTIVITY_ENABLED = False
    _, token = api_key_make(user, "playgrounds:read")
    Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/me")
    assert recorder.pending == [] and recorder.dropped == 0


def test_retention_trims_old_rows_in_bounded_batches(user, recorder, settings):
    key, _ = api_key_make(user, "playgrounds:read")
    now = timezone.now()
    old = now - settings.API_ACTIVITY_RETENTION - timedelta(minutes=1)
    activity.rows_write(
        [
            KeyActivity(key=key, at=at, door="rest", operation="me", status=200, duration_ms=1)
            for at in [old - timedelta(hours=i) for i in range(7)] + [now] * 3
        ]
    )

    assert activity.activity_trim(batch=2, max_batches=2) == 4  # bounded: the rest waits
    assert activity.activity_trim(batch=2) == 3
    assert activity.activity_trim(batch=2) == 0
    assert KeyActivity.objects.filter(key=key).count() == 3
    assert not KeyActivity.objects.filter(at__lt=now - settings.API_ACTIVITY_RETENTION).exists()
    # and the hourly counts of the hours wholly past the retention go with them
    hours = KeyActivityHour.objects.filter(key_id=key.pk)
    assert not hours.filter(hour__lt=now - settings.API_ACTIVITY_RETENTION - timedelta(hours=1))
    assert hours.filter(hour__gte=now - timedelta(hours=1), total=3).exists()


def test_hourly_usage_stacks_failures_on_successes_for_seven_days(user, recorder):
    key, _ = api_key_make(user, "playgrounds:read")
    now = timezone.now()
    rows = [(now, 200), (now, 200), (now, 404), (now - timedelta(hours=5), 500)]
    rows.append((now - timedelta(days=8), 200))  # older than the picture
    activity.rows_write(
        [
            KeyActivity(key=key, at=at, door="rest", operation="me", status=s, duration_ms=1)
            for at, s in rows
        ]
    )
    hours = activity_selectors.hourly_usage(key_id=key.pk, now=now)
    assert len(hours) == 7 * 24
    assert (hours[-1].succeeded, hours[-1].failed) == (2, 1)
    assert (hours[-6].succeeded, hours[-6].failed) == (0, 1)
    assert sum(h.total for h in hours) == 4


def test_batches_add_to_the_hour_and_the_picture_reads_only_the_hourly_counts(user, recorder):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    key, _ = api_key_make(user, "playgrounds:read")
    now = timezone.now()
    for status in (200, 503, 200):  # three batches, as three flushes of one process write them
        activity.rows_write(
            KeyActivity(key=key, at=now, door="rest", operation="me", status=status, duration_ms=1)
            for _ in range(2)
        )

    with CaptureQueriesContext(connection) as queries:
        hours = activity_selectors.hourly_usage(key_id=key.pk, now=now)

    assert (hours[-1].succeeded, hours[-1].failed) == (4, 2)
    assert len(queries) == 1 and '"keys_keyactivity"' not in queries[0]["sql"]


def test_a_path_parameter_that_is_not_an_ascii_number_names_no_record(user, recorder, client):
    """A request for /marquees/² (a digit to str.isdigit, not to int) is a 422, never a 500,
    and the activity it records names no record."""
    _, token = api_key_make(user, "marquees:manage")

    answer = client.delete("/api/v1/marquees/%C2%B2", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert answer.status_code == 422
    assert activity.record_id_of("²") is None and activity.record_id_of("12") == 12
