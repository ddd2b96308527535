"""Reads for pages and the API; each runs a constant number of queries. A ``*_get`` returns
the record or None."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import Attempt, Delivery, WebhookEndpoint
from .subjects import visible

# What a delivery log's row shows of the attempts (the last one's outcome), read without their
# headers and bodies (issue 27: a page of 25 costs little more than a page of 10)
ATTEMPT_SUMMARY = (
    "id",
    "delivery_id",
    "number",
    "response_status",
    "failure_reason",
    "duration_ms",
)


def endpoint_list(*, owner, ids: list[int] | None = None) -> QuerySet[WebhookEndpoint]:
    qs = WebhookEndpoint.objects.filter(owner=owner)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs


def endpoint_get(*, owner, endpoint_id: int) -> WebhookEndpoint | None:
    return endpoint_list(owner=owner).filter(pk=endpoint_id).first()


def delivery_list(
    *,
    endpoint: WebhookEndpoint,
    event: str | None = None,
    status: str | None = None,
    is_test: bool | None = None,
    with_attempts: bool = True,
    restrictions: dict[str, list[int]] | None = None,
    summary: bool = False,
) -> QuerySet[Delivery]:
    """An endpoint's delivery log, newest first, with each delivery's retry history; with a
    key's ``restrictions``, only the deliveries it may see (``subjects.visible``). A
    ``summary`` (the page's rows) reads the attempts' outcomes only. No event's body is read:
    a row names its event's type."""
    qs = Delivery.objects.filter(endpoint=endpoint).filter(visible(restrictions))
    qs = qs.select_related("event").defer("event__body")
    if event:
        qs = qs.filter(event__type=event)
    if status:
        qs = qs.filter(status=status)
    if is_test is not None:
        qs = qs.filter(is_test=is_test)
    if with_attempts:
        attempts = Attempt.objects.order_by("number")
        if summary:
            attempts = attempts.only(*ATTEMPT_SUMMARY)
        qs = qs.prefetch_related(Prefetch("attempts", queryset=attempts))
    return qs


def delivery_get(
    *, owner, delivery_id: int, restrictions: dict[str, list[int]] | None = None
) -> Delivery | None:
    """The owner's delivery, or None; with a key's ``restrictions``, None also when it is on
    an endpoint outside them or about a record outside them."""
    qs = Delivery.objects.filter(pk=delivery_id, endpoint__owner=owner).select_related(
        "endpoint", "event"
    )
    if restrictions:
        qs = qs.filter(visible(restrictions))
        if "webhooks" in restrictions:
            qs = qs.filter(endpoint_id__in=restrictions["webhooks"])
    return qs.prefetch_related(
        Prefetch("attempts", queryset=Attempt.objects.order_by("number"))
    ).first()


def deliveries_caused_by(*, owner, credential_id: int, since, until, limit: int = 500) -> list:
    """The deliveries of events that the API key (or grant) ``credential_id`` caused between
    ``since`` and ``until``, oldest first, with their event and endpoint: what a key's page links
    to each write. Named in settings.KEY_ACTIVITY_DELIVERIES (keys do not import webhooks)."""
    return list(
        Delivery.objects.filter(
            event__owner=owner,
            event__credential_id=credential_id,
            event__created_at__gte=since,
            event__created_at__lte=until,
        )
        .select_related("event", "endpoint")
        .order_by("event__created_at", "id")[:limit]
    )
