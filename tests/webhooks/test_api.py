import pytest

from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from keys.services import key_create
from tests.support.servers import Reply
from webhooks.models import Delivery, WebhookEndpoint
from webhooks.publish import publish_event

from .sending import deliver

JSON = "application/json"


@pytest.fixture
def token_for(user):
    def make(*scope_names, restrictions=None, owner=None):
        _, token = key_create(
            actor=Actor(user=owner or user, source=Source.CLI),
            owner=owner or user,
            label="test",
            scope_names=list(scope_names),
            restrictions=restrictions,
        )
        return token

    return make


def test_create_get_list_update_delete_with_write_only_secret(user, token_for, api_client):
    client = api_client(token_for("webhooks:read", "webhooks:write", "webhooks:delete"))

    created = client.post(
        "/api/v1/webhooks",
        {
            "url": "http://127.0.0.1:9/hook",
            "events": ["playground.created"],
            "secret": "top-secret-value",
        },
        content_type=JSON,
    )
    assert created.status_code == 201, created.content
    endpoint_id = created.json()["id"]
    got = client.get(f"/api/v1/webhooks/{endpoint_id}")
    listed = client.get("/api/v1/webhooks")
    patched = client.patch(
        f"/api/v1/webhooks/{endpoint_id}",
        {"events": ["playroom.deleted"], "is_active": False},
        content_type=JSON,
    )
    deleted = client.delete(f"/api/v1/webhooks/{endpoint_id}")

    assert got.json()["has_secret"] is True
    for response in (created, got, listed, patched):
        assert "top-secret-value" not in response.content.decode()
        assert "secret" not in (response.json().get("items") or [response.json()])[0]
    assert listed.json()["count"] == 1
    assert patched.status_code == 200
    assert patched.json()["events"] == ["playroom.deleted"]
    assert patched.json()["is_active"] is False
    assert deleted.status_code == 204 and not WebhookEndpoint.objects.exists()
    assert SecurityEvent.objects.filter(user=user, kind__startswith="webhook_").count() == 4


def test_scopes_are_enforced(token_for, api_client, make_endpoint):
    endpoint = make_endpoint("http://127.0.0.1:9/hook")
    reader = api_client(token_for("webhooks:read"))

    assert reader.get("/api/v1/webhooks").status_code == 200
    refused = reader.delete(f"/api/v1/webhooks/{endpoint.pk}")
    assert refused.status_code == 403 and "webhooks:delete" in refused.json()["message"]
    assert reader.post(f"/api/v1/webhooks/{endpoint.pk}/test").status_code == 403
    assert api_client(token_for("playgrounds:read")).get("/api/v1/webhooks").status_code == 403


def test_other_accounts_and_restricted_ids_are_404(
    user, other_user, token_for, api_client, make_endpoint
):
    mine, also_mine = make_endpoint("http://127.0.0.1:9/a"), make_endpoint("http://127.0.0.1:9/b")
    theirs = make_endpoint("http://127.0.0.1:9/c", owner=other_user)
    client = api_client(
        token_for("webhooks:read", "webhooks:write", restrictions={"webhooks": [mine.pk]})
    )

    assert client.get(f"/api/v1/webhooks/{theirs.pk}").status_code == 404
    assert client.get(f"/api/v1/webhooks/{also_mine.pk}").status_code == 404
    assert [e["id"] for e in client.get("/api/v1/webhooks").json()["items"]] == [mine.pk]
    assert (
        client.post(
            "/api/v1/webhooks",
            {"url": "http://127.0.0.1:9/d", "events": ["playground.created"]},
            content_type=JSON,
        ).status_code
        == 403
    )


def test_bad_input_is_a_clear_422(token_for, api_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    client = api_client(token_for("webhooks:write"))

    private = client.post(
        "/api/v1/webhooks",
        {"url": "https://127.0.0.1/hook", "events": ["playground.created"]},
        content_type=JSON,
    )
    unknown = client.post(
        "/api/v1/webhooks",
        {"url": "https://example.com/hook", "events": ["nope.nope"]},
        content_type=JSON,
    )

    assert private.status_code == 422 and "loopback" in private.json()["message"]
    assert unknown.status_code == 422
    assert unknown.json()["message"].startswith("events.0: Input should be 'playground.created'")
    assert not WebhookEndpoint.objects.exists()


def test_deliveries_with_attempts_test_and_redeliver(
    user, token_for, api_client, make_endpoint, receiver, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(receiver.url)
    receiver.reply(Reply(status=500))
    publish_event(
        owner=user, event="playground.created", data={"id": 1, "name": "a", "status": "running"}
    )
    delivery = Delivery.objects.get()
    deliver(delivery)
    client = api_client(token_for("webhooks:read", "webhooks:write"))

    with django_capture_on_commit_callbacks(execute=False):
        tested = client.post(f"/api/v1/webhooks/{endpoint.pk}/test")
        redelivered = client.post(f"/api/v1/webhooks/deliveries/{delivery.pk}/redeliver")
    log = client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries?is_test=false")

    assert tested.status_code == 202 and tested.json()["is_test"] is True
    assert redelivered.status_code == 202 and redelivered.json()["status"] == "pending"
    [item] = log.json()["items"]
    assert item["uid"] == str(delivery.uid)
    assert item["attempts"][0]["response_status"] == 500
    assert item["attempts"][0]["trigger"] == "scheduled"
    assert "Receiver answered HTTP 500." == item["attempts"][0]["failure_reason"]
