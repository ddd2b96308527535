"""Restrictions hold through every door. For every restrictable family F and every operation of
the registry, a key holding every scope, restricted on F to one record, runs against an account
holding hidden F records (a marker in their names, IDs no other row has) and events, deliveries
and attempts about them. No answer, whatever its status and through REST or ``invoke`` alike,
names a hidden record; no F record appears; hidden records and their deliveries are left as
they were; and no endpoint that would carry F's events somewhere is created or re-pointed."""

import json

import pytest

from fibe_access.accounts.actor import Source
from fibe_access.api.caller import Caller
from fibe_access.api.invoke import invoke
from fibe_access.api.operations import REGISTRY
from fibe_access.resources.registry import FAMILIES, RESTRICTABLE
from fibe_access.resources.services import event_data
from keys import scopes
from tests.support.factories import api_key_make, resource_make
from webhooks.events import EVENT_NAMES, EVENTS
from webhooks.models import Attempt, Delivery, WebhookEndpoint
from webhooks.publish import publish_event

from .payloads import body_for, path_for

MARKER = "HIDDEN-q7Zx"
HIDDEN_IDS = (8_100_000_001, 8_100_000_002)  # no other row of any table gets such an ID
EVERY_SCOPE = sorted(scopes.CATALOGUE)
ORDER = {"GET": 0, "POST": 1, "PATCH": 1, "DELETE": 2}  # reads, then writes, deletes last
OPERATIONS = sorted(REGISTRY.values(), key=lambda op: (ORDER[op.method], op.name))
FAMILY_OF_MODEL = {fam.model: name for name, fam in FAMILIES.items()}


def event_family(event) -> str:
    return next(n for n, fam in FAMILIES.items() if fam.model._meta.model_name == event.resource)


def references(model, family: str) -> list[str]:
    """The foreign keys of ``model`` that point at a record of ``family``."""
    target = RESTRICTABLE[family].model
    return [
        f.attname
        for f in model._meta.concrete_fields
        if f.is_relation and f.related_model is target and f.name != "owner"
    ]


# Events about a resource record (api_key.* are about the account's own keys: no record).
RESOURCE_EVENTS = tuple(
    e for e in EVENTS if any(f.model._meta.model_name == e.resource for f in FAMILIES.values())
)


def carrying(family: str) -> set[str]:
    """Events whose data can name a record of ``family``: about it, or about a record that
    refers to it."""
    return {
        e.name
        for e in RESOURCE_EVENTS
        if event_family(e) == family or references(FAMILIES[event_family(e)].model, family)
    }


def make(family: str, owner, **fields):
    if family == "webhooks":
        name = fields.pop("name", "visible")
        return WebhookEndpoint.objects.create(
            owner=owner,
            url=f"http://127.0.0.1:9/{name.replace(' ', '-')}",
            description=name,
            events=list(EVENT_NAMES),
            secret="s",
            **fields,
        )
    return resource_make(RESTRICTABLE[family].model, owner, **fields)


def build_world(family: str, owner) -> dict:
    """Hidden and listed records of ``family``, a record of every other family (and one that
    refers to a hidden record), an endpoint told about every event, one event of each type
    about them, and a failed attempt of every delivery holding the body it sent."""
    listed = make(family, owner, name="listed")
    hidden = [make(family, owner, pk=pk, name=f"{MARKER} {pk}") for pk in HIDDEN_IDS]
    if family != "webhooks":
        make("webhooks", owner, name="all events")
    subjects = {}  # family -> (record the events are about, does it name a hidden record?)
    for name, fam in FAMILIES.items():
        if name == family:
            subjects[name] = [(hidden[0], True), (listed, False)]
            continue
        refs = {attname: hidden[0].pk for attname in references(fam.model, family)}
        plain = resource_make(fam.model, owner)
        subjects[name] = [(resource_make(fam.model, owner, **refs), True)] if refs else []
        subjects[name].append((plain, False))
    about_hidden = []
    for event in RESOURCE_EVENTS:
        for record, names_hidden in subjects[event_family(event)]:
            published = publish_event(owner=owner, event=event.name, data=event_data(record))
            if names_hidden:
                about_hidden += list(published.deliveries.values_list("pk", flat=True))
    for delivery in Delivery.objects.filter(endpoint__owner=owner).select_related("event"):
        Attempt.objects.create(
            delivery=delivery,
            number=1,
            trigger="scheduled",
            request_url=delivery.endpoint.url,
            request_body=delivery.event.body,
            response_status=500,
            failure_reason="HTTP 500",
        )
    Delivery.objects.filter(endpoint__owner=owner).update(status="failed", attempt_count=1)
    if family == "webhooks":
        about_hidden += list(
            Delivery.objects.filter(endpoint__in=hidden).values_list("pk", flat=True)
        )
    return {"listed": listed, "hidden": hidden, "about_hidden": about_hidden}


