"""The delivery engine: one attempt of one delivery, the retry schedule kept in the database,
and the periodic work (enqueue due, purge old logs, disable endpoints that keep failing).

Called by Celery tasks only; every function is safe to run twice at once."""

from __future__ import annotations

import logging
import random
import time
from datetime import timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from fibe_access.accounts.actor import Actor

from . import signing, transport
from .models import Attempt, Delivery, Event, WebhookEndpoint
from .queue import enqueue_on_commit
from .services import endpoint_disable_system

logger = logging.getLogger(__name__)

# Delay before retry n (after attempt n failed); 8 attempts in all, about 28 hours.
RETRY_SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
JITTER = 0.2
ENQUEUE_BATCH = 1000


def retry_delay(attempt_number: int, retry_after: timedelta | None = None) -> timedelta | None:
    """Delay before the next attempt after ``attempt_number`` failed, None when exhausted.
    A receiver's Retry-After is honoured within [1x, 2x] of the scheduled delay."""
    if attempt_number > len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[attempt_number - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        return min(max(retry_after, base), base * 2)
    return base


def parse_retry_after(value: str | None) -> timedelta | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - timezone.now(), timedelta(0))


def _relaxed_commit() -> None:
    """Let this transaction commit without waiting for the WAL flush (PostgreSQL).

    Safe for the delivery bookkeeping only: the change is visible to other transactions at
    once (so the in-flight mark still stops a second sender), and a database crash can lose at
    most the last few hundred milliseconds of marks and attempt rows, which means a delivery
    sent again (webhooks are at-least-once), never one lost: the outbox rows written at publish
    keep the caller's full durability. Saves two fsyncs per attempt."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _claim(delivery_id: int) -> Delivery | None:
    """Lock the row, check it still needs sending, and mark it in flight (committed at once)."""
    now = timezone.now()
    with transaction.atomic():
        _relaxed_commit()
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")
            .filter(pk=delivery_id, status__in=Delivery.OPEN)
            .first()
        )
        if delivery is None:
            return None  # finished, deleted, or another worker holds the lock right now
        in_flight = delivery.in_flight_since
        if in_flight and in_flight > now - settings.WEBHOOKS_STUCK_AFTER:
            return None  # another worker is sending it
        if delivery.next_attempt_at and delivery.next_attempt_at > now + timedelta(seconds=1):
            return None  # a stale duplicate message; the beat scan will enqueue it when due
        delivery.in_flight_since = now
        delivery.attempt_count += 1
        delivery.save(update_fields=["in_flight_since", "attempt_count", "updated_at"])
    return delivery


def delivery_attempt(*, delivery_id: int) -> Attempt | None:
    """Send one attempt of a delivery if it is still open and nobody else is sending it.
    The HTTP request happens outside any transaction."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    endpoint, event = delivery.endpoint, delivery.event
    trigger = delivery.next_trigger
    if not endpoint.is_active and trigger == Delivery.Trigger.SCHEDULED:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.FAILED,
            in_flight_since=None,
            next_attempt_at=None,
            updated_at=timezone.now(),
        )
        return None
    body = bytes(event.body)
    headers = signing.signed_headers(
        event=event.type,
        delivery_id=str(delivery.uid),
        secret=endpoint.secret,
        body=body,
        timestamp=int(time.time()),
    )
    response = transport.post(endpoint.url, body=body, headers=headers)
    return _record(delivery, trigger, headers, body, response)


@transaction.atomic
def _record(
    delivery: Delivery, trigger: str, headers: dict, body: bytes, response: transport.Response
) -> Attempt | None:
    now = timezone.now()
    endpoint = delivery.endpoint
    next_at = None
    if response.ok:
        _relaxed_commit()  # failures (which may disable and audit) keep full durability
        status = Delivery.Status.SUCCEEDED
        if endpoint.failing_since is not None:  # as read at claim time; rarely set
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
    elif response.status == 410:
        status = Delivery.Status.FAILED
        endpoint_disable_system(
            actor=Actor.system(), endpoint=endpoint, reason="The receiver answered 410 Gone."
        )
    elif trigger != Delivery.Trigger.SCHEDULED or delivery.is_test:
        status = Delivery.Status.FAILED  # manual and test sends are not retried
    else:
        delay = retry_delay(
            delivery.attempt_count, parse_retry_after(response.headers.get("Retry-After"))
        )
        if delay is None:
            status = Delivery.Status.FAILED
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
                failing_since=now
            )
        else:
            status, next_at = Delivery.Status.RETRYING, now + delay
    updated = Delivery.objects.filter(pk=delivery.pk).update(
        status=status,
        next_attempt_at=next_at,
        in_flight_since=None,
        enqueued_at=None,
        next_trigger=Delivery.Trigger.SCHEDULED,
        updated_at=now,
    )
    if not updated:
        transaction.set_rollback(True)
        return None  # the endpoint (and its log) was deleted while we were sending
    attempt = Attempt.objects.create(
        delivery=delivery,
        number=delivery.attempt_count,
        trigger=trigger,
        request_url=endpoint.url,
        request_headers=headers,
        request_body=body,
        response_status=response.status,
        response_headers=response.headers,
        response_body=response.body,
        duration_ms=response.duration_ms,
        failure_reason=response.failure_reason[:500],
    )
    # Status only: failure reasons can quote the target URL, which may carry a token.
    logger.info(
        "webhook delivery %s attempt %s: HTTP %s -> %s",
        delivery.uid,
        attempt.number,
        response.status,
        status,
    )
    return attempt


def deliveries_enqueue_due(*, limit: int = ENQUEUE_BATCH) -> int:
    """Enqueue due retries, first attempts whose message was lost, and attempts stuck in a
    dead worker. Returns how many were enqueued."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.filter(status__in=Delivery.OPEN, next_attempt_at__lte=now)
            .filter(
                Q(enqueued_at__isnull=True)
                | Q(enqueued_at__lt=now - settings.WEBHOOKS_REENQUEUE_AFTER)
            )
            .filter(
                Q(in_flight_since__isnull=True)
                | Q(in_flight_since__lt=now - settings.WEBHOOKS_STUCK_AFTER)
            )
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Delivery.objects.filter(pk__in=ids).update(enqueued_at=now)
            enqueue_on_commit(ids)
    return len(ids)


def deliveries_purge_old() -> int:
    """Delete events (with their deliveries and attempts) older than the log retention."""
    cutoff = timezone.now() - settings.WEBHOOKS_LOG_RETENTION
    old = Event.objects.filter(created_at__lt=cutoff)
    Attempt.objects.filter(delivery__event__in=old).delete()
    Delivery.objects.filter(event__in=old).delete()
    count, _ = old.delete()
    return count


def endpoints_disable_failing() -> int:
    """Disable endpoints whose deliveries have kept exhausting their retries for longer than
    WEBHOOKS_DISABLE_AFTER (any success in between clears ``failing_since``)."""
    cutoff = timezone.now() - settings.WEBHOOKS_DISABLE_AFTER
    count = 0
    for endpoint in WebhookEndpoint.objects.filter(
        is_active=True, failing_since__lte=cutoff
    ).select_related("owner"):
        with transaction.atomic():
            endpoint_disable_system(
                actor=Actor.system(),
                endpoint=endpoint,
                reason="Deliveries kept failing since "
                f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC.",
            )
        count += 1
    return count
