"""A key restricted on a resource family reaches that family's records through webhooks only
as it does through the family's own operations: it sees, redelivers and recovers deliveries
about the records it lists (and test sends), and it cannot create or re-point an endpoint that
would carry the family's events to a URL of its choosing."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from fibe_access.accounts.actor import Actor, Source
from fibe_access.api.caller import Caller
from fibe_access.api.invoke import invoke
from fibe_access.resources import services as resources
from fibe_access.resources.models import Playground, Playroom, Playspec
from fibe_access.resources.registry import FAMILIES
from tests.support.factories import api_key_make, resource_make
from webhooks import services
from webhooks.events import EVENT_NAMES
from webhooks.models import Delivery, Event, WebhookEndpoint

JSON = "application/json"


@pytest.fixture
def world(user):
    """An endpoint told about everything; a listed and a hidden playground, each created and
    stopped through the services; a playroom; a test send; every delivery failed."""
    endpoint = WebhookEndpoint.objects.create(
        owner=user, url="http://127.0.0.1:9/all", events=list(EVENT_NAMES)
    )
    actor = Actor(user=user, source=Source.API)
    spec = resources.resource_create(actor=actor, model=Playspec, owner=user, name="spec")
    listed = resources.playspec_launch(actor=actor, playspec=spec, name="listed")
    hidden = resources.resource_create(actor=actor, model=Playground, owner=user, name="HIDE-ME")
    resources.playground_stop(actor=actor, playground=listed)
    resources.playground_stop(actor=actor, playground=hidden)
    resources.resource_create(actor=actor, model=Playroom, owner=user, name="room")
    services.endpoint_test(actor=actor, endpoint=endpoint)
    Delivery.objects.update(status=Delivery.Status.FAILED)
    return {
        "endpoint": endpoint,
        "spec": spec,
        "listed": listed,
        "hidden": hidden,
        "about_listed": about(listed),
        "about_hidden": about(hidden),
    }


def about(playground) -> set[int]:
    return set(
        Delivery.objects.filter(event__subjects__playgrounds=playground.pk).values_list(
            "pk", flat=True
        )
    )


def ids(qs) -> set[int]:
    return set(qs.values_list("pk", flat=True))


def restricted(user, api_client, *scope_names, family="playgrounds", to):
    key, token = api_key_make(user, *scope_names, restrictions={family: to})
    return api_client(token), Caller.for_key(key, source=Source.MCP)


def deliveries(client, endpoint, **query):
    response = client.get(f"/api/v1/webhooks/{endpoint.pk}/deliveries", query)
    assert response.status_code == 200, response.content
    return response.json()


def test_publish_stores_the_records_an_event_names(world):
    # a launched playground's events name it and its playspec
    launched = Event.objects.filter(subjects__playgrounds=world["listed"].pk)
    assert {e.subjects["playspecs"] for e in launched} == {world["spec"].pk}
    # one made without a playspec names no playspec, and a test send names nothing
    made = Event.objects.filter(subjects__playgrounds=world["hidden"].pk)
    assert made.count() == 2 and all(e.subjects["playspecs"] is None for e in made)
    assert Event.objects.get(deliveries__is_test=True).subjects == {}


def test_a_restricted_key_lists_only_deliveries_about_its_records(world, user, api_client):
    endpoint, listed = world["endpoint"], world["listed"]
    client, caller = restricted(
        user, api_client, "webhooks:read", "playgrounds:read", to=[listed.pk]
    )
    # when it reads the endpoint's log
    page = deliveries(client, endpoint)
    shown = {item["id"] for item in page["items"]}
    # then it sees the deliveries about its playground, the others' (playroom, playspec) and
    # the test send, never one about the hidden playground, with a count that agrees
    everything = ids(Delivery.objects.all())
    assert shown == everything - world["about_hidden"]
    assert len(world["about_listed"]) == 3 and world["about_listed"] <= shown
    assert page["count"] == len(shown) and "HIDE-ME" not in str(page)
    # and pages and filters count the same way
    assert deliveries(client, endpoint, limit=1)["count"] == len(shown)
    stopped = deliveries(client, endpoint, event="playground.stopped")
    assert [i["id"] for i in stopped["items"]] == list(
        world["about_listed"] & ids(Delivery.objects.filter(event__type="playground.stopped"))
    )
    assert stopped["count"] == 1
    # through invoke alike
    status, answer = invoke("webhooks.deliveries", caller, path={"endpoint_id": endpoint.pk})
    assert status == 200 and {i["id"] for i in answer["items"]} == shown
    # while a key without the restriction sees everything
    _, token = api_key_make(user, "webhooks:read")
    assert deliveries(api_client(token), endpoint)["count"] == len(everything)


def test_a_restricted_key_redelivers_and_recovers_only_deliveries_about_its_records(
    world, user, api_client
):
    endpoint = world["endpoint"]
    client, _ = restricted(
        user, api_client, "webhooks:write", "playgrounds:read", to=[world["listed"].pk]
    )
    # a delivery about the hidden playground is not found, and stays failed
    hidden = min(world["about_hidden"])
    response = client.post(f"/api/v1/webhooks/deliveries/{hidden}/redeliver")
    assert response.status_code == 404
    assert Delivery.objects.get(pk=hidden).status == Delivery.Status.FAILED
    # one about the listed playground goes out again
    mine = min(world["about_listed"])
    assert client.post(f"/api/v1/webhooks/deliveries/{mine}/redeliver").status_code == 202
    assert Delivery.objects.get(pk=mine).status == Delivery.Status.PENDING
    # recovery sends again every failed delivery it may see, and none about the hidden one
    since = (timezone.now() - timedelta(hours=1)).isoformat()
    response = client.post(
        f"/api/v1/webhooks/{endpoint.pk}/recover", {"since": since}, content_type=JSON
    )
    assert response.status_code == 202
    failed = ids(Delivery.objects.filter(status="failed"))
    assert failed == world["about_hidden"] | ids(Delivery.objects.filter(is_test=True))
    assert response.json()["count"] == Delivery.objects.count() - len(failed) - 1


@pytest.mark.parametrize(
    "family, events, refused",
    [
        ("playgrounds", ["playground.created"], True),
        ("playgrounds", ["playroom.created", "playground.expiring"], True),
        ("playgrounds", ["playroom.created", "playspec.deleted"], False),
        # a playground's events name its playspec
        ("playspecs", ["playground.stopped"], True),
        ("playspecs", ["playspec.created"], True),
        ("playspecs", ["playroom.deleted"], False),
        ("playrooms", ["playroom.deleted"], True),
        ("secrets", list(EVENT_NAMES), False),
    ],
)
def test_a_restricted_key_cannot_create_an_endpoint_carrying_its_familys_events(
    family, events, refused, user, api_client
):
    record = resource_make(FAMILIES[family].model, user)
    client, caller = restricted(
        user, api_client, "webhooks:write", f"{family}:read", family=family, to=[record.pk]
    )
    body = {"url": "http://127.0.0.1:9/mine", "events": events}
    response = client.post("/api/v1/webhooks", body, content_type=JSON)
    if refused:
        assert response.status_code == 403, response.content
        assert f"restricted on {family}" in response.json()["message"]
        assert invoke("webhooks.create", caller, body=body) == (403, response.json())
        assert not WebhookEndpoint.objects.exists()
    else:
        assert response.status_code == 201, response.content


def test_a_restricted_key_cannot_re_point_or_widen_an_endpoint_carrying_its_familys_events(
    user, api_client
):
    pg = Playground.objects.create(owner=user, name="mine")
    carrying = WebhookEndpoint.objects.create(
        owner=user, url="http://127.0.0.1:9/a", events=["playground.created"]
    )
    other = WebhookEndpoint.objects.create(
        owner=user, url="http://127.0.0.1:9/b", events=["playroom.created"]
    )
    client, _ = restricted(user, api_client, "webhooks:write", "playgrounds:read", to=[pg.pk])

    def patch(endpoint, body):
        return client.patch(f"/api/v1/webhooks/{endpoint.pk}", body, content_type=JSON)

    # an endpoint already told about playground events cannot be moved, or changed at all
    for body in ({"url": "http://127.0.0.1:9/mine"}, {"events": ["playroom.created"]}):
        assert patch(carrying, body).status_code == 403
    # another cannot start receiving them
    assert patch(other, {"events": ["playroom.created", "playground.error"]}).status_code == 403
    assert [(e.url, e.events) for e in WebhookEndpoint.objects.order_by("pk")] == [
        ("http://127.0.0.1:9/a", ["playground.created"]),
        ("http://127.0.0.1:9/b", ["playroom.created"]),
    ]
    # while one that carries none of them changes freely
    assert patch(other, {"url": "http://127.0.0.1:9/c"}).status_code == 200


def test_an_event_recorded_without_subjects_shows_only_to_unrestricted_keys(
    world, user, api_client
):
    # given deliveries whose events were recorded before subjects were stored
    Event.objects.update(subjects={})
    client, _ = restricted(
        user, api_client, "webhooks:read", "playgrounds:read", to=[world["listed"].pk]
    )
    # then a restricted key sees none of its family's events but test sends (failing closed)
    shown = {item["id"] for item in deliveries(client, world["endpoint"])["items"]}
    playground_events = ids(Delivery.objects.filter(event__type__startswith="playground."))
    assert shown == ids(Delivery.objects.all()) - playground_events | ids(
        Delivery.objects.filter(is_test=True)
    )
    # until the migration's backfill reads the subjects off the stored bodies
    migration = importlib.import_module("webhooks.migrations.0002_event_subjects")
    migration.record_subjects(apps, None)
    stopped = Event.objects.filter(type="playground.stopped").order_by("pk")
    assert [e.subjects for e in stopped] == [
        {"playgrounds": world["listed"].pk, "playspecs": world["spec"].pk},
        {"playgrounds": world["hidden"].pk, "playspecs": None},
    ]
    assert Event.objects.get(deliveries__is_test=True).subjects == {}
    items = deliveries(client, world["endpoint"])["items"]
    assert {i["id"] for i in items} == ids(Delivery.objects.all()) - world["about_hidden"]