def targets(op, owner) -> list:
    """Every record of the owner the operation can be pointed at, hidden ones included."""
    if not op.path_params:
        return [None]
    if op.path_params == ("delivery_id",):
        return list(Delivery.objects.filter(endpoint__owner=owner).order_by("pk"))
    if op.group == "webhooks":
        return list(WebhookEndpoint.objects.filter(owner=owner).order_by("pk"))
    return list(FAMILIES[op.group].model.objects.filter(owner=owner).order_by("pk"))


def body(op):
    if op.name == "webhooks.create":
        return {"url": "http://127.0.0.1:9/mine", "events": list(EVENT_NAMES)}
    if op.name == "webhooks.update":
        return {"url": "http://127.0.0.1:9/elsewhere", "events": list(EVENT_NAMES)}
    return body_for(op)


def call_rest(client, op, obj) -> tuple[int, str]:
    data, method = body(op), getattr(client, op.method.lower())
    if data is None:
        response = method(path_for(op, obj))
    else:
        response = method(path_for(op, obj), data, content_type="application/json")
    return response.status_code, response.content.decode()


def call_invoke(caller, op, obj) -> tuple[int, str]:
    path = {name: obj.pk for name in op.path_params}
    status, answer = invoke(op, caller, path=path, body=body(op))
    return status, json.dumps(answer)


def channels(owner, family: str) -> dict:
    """Endpoints told about events that can name a record of ``family``, with where they
    point."""
    carried = carrying(family)
    return {
        e.pk: (e.url, sorted(e.events))
        for e in WebhookEndpoint.objects.filter(owner=owner)
        if carried & set(e.events)
    }


def state(family, world, owner) -> dict:
    model = RESTRICTABLE[family].model
    return {
        "records": set(model.objects.filter(owner=owner).values_list("pk", flat=True)),
        "hidden": [model.objects.filter(pk=h.pk).values().first() for h in world["hidden"]],
        "deliveries": {
            d["pk"]: d
            for d in Delivery.objects.filter(pk__in=world["about_hidden"]).values(
                "pk", "status", "next_trigger", "attempt_count", "next_attempt_at"
            )
        },
        "channels": channels(owner, family),
    }


PROBLEMS = (
    "answers naming a hidden record",
    "new records",
    "hidden records changed",
    "deliveries about hidden records sent again",
    "channels created or moved",
)


def compare(before, after) -> dict[str, list]:
    """What one write changed that it must not (a delivery may disappear with its endpoint)."""
    return {
        "new records": sorted(after["records"] - before["records"]),
        "hidden records changed": [h for h in after["hidden"] if h not in before["hidden"]],
        "deliveries about hidden records sent again": [
            pk for pk, d in after["deliveries"].items() if d != before["deliveries"][pk]
        ],
        "channels created or moved": [
            (pk, where)
            for pk, where in after["channels"].items()
            if before["channels"].get(pk) != where
        ],
    }


@pytest.mark.parametrize("face", ["rest", "invoke"])
@pytest.mark.parametrize("family", sorted(RESTRICTABLE))
def test_a_restricted_key_reaches_only_its_records_through_every_operation(
    family, face, user, api_client
):
    # given an account with hidden records of the family, events and deliveries about them
    world = build_world(family, user)
    key, token = api_key_make(
        user,
        *EVERY_SCOPE,
        restrictions={family: [world["listed"].pk]},
        rate_limit_per_minute=1_000_000,
    )
    if face == "rest":
        client = api_client(token)
        call = lambda op, obj: call_rest(client, op, obj)  # noqa: E731
    else:
        caller = Caller.for_key(key, source=Source.MCP)
        call = lambda op, obj: call_invoke(caller, op, obj)  # noqa: E731
    before = state(family, world, user)
    hidden_ids = [str(h.pk) for h in world["hidden"]]
    problems = {name: [] for name in PROBLEMS}
    answered, last = 0, before
    # when the key calls every operation on every record it could name
    for op in OPERATIONS:
        for obj in targets(op, user):
            status, text = call(op, obj)
            answered += 1
            assert status < 500, (op.name, text[:300])
            # then no answer, whatever its status, names a hidden record
            if MARKER in text or any(pk in text for pk in hidden_ids):
                problems["answers naming a hidden record"].append((op.name, text[:200]))
            # and no write made a record of the family, changed a hidden one, sent a delivery
            # about one again, or made or moved an endpoint carrying the family's events
            if op.method != "GET":
                now = state(family, world, user)
                for name, found in compare(last, now).items():
                    problems[name] += [(op.name, getattr(obj, "pk", None), f) for f in found]
                last = now
    assert not any(problems.values()), (
        {kind: sorted({found[0] for found in v}) for kind, v in problems.items() if v},
        {kind: v[:3] for kind, v in problems.items() if v},
    )
    assert bool(before["deliveries"]) == bool(carrying(family) or family == "webhooks")
    assert answered > len(OPERATIONS)
