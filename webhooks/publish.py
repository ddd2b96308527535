"""The one function resources call to announce what happened. Resources know nothing else of
webhooks."""

from __future__ import annotations

import json
from datetime import UTC

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import BooleanField, Value
from django.utils import timezone

from fibe_access.accounts.actor import Actor

from .engine.queue import FANOUT_INLINE, enqueue_on_commit
from .events import BY_NAME
from .listen import capture, live_events
from .models import Delivery, Event, WebhookEndpoint
from .subjects import named

REQUIRED_DATA = frozenset({"id", "name", "status"})


def serialise(*, event: str, data: dict, at) -> bytes:
    envelope = {
        "event": event,
        "timestamp": at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "data": data,
    }
    return json.dumps(envelope, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def publish_event(*, owner, event: str, data: dict, actor: Actor | None = None) -> Event | None:
    """Record ``event`` (e.g. "playground.created") for ``owner`` inside the caller's
    transaction; deliveries go out on commit. ``data`` must hold at least id, name, status.
    ``actor``: who caused it; the API key it acted with is kept on the event (``credential_id``).

    Three queries whatever the number of endpoints; nothing is written (and nothing sent) when
    the owner has no active endpoint and no live listen session (``listen``) told about
    ``event``; each such session gets the event queued in this transaction.
    """
    if event not in BY_NAME:
        raise ValueError(f"Unknown webhook event {event!r}")
    if not REQUIRED_DATA <= data.keys():
        raise ValueError(f"Webhook data needs {sorted(REQUIRED_DATA)}, got {sorted(data)}")
    endpoint_ids, session_ids = _told(owner, event)
    if not endpoint_ids and not session_ids:
        return None
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        record = Event.objects.create(
            type=event,
            owner=owner,
            created_at=now,
            body=serialise(event=event, data=data, at=now),
            subjects=named(event, data),
            credential_id=actor.api_key_id if actor is not None else None,
        )
        capture(record, session_ids)
        if connection.vendor == "postgresql" and len(endpoint_ids) > FANOUT_INLINE:
            ids = _insert_deliveries_pg(record.pk, endpoint_ids, now)
        else:
            ids = [
                d.pk
                for d in Delivery.objects.bulk_create(
                    [
                        Delivery(event=record, endpoint_id=pk, next_attempt_at=now, enqueued_at=now)
                        for pk in endpoint_ids
                    ]
                )
            ]
        enqueue_on_commit(ids)
    return record


def _told(owner, event: str) -> tuple[list[int], list[int]]:
    """The owner's active endpoints and live listen sessions told about ``event``, as two
    lists of IDs, read in one query (a UNION ALL of both tables)."""
    is_endpoint = Value(True, output_field=BooleanField())
    endpoints = (
        WebhookEndpoint.objects.filter(owner=owner, is_active=True)
        .order_by()
        .annotate(is_endpoint=is_endpoint)
        .values_list("is_endpoint", "pk", "events")
    )
    sessions = (
        live_events(owner)
        .order_by()
        .annotate(is_endpoint=Value(False, output_field=BooleanField()))
        .values_list("is_endpoint", "pk", "events")
    )
    endpoint_ids, session_ids = [], []
    for endpoint, pk, events in endpoints.union(sessions, all=True):
        if event in (events or []):
            (endpoint_ids if endpoint else session_ids).append(pk)
    return endpoint_ids, session_ids


def _insert_deliveries_pg(event_id: int, endpoint_ids: list[int], now) -> list[int]:
    """Large fan-outs: one INSERT … SELECT over an array parameter, so neither Python nor the
    driver handles a row (and eleven parameters) per endpoint."""
    table = Delivery._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (uid, event_id, endpoint_id, status, next_trigger,"  # noqa: S608
            " attempt_count, next_attempt_at, enqueued_at, in_flight_since, is_test,"
            " created_at, updated_at)"
            " SELECT gen_random_uuid(), %s, endpoint_id, %s, %s, 0, %s, %s, NULL, false, %s, %s"
            " FROM unnest(%s::bigint[]) AS endpoint_id RETURNING id",
            [
                event_id,
                Delivery.Status.PENDING,
                Delivery.Trigger.SCHEDULED,
                now,
                now,
                now,
                now,
                endpoint_ids,
            ],
        )
        return [row[0] for row in cursor.fetchall()]
