"""The event catalogue: a JSON Schema (draft 2020-12) and an example per event, published in the
OpenAPI document (3.1, top-level ``webhooks``), at GET /api/v1/webhooks/event-types and on the
New Webhook page; every payload the engine really sends validates against its schema."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate as validate_openapi

from fibe_access.accounts.actor import Actor, Source
from fibe_access.resources import services as resources
from fibe_access.resources.models import Playground, Playroom, Playspec
from keys.expiry import keys_lifecycle
from tests.support.factories import api_key_make, resource_make
from webhooks.events import BY_NAME, EVENT_NAMES, EVENTS
from webhooks.models import Delivery, Event

from .sending import deliver

API = Actor(user=None, source=Source.API)


def validator(name: str) -> Draft202012Validator:
    schema = BY_NAME[name].schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.name)
def test_every_event_has_a_valid_schema_its_example_satisfies(event):
    check = validator(event.name)

    assert check.is_valid(event.example())
    wrong = {**event.example(), "data": {**event.sample, "id": "not a number"}}
    assert not check.is_valid(wrong)
    assert not check.is_valid({**event.example(), "event": "something.else"})


def _drive_every_event(user):
    """Each of the eleven events, from the services that announce them."""
    playroom = resources.resource_create(
        actor=API, model=Playroom, owner=user, **_fields(Playroom, user)
    )
    resources.resource_delete(actor=API, obj=playroom)
    playspec = resources.resource_create(
        actor=API, model=Playspec, owner=user, **_fields(Playspec, user)
    )
    playground = resources.playspec_launch(
        actor=API, playspec=playspec, expires_at=timezone.now() + timedelta(minutes=30)
    )
    playground = resources.playground_stop(actor=API, playground=playground)
    playground = resources.playground_error(actor=API, playground=playground, message="boom")
    playground = resources.playground_recreate(actor=API, playground=playground)
    resources.playgrounds_mark_expiring(actor=API)
    resources.playground_destroy(actor=API, playground=Playground.objects.get(pk=playground.pk))
    resources.resource_delete(actor=API, obj=playspec)
    bare = resource_make(Playground, user, status=Playground.Status.STOPPED)
    resources.playground_start(actor=API, playground=bare)  # no playspec, no expiry: nulls


def _fields(model, user) -> dict:
    made = resource_make(model, user)
    fields = {
        f.name: getattr(made, f.name)
        for f in model._meta.concrete_fields
        if f.name not in ("id", "owner", "created_at", "updated_at")
    }
    made.delete()
    return fields


def _drive_key_events(user):
    """api_key.expiring and api_key.expired, as beat publishes them 7 days before and after."""
    expires = timezone.now() + timedelta(days=10)
    api_key_make(user, "playgrounds:read", expires_at=expires)
    for at in (expires - timedelta(days=7) + timedelta(minutes=1), expires + timedelta(minutes=5)):
        with time_machine.travel(at, tick=False):
            keys_lifecycle()
    # published "in the future": due now, as they will be then
    Delivery.objects.filter(event__type__startswith="api_key.").update(
        next_attempt_at=timezone.now()
    )


def test_every_payload_the_engine_sends_is_valid_against_its_schema(
    user, make_endpoint, receiver, settings
):
    settings.PLAYGROUND_EXPIRY_NOTICE = timedelta(hours=1)
    make_endpoint(receiver.url, events=EVENT_NAMES)

    _drive_every_event(user)
    _drive_key_events(user)
    for delivery in Delivery.objects.order_by("pk"):
        deliver(delivery)

    bodies = [r.body for r in receiver.received]
    assert {json.loads(b)["event"] for b in bodies} == set(EVENT_NAMES)
    assert len(bodies) == Event.objects.count()
    for body in bodies:
        payload = json.loads(body)
        errors = [e.message for e in validator(payload["event"]).iter_errors(payload)]
        assert errors == [], (payload, errors)


def test_event_types_endpoint_lists_each_event_with_schema_and_example(user, api_client):
    client = api_client(api_key_make(user, "webhooks:read")[1])

    answer = client.get("/api/v1/webhooks/event-types")

    assert answer.status_code == 200, answer.content
    items = answer.json()["items"]
    assert [i["name"] for i in items] == list(EVENT_NAMES)
    for item in items:
        assert item["payload_schema"] == BY_NAME[item["name"]].schema()
        assert item["example"]["event"] == item["name"]


def test_openapi_document_is_valid_31_with_a_webhooks_section(client):
    document = client.get("/api/v1/openapi.json").json()

    validate_openapi(document)
    assert document["openapi"].startswith("3.1")
    assert set(document["webhooks"]) == set(EVENT_NAMES)
    for name, item in document["webhooks"].items():
        content = item["post"]["requestBody"]["content"]["application/json"]
        Draft202012Validator(content["schema"]).validate(content["example"])
        assert content["schema"]["properties"]["event"] == {"const": name}
