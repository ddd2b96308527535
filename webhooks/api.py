"""/api/v1/webhooks: endpoints, their delivery logs, Test Webhook and redelivery.

Authenticated with API keys (``keys.auth``); scopes webhooks:read / write / delete, and a key
restricted on ``webhooks`` sees only the listed endpoint IDs (anything else is 404). The secret
is write-only: responses say whether one is set, never what it is."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import Http404
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import AwareDatetime, Field

from keys.auth import ScopeDenied, actor_for, require_scope, restricted_ids

from . import selectors, services
from .events import EVENT_NAMES
from .models import Delivery

FAMILY = "webhooks"
EventName = Literal[EVENT_NAMES]  # the catalogue, so the schema lists what is accepted
router = Router(tags=["webhooks"])


class Error(Schema):
    code: str
    message: str


ERRORS = {401: Error, 403: Error, 404: Error, 422: Error, 429: Error}


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
        return bool(obj.secret)


class EndpointIn(Schema):
    url: str = Field(max_length=2000)
    events: list[EventName] = Field(min_length=1, max_length=50)
    secret: str = Field("", max_length=255, description="Write-only; signs every request.")
    description: str = Field("", max_length=255)


class EndpointPatch(Schema):
    url: str | None = Field(None, max_length=2000)
    events: list[EventName] | None = Field(None, min_length=1, max_length=50)
    secret: str | None = Field(None, max_length=255, description='Write-only; "" removes it.')
    description: str | None = Field(None, max_length=255)
    is_active: bool | None = None


class EndpointPage(Schema):
    items: list[EndpointOut]
    count: int
    limit: int
    offset: int


class AttemptOut(Schema):
    number: int
    trigger: str
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
    event: str
    status: str
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


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    count: int
    limit: int
    offset: int


class PageIn(Schema):
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class DeliveryFilter(PageIn):
    event: str | None = Field(None, max_length=64)
    status: Delivery.Status | None = None
    is_test: bool | None = None


class RecoverIn(Schema):
    since: AwareDatetime


class RecoverOut(Schema):
    count: int


def _endpoint(request, endpoint_id: int):
    endpoint = selectors.endpoint_get(
        owner=request.api_key.owner, endpoint_id=endpoint_id, ids=restricted_ids(request, FAMILY)
    )
    if endpoint is None:
        raise Http404
    return endpoint


@router.get(
    "",
    response={200: EndpointPage, **ERRORS},
    summary="List webhook endpoints",
    description="Requires scope `webhooks:read`.",
)
def endpoint_list(request, page: Query[PageIn]):
    require_scope(request, "webhooks:read")
    qs = selectors.endpoint_list(owner=request.api_key.owner, ids=restricted_ids(request, FAMILY))
    return {
        "items": list(qs[page.offset : page.offset + page.limit]),
        "count": qs.count(),
        "limit": page.limit,
        "offset": page.offset,
    }


@router.post(
    "",
    response={201: EndpointOut, **ERRORS},
    summary="Create a webhook endpoint",
    description="Requires scope `webhooks:write`.",
)
def endpoint_create(request, payload: EndpointIn):
    require_scope(request, "webhooks:write")
    if restricted_ids(request, FAMILY) is not None:
        raise ScopeDenied(
            "This API key is restricted to listed webhooks and cannot create new ones."
        )
    return Status(201, services.endpoint_create(actor=actor_for(request), **payload.dict()))


@router.get(
    "/{endpoint_id}",
    response={200: EndpointOut, **ERRORS},
    summary="Get a webhook endpoint",
    description="Requires scope `webhooks:read`.",
)
def endpoint_get(request, endpoint_id: int):
    require_scope(request, "webhooks:read")
    return _endpoint(request, endpoint_id)


@router.patch(
    "/{endpoint_id}",
    response={200: EndpointOut, **ERRORS},
    summary="Update a webhook endpoint",
    description="Requires scope `webhooks:write`. `is_active: true` re-enables a "
    "disabled endpoint.",
)
def endpoint_update(request, endpoint_id: int, payload: EndpointPatch):
    require_scope(request, "webhooks:write")
    endpoint, actor = _endpoint(request, endpoint_id), actor_for(request)
    changes = payload.dict(exclude_unset=True)
    is_active = changes.pop("is_active", None)
    if changes:
        endpoint = services.endpoint_update(actor=actor, endpoint=endpoint, **changes)
    if is_active is True and not endpoint.is_active:
        endpoint = services.endpoint_enable(actor=actor, endpoint=endpoint)
    elif is_active is False and endpoint.is_active:
        endpoint = services.endpoint_disable(actor=actor, endpoint=endpoint)
    return endpoint


@router.delete(
    "/{endpoint_id}",
    response={204: None, **ERRORS},
    summary="Delete a webhook endpoint",
    description="Requires scope `webhooks:delete`.",
)
def endpoint_delete(request, endpoint_id: int):
    require_scope(request, "webhooks:delete")
    services.endpoint_delete(actor=actor_for(request), endpoint=_endpoint(request, endpoint_id))
    return Status(204, None)


@router.get(
    "/{endpoint_id}/deliveries",
    response={200: DeliveryPage, **ERRORS},
    summary="An endpoint's deliveries, newest first, with their attempts",
    description="Requires scope `webhooks:read`. Filter by event, status and test flag.",
)
def delivery_list(request, endpoint_id: int, filters: Query[DeliveryFilter]):
    require_scope(request, "webhooks:read")
    qs = selectors.delivery_list(
        endpoint=_endpoint(request, endpoint_id),
        event=filters.event,
        status=filters.status,
        is_test=filters.is_test,
    )
    items = list(qs[filters.offset : filters.offset + filters.limit])
    return {"items": items, "count": qs.count(), "limit": filters.limit, "offset": filters.offset}


@router.post(
    "/{endpoint_id}/test",
    response={202: DeliveryOut, **ERRORS},
    summary="Send a sample playground.created, marked as a test",
    description="Requires scope `webhooks:write`.",
)
def endpoint_test(request, endpoint_id: int):
    require_scope(request, "webhooks:write")
    delivery = services.endpoint_test(
        actor=actor_for(request), endpoint=_endpoint(request, endpoint_id)
    )
    return Status(202, selectors.delivery_get(owner=request.api_key.owner, delivery_id=delivery.pk))


@router.post(
    "/{endpoint_id}/recover",
    response={202: RecoverOut, **ERRORS},
    summary="Redeliver every failed delivery since a time",
    description="Requires scope `webhooks:write`.",
)
def deliveries_recover(request, endpoint_id: int, payload: RecoverIn):
    require_scope(request, "webhooks:write")
    count = services.deliveries_recover_failed(
        actor=actor_for(request), endpoint=_endpoint(request, endpoint_id), since=payload.since
    )
    return Status(202, {"count": count})


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    response={202: DeliveryOut, **ERRORS},
    summary="Send one delivery again now",
    description="Requires scope `webhooks:write`.",
)
def delivery_redeliver(request, delivery_id: int):
    require_scope(request, "webhooks:write")
    owner = request.api_key.owner
    delivery = selectors.delivery_get(
        owner=owner, delivery_id=delivery_id, endpoint_ids=restricted_ids(request, FAMILY)
    )
    if delivery is None:
        raise Http404
    services.delivery_redeliver(actor=actor_for(request), delivery=delivery)
    return Status(202, selectors.delivery_get(owner=owner, delivery_id=delivery_id))
