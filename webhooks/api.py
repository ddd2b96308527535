"""/api/v1/webhooks: endpoints, their delivery logs, Test Webhook and redelivery, declared with
``operation(...)`` like every operation: scopes webhooks:read / write / delete, and a key
restricted on ``webhooks`` reaches only the listed endpoint IDs (anything else is 404). The
secret is write-only: responses say whether one is set, never what it is.

A key restricted on a resource family sees, redelivers and recovers only deliveries about the
records it lists (``subjects.visible``), and cannot create or change an endpoint told about
events that can name that family's records: it would carry every record's events to a URL of
the key's choosing (``_refuse_channel``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from ninja import Schema
from pydantic import Field

from fibe_access.api.bodies import NO_NUL, Flag, In, QueryFlag, Timestamp, url_pattern
from fibe_access.api.errors import Conflict, RateLimited, ScopeDenied, found
from fibe_access.api.operations import Restriction, operation
from fibe_access.api.pagination import PageIn, page_of, paginate

from . import (
    listen_api,  # noqa: F401 - first: its literal paths route before /webhooks/{id}
    selectors,
    services,
)
from .events import EVENT_NAMES
from .models import Delivery
from .subjects import carrying

FAMILY = "webhooks"
EventName = Literal[EVENT_NAMES]  # the catalogue, so the schema lists what is accepted


class EndpointOut(Schema):
    id: int
    url: str
    events: list[str]
    description: str
    has_secret: bool
    is_active: bool
    disabled_reason: str
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_has_secret(obj) -> bool:
        return obj.has_secret


# https to a public host; http and loopback too where the server allows private targets (a
# development setting). The pattern says what is syntactic; the description what DNS decides.
if settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
    WEB_URL = url_pattern("https?", hosts=("localhost", "127.0.0.1"))
    _WHERE = (
        "HTTPS or HTTP to a host name, localhost or 127.0.0.1 (this server allows loopback "
        "targets), no other address literal, no credentials. A host that resolves to a private, "
        "link-local, reserved or cloud-metadata address"
    )
else:
    WEB_URL = url_pattern("https")
    _WHERE = (
        "HTTPS to a host name (no address literal, no credentials). A host that resolves to a "
        "private, loopback, link-local, reserved or cloud-metadata address"
    )
URL_HELP = (
    f"{_WHERE} is refused: 422 naming `url`. A host that does not resolve yet is accepted; "
    "its deliveries fail (logged, retried) until it resolves to an address that is allowed."
)


def _optional(schema: dict) -> None:
    """A PATCH field: optional, not nullable (no ``default: null`` in its schema)."""
    schema.pop("default", None)


class EndpointIn(In):
    url: str = Field(max_length=2000, pattern=WEB_URL, description=URL_HELP)
    events: list[EventName] = Field(min_length=1, max_length=50)
    secret: str = Field(
        "",
        max_length=255,
        pattern=NO_NUL,
        description="Write-only; signs every request.",
        json_schema_extra={"writeOnly": True},
    )
    description: str = Field("", max_length=255, pattern=NO_NUL)


class EndpointPatch(In):
    url: str = Field(
        None, max_length=2000, pattern=WEB_URL, description=URL_HELP, json_schema_extra=_optional
    )
    events: list[EventName] = Field(None, min_length=1, max_length=50, json_schema_extra=_optional)
    secret: str = Field(
        None,
        max_length=255,
        pattern=NO_NUL,
        description='Write-only; "" removes it.',
        json_schema_extra=lambda s: _optional(s) or s.update(writeOnly=True),
    )
    description: str = Field(None, max_length=255, pattern=NO_NUL, json_schema_extra=_optional)
    is_active: Flag = Field(None, json_schema_extra=_optional)


EndpointPage = page_of(EndpointOut, "EndpointPage")


class AttemptOut(Schema):
    number: int
    trigger: Literal[tuple(Delivery.Trigger.values)]
    request_url: str
    request_headers: dict[str, str]
    request_body: str
    response_status: int | None
    response_headers: dict[str, str]
    response_body: str
    duration_ms: int
    failure_reason: str
    created_at: datetime

    @staticmethod
    def resolve_request_body(obj) -> str:
        return bytes(obj.request_body).decode("utf-8", errors="replace")


class DeliveryOut(Schema):
    id: int
    uid: str
    endpoint_id: int
    event: str  # an event of the catalogue when it was sent (it may have left it since)
    status: Literal[tuple(Delivery.Status.values)]
    attempt_count: int
    next_attempt_at: datetime | None
    is_test: bool
    created_at: datetime
    attempts: list[AttemptOut]

    @staticmethod
    def resolve_uid(obj) -> str:
        return str(obj.uid)

    @staticmethod
    def resolve_event(obj) -> str:
        return obj.event.type

    @staticmethod
    def resolve_attempts(obj) -> list:
        return list(obj.attempts.all())


DeliveryPage = page_of(DeliveryOut, "DeliveryPage")


class DeliveryFilter(PageIn):
    event: EventName | None = None
    status: Delivery.Status | None = None
    is_test: QueryFlag | None = None


class RecoverIn(In):
    since: Timestamp


class RecoverOut(Schema):
    count: int


def _endpoint(caller, endpoint_id: int):
    # A key's restriction was checked before the handler ran (Restriction.ITEM).
    return found(selectors.endpoint_get(owner=caller.owner, endpoint_id=endpoint_id))


SEND_LIMIT = (
    "Test sends, redeliveries and recoveries are limited per endpoint per minute "
    "(WEBHOOKS_SENDS_PER_MINUTE, 10 by default): past it, 429 rate_limited with Retry-After."
)
CHANNEL_RULE = (
    "A key restricted on a resource family cannot create or change an endpoint told (before "
    "or after the change) about events that can name that family's records."
)


def _limited(send, **kwargs):
    """Call a send service; past the endpoint's per-minute limit, a 429 that says so."""
    try:
        return send(**kwargs)
    except services.SendsLimited as exc:
        raise RateLimited(str(exc), headers={"Retry-After": str(exc.retry_after)}) from exc


