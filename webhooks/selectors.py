"""Reads for pages and the API; each runs a constant number of queries."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import Attempt, Delivery, WebhookEndpoint


def endpoint_list(*, owner, ids: list[int] | None = None) -> QuerySet[WebhookEndpoint]:
    qs = WebhookEndpoint.objects.filter(owner=owner)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs


def endpoint_get(
    *, owner, endpoint_id: int, ids: list[int] | None = None
) -> WebhookEndpoint | None:
    return endpoint_list(owner=owner, ids=ids).filter(pk=endpoint_id).first()


def delivery_list(
    *,
    endpoint: WebhookEndpoint,
    event: str | None = None,
    status: str | None = None,
    is_test: bool | None = None,
    with_attempts: bool = True,
) -> QuerySet[Delivery]:
    """An endpoint's delivery log, newest first, with each delivery's retry history."""
    qs = Delivery.objects.filter(endpoint=endpoint).select_related("event")
    if event:
        qs = qs.filter(event__type=event)
    if status:
        qs = qs.filter(status=status)
    if is_test is not None:
        qs = qs.filter(is_test=is_test)
    if with_attempts:
        qs = qs.prefetch_related(Prefetch("attempts", queryset=Attempt.objects.order_by("number")))
    return qs


def delivery_get(
    *, owner, delivery_id: int, endpoint_ids: list[int] | None = None
) -> Delivery | None:
    qs = Delivery.objects.filter(pk=delivery_id, endpoint__owner=owner).select_related(
        "endpoint", "event"
    )
    if endpoint_ids is not None:
        qs = qs.filter(endpoint_id__in=endpoint_ids)
    return qs.prefetch_related(
        Prefetch("attempts", queryset=Attempt.objects.order_by("number"))
    ).first()
