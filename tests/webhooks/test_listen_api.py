"""Listen sessions through the API: open, long-poll with a cursor, end; events captured in the
publishing transaction, signed with the session's secret; sessions limited to what the key
could subscribe to and reachable only by the key that opened them."""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from fibe_access.accounts.actor import Actor, Source
from fibe_access.resources.models import Playground
from keys.services import key_create
from tests.support.factories import api_key_make, resource_make
from webhooks.models import Delivery, ListenEvent, ListenSession
from webhooks.publish import publish_event

JSON = "application/json"


def data(n: int) -> dict:
    return {
        "id": n,
        "name": f"pg {n}",
        "status": "running",
        "playspec_id": None,
        "expires_at": None,
    }


@pytest.fixture
def listener(user, api_client):
    client = api_client(api_key_make(user, "webhooks:read")[1])
    opened = client.post(
        "/api/v1/webhooks/sessions",
        {"events": ["playground.created"], "host": "laptop.local"},
        content_type=JSON,
    )
    assert opened.status_code == 201, opened.content
    return client, opened.json()


def poll(client, session_id, cursor=0, wait=0):
    answer = client.get(
        f"/api/v1/webhooks/sessions/{session_id}/events", {"cursor": cursor, "wait": wait}
    )
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_events_arrive_signed_with_the_session_secret_and_the_cursor_resumes(user, listener):
    client, session = listener
    for n in (1, 2):
        with transaction.atomic():
            publish_event(owner=user, event="playground.created", data=data(n))
    publish_event(owner=user, event="playroom.created", data=data(9))  # not asked for

    first = poll(client, session["id"])
    again = poll(client, session["id"])  # the answer was lost: the same cursor again
    publish_event(owner=user, event="playground.created", data=data(3))
    after = poll(client, session["id"], cursor=first["cursor"])
    empty = poll(client, session["id"], cursor=after["cursor"])

    assert [json.loads(e["body"])["data"]["id"] for e in first["events"]] == [1, 2]
    assert again == first
    assert [json.loads(e["body"])["data"]["id"] for e in after["events"]] == [3]
    assert empty["events"] == [] and empty["cursor"] == after["cursor"]
    verifier = Webhook(session["standard_secret"])
    for message in first["events"] + after["events"]:
        body = message["body"].encode()
        assert verifier.verify(body, message["headers"])["event"] == "playground.created"
        assert message["headers"]["X-Playground-Event"] == "playground.created"
        assert message["headers"]["webhook-id"] == message["id"]
    # acknowledged rows are forgotten
    assert ListenEvent.objects.filter(session_id=session["id"]).count() == 0
    assert Delivery.objects.count() == 0  # no endpoint: nothing sent anywhere else


def test_a_rolled_back_event_is_never_seen(user, listener):
    client, session = listener
    with pytest.raises(RuntimeError), transaction.atomic():
        publish_event(owner=user, event="playground.created", data=data(1))
        raise RuntimeError

    assert poll(client, session["id"])["events"] == []


def test_an_expired_or_ended_session_stops_capturing_and_is_gone(user, listener, settings):
    client, session = listener
    ListenSession.objects.filter(pk=session["id"]).update(
        last_polled_at=timezone.now() - timedelta(seconds=settings.WEBHOOKS_LISTEN_TTL + 1)
    )
    publish_event(owner=user, event="playground.created", data=data(1))

    assert ListenEvent.objects.count() == 0
    gone = client.get(f"/api/v1/webhooks/sessions/{session['id']}/events", {"wait": 0})
    assert gone.status_code == 404


def test_delete_ends_the_session(listener):
    client, session = listener

    assert client.delete(f"/api/v1/webhooks/sessions/{session['id']}").status_code == 204
    assert not ListenSession.objects.filter(pk=session["id"]).exists()
    assert client.delete(f"/api/v1/webhooks/sessions/{session['id']}").status_code == 404


def test_another_key_or_account_cannot_poll_or_end_it(user, other_user, listener, api_client):
    _, session = listener
    url = f"/api/v1/webhooks/sessions/{session['id']}"
    for owner in (user, other_user):
        stranger = api_client(api_key_make(owner, "webhooks:read")[1])
        assert stranger.get(url + "/events", {"wait": 0}).status_code == 404
        assert stranger.delete(url).status_code == 404
    assert ListenSession.objects.filter(pk=session["id"]).exists()


def test_a_cursor_never_handed_out_is_refused(listener):
    client, session = listener

    answer = client.get(
        f"/api/v1/webhooks/sessions/{session['id']}/events", {"cursor": 99, "wait": 0}
    )

    assert answer.status_code == 409
    assert answer.json()["code"] == "conflict"
    assert "cursor" in answer.json()["message"]


def test_opening_needs_webhooks_read(user, api_client):
    client = api_client(api_key_make(user, "playgrounds:read")[1])

    assert client.post("/api/v1/webhooks/sessions", {}, content_type=JSON).status_code == 403
    assert not ListenSession.objects.exists()


def test_a_key_restricted_on_a_family_cannot_listen_to_its_events(user, api_client):
    playground = resource_make(Playground, user)
    _, token = key_create(
        actor=Actor(user=user, source=Source.CLI),
        owner=user,
        label="restricted",
        scope_names=["webhooks:read", "playgrounds:read"],
        restrictions={"playgrounds": [playground.pk]},
    )
    client = api_client(token)

    refused = client.post(
        "/api/v1/webhooks/sessions", {"events": ["playground.created"]}, content_type=JSON
    )
    default = client.post("/api/v1/webhooks/sessions", {}, content_type=JSON)

    assert refused.status_code == 403
    assert default.status_code == 201
    assert default.json()["events"]
    assert not any(e.startswith("playground.") for e in default.json()["events"])


def test_the_session_secret_is_sealed_at_rest_and_still_signs(user, listener):
    from django.db import connection

    client, session = listener
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM webhooks_listensession WHERE id = %s", [session["id"]])
        (stored,) = cursor.fetchone()
    publish_event(owner=user, event="playground.created", data=data(1))

    (message,) = poll(client, session["id"])["events"]  # signed with the secret read back

    assert session["secret"] and session["secret"] not in stored
    assert Webhook(session["standard_secret"]).verify(message["body"].encode(), message["headers"])


def test_the_migration_seals_a_live_session_s_plain_secret(transactional_db, user):
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("webhooks", "0006_listen_deliveries")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("webhooks", "ListenSession")
    pk = old.objects.create(owner_id=user.pk, secret="plain-one", last_polled_at=timezone.now()).pk
    call_command("migrate", verbosity=0)

    session = ListenSession.objects.get(pk=pk)
    assert session.signing_secret == "plain-one"
    assert "plain-one" not in session.secret