def _refuse_channel(caller, *event_lists) -> None:
    events = {e for events in event_lists for e in events}
    carried = {f: set(carrying(f)) & events for f in caller.restrictions}
    carried = {f: names for f, names in carried.items() if names}
    if carried:
        families = " and ".join(sorted(carried))
        names = ", ".join(sorted(set().union(*carried.values())))
        raise ScopeDenied(
            f"This API key is restricted on {families}, so it cannot create or change an "
            f"endpoint that receives their events ({names})."
        )


@operation(
    "webhooks.list",
    "GET",
    "/webhooks",
    scope="webhooks:read",
    query=PageIn,
    response=EndpointPage,
    restriction=Restriction.LIST,
    summary="List webhook endpoints",
)
def endpoint_list(caller, *, query):
    qs = selectors.endpoint_list(owner=caller.owner, ids=caller.restricted_ids(FAMILY))
    return paginate(qs, query)


@operation(
    "webhooks.create",
    "POST",
    "/webhooks",
    scope="webhooks:write",
    body=EndpointIn,
    status=201,
    response=EndpointOut,
    restriction=Restriction.CREATE,
    summary="Create a webhook endpoint",
    description=CHANNEL_RULE,
)
def endpoint_create(caller, *, body):
    _refuse_channel(caller, body.events)
    return services.endpoint_create(actor=caller.actor, **body.dict())


@operation(
    "webhooks.get",
    "GET",
    "/webhooks/{endpoint_id}",
    scope="webhooks:read",
    response=EndpointOut,
    restriction=Restriction.ITEM,
    summary="Get a webhook endpoint",
)
def endpoint_get(caller, *, endpoint_id):
    return _endpoint(caller, endpoint_id)


@operation(
    "webhooks.update",
    "PATCH",
    "/webhooks/{endpoint_id}",
    scope="webhooks:write",
    body=EndpointPatch,
    response=EndpointOut,
    restriction=Restriction.ITEM,
    summary="Update a webhook endpoint",
    description=f"`is_active: true` re-enables a disabled endpoint. {CHANNEL_RULE}",
)
def endpoint_update(caller, *, endpoint_id, body):
    endpoint, actor = _endpoint(caller, endpoint_id), caller.actor
    changes = body.dict(exclude_unset=True)
    _refuse_channel(caller, endpoint.events, changes.get("events") or ())
    is_active = changes.pop("is_active", None)
    if changes:
        endpoint = services.endpoint_update(actor=actor, endpoint=endpoint, **changes)
    if is_active is True and not endpoint.is_active:
        endpoint = services.endpoint_enable(actor=actor, endpoint=endpoint)
    elif is_active is False and endpoint.is_active:
        endpoint = services.endpoint_disable(actor=actor, endpoint=endpoint)
    return endpoint


@operation(
    "webhooks.delete",
    "DELETE",
    "/webhooks/{endpoint_id}",
    scope="webhooks:delete",
    status=204,
    restriction=Restriction.ITEM,
    summary="Delete a webhook endpoint",
)
def endpoint_delete(caller, *, endpoint_id):
    services.endpoint_delete(actor=caller.actor, endpoint=_endpoint(caller, endpoint_id))


@operation(
    "webhooks.deliveries",
    "GET",
    "/webhooks/{endpoint_id}/deliveries",
    scope="webhooks:read",
    query=DeliveryFilter,
    response=DeliveryPage,
    restriction=Restriction.ITEM,
    summary="An endpoint's deliveries, newest first, with their attempts",
    description="Filter by event, status and test flag. A key restricted on a resource family "
    "sees only deliveries about the records it lists, and test sends.",
)
def delivery_list(caller, *, endpoint_id, query):
    qs = selectors.delivery_list(
        endpoint=_endpoint(caller, endpoint_id),
        event=query.event,
        status=query.status,
        is_test=query.is_test,
        restrictions=caller.restrictions,
    )
    return paginate(qs, query)


@operation(
    "webhooks.test",
    "POST",
    "/webhooks/{endpoint_id}/test",
    scope="webhooks:write",
    status=202,
    response=DeliveryOut,
    restriction=Restriction.ITEM,
    summary="Send a sample playground.created, marked as a test",
    description=SEND_LIMIT,
)
def endpoint_test(caller, *, endpoint_id):
    delivery = _limited(
        services.endpoint_test, actor=caller.actor, endpoint=_endpoint(caller, endpoint_id)
    )
    return found(selectors.delivery_get(owner=caller.owner, delivery_id=delivery.pk))


@operation(
    "webhooks.recover",
    "POST",
    "/webhooks/{endpoint_id}/recover",
    scope="webhooks:write",
    body=RecoverIn,
    status=202,
    response=RecoverOut,
    restriction=Restriction.ITEM,
    summary="Redeliver every failed delivery since a time",
    description="A key restricted on a resource family redelivers only deliveries about the "
    f"records it lists. {SEND_LIMIT}",
)
def deliveries_recover(caller, *, endpoint_id, body):
    count = _limited(
        services.deliveries_recover_failed,
        actor=caller.actor,
        endpoint=_endpoint(caller, endpoint_id),
        since=body.since,
        restrictions=caller.restrictions,
    )
    return {"count": count}


@operation(
    "webhooks.redeliver",
    "POST",
    "/webhooks/deliveries/{delivery_id}/redeliver",
    scope="webhooks:write",
    status=202,
    response=DeliveryOut,
    restriction=Restriction.HANDLER,
    summary="Send one delivery again now",
    description=SEND_LIMIT,
    conflict="409 `conflict` while it is being sent.",
)
def delivery_redeliver(caller, *, delivery_id):
    delivery = found(
        selectors.delivery_get(
            owner=caller.owner, delivery_id=delivery_id, restrictions=caller.restrictions
        )
    )
    try:
        _limited(services.delivery_redeliver, actor=caller.actor, delivery=delivery)
    except ValidationError as exc:  # being sent right now: the delivery's state
        raise Conflict(" ".join(exc.messages)) from exc
    return found(selectors.delivery_get(owner=caller.owner, delivery_id=delivery_id))
