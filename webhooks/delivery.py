"""The delivery engine: one attempt of one delivery, the retry schedule kept in the database,
and the periodic work (enqueue due, purge old logs, disable endpoints that keep failing).

Called by Celery tasks only; every function is safe to run twice at once."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from fibe_access.accounts.actor import Actor

from . import signing, slots, transport
from .models import Attempt, Delivery, Event, WebhookEndpoint
from .queue import enqueue_later, enqueue_on_commit
from .retry import MAX_ATTEMPTS, RETRY_SCHEDULE, parse_retry_after, retry_delay
from .services import endpoint_disable_system

__all__ = ["RETRY_SCHEDULE", "parse_retry_after", "retry_delay"]  # re-exported for callers
logger = logging.getLogger(__name__)
ENQUEUE_BATCH = 1000
BUSY_RETRY_SECONDS = 1.0  # an endpoint at its concurrency limit: try this delivery again then
LOST_REASON = (
    "No outcome recorded: the worker stopped during this attempt (killed, or out of time)."
)
BUSY = object()


def relaxed_commit() -> None:
    """Let this transaction commit without waiting for the WAL flush (PostgreSQL).

    Safe for the delivery bookkeeping only: the change is visible to other transactions at
    once (so the in-flight mark still stops a second sender), and a database crash can lose at
    most the last few hundred milliseconds of marks and attempt rows, which means a delivery
    sent again (webhooks are at-least-once), never one lost: the outbox rows written at publish
    keep the caller's full durability. Saves two fsyncs per attempt."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _claim(delivery_id: int):
    """Lock the row, check it still needs sending, take one of its endpoint's slots and mark
    it in flight (committed at once). None when there is nothing to send, BUSY when the
    endpoint has its limit of attempts in flight; else (delivery, slot token)."""
    now = timezone.now()
    with transaction.atomic():
        relaxed_commit()
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")
            .filter(pk=delivery_id, status__in=Delivery.OPEN)
            .first()
        )
        if delivery is None:
            return None  # finished, deleted, or another worker holds the lock right now
        if delivery.in_flight_since is not None:
            # Another worker is sending it, or its attempt was lost: the beat scan records
            # that attempt (it counts) before anything sends this delivery again.
            return None
        if delivery.next_attempt_at and delivery.next_attempt_at > now + timedelta(seconds=1):
            return None  # a stale duplicate message; the beat scan will enqueue it when due
        if spent(delivery):
            delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, None
            delivery.save(update_fields=["status", "next_attempt_at", "updated_at"])
            return None
        token = slots.acquire(delivery.endpoint_id, delivery.endpoint.owner_id)
        if token is None:
            return BUSY
        delivery.in_flight_since = now
        delivery.attempt_count += 1
        delivery.save(update_fields=["in_flight_since", "attempt_count", "updated_at"])
    return delivery, token


def spent(delivery: Delivery) -> bool:
    """A delivery with no attempt left (the cap, or a test already sent once): never sent."""
    if delivery.next_trigger == Delivery.Trigger.TEST:
        return delivery.attempt_count >= 1
    if delivery.next_trigger == Delivery.Trigger.SCHEDULED:
        return delivery.attempt_count >= MAX_ATTEMPTS
    return False


def delivery_attempt(*, delivery_id: int) -> Attempt | None:
    """Send one attempt of a delivery if it is still open and nobody else is sending it, and
    record exactly one outcome for it, whatever the receiver does. The HTTP request happens
    outside any transaction."""
    claimed = _claim(delivery_id)
    if claimed is BUSY:
        enqueue_later([delivery_id], BUSY_RETRY_SECONDS)
        return None
    if claimed is None:
        return None
    delivery, token = claimed
    try:
        return _send_and_record(delivery)
    finally:
        slots.release(delivery.endpoint_id, delivery.endpoint.owner_id, token)


def _send_and_record(delivery: Delivery) -> Attempt | None:
    if drop_if_inactive(delivery):
        return None
    trigger = delivery.next_trigger
    headers, body, response = send(delivery)
    return record_safely(delivery, trigger, headers, body, response)


def drop_if_inactive(delivery: Delivery) -> bool:
    """A scheduled delivery to a disabled endpoint fails without an attempt; True if so."""
    if delivery.endpoint.is_active or delivery.next_trigger != Delivery.Trigger.SCHEDULED:
        return False
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.FAILED,
        in_flight_since=None,
        next_attempt_at=None,
        updated_at=timezone.now(),
    )
    return True


def send(delivery: Delivery) -> tuple[dict, bytes, transport.Response]:
    """Sign and POST one attempt; never raises, and touches no database (safe in a thread)."""
    endpoint, event = delivery.endpoint, delivery.event
    body, headers = bytes(event.body), {}
    try:
        headers = signing.signed_headers(
            event=event.type,
            delivery_id=str(delivery.uid),
            secret=endpoint.signing_secrets(),
            body=body,
            timestamp=int(time.time()),
        )
        response = transport.post(endpoint.url, body=body, headers=headers)
    except Exception as exc:  # noqa: BLE001 - a bug here must still leave an attempt row
        logger.error("webhook delivery %s: sending failed (%s)", delivery.uid, type(exc).__name__)
        response = transport.Response(
            status=None, failure_reason=f"Internal error while sending ({type(exc).__name__})."
        )
    return headers, body, response


def record_safely(
    delivery: Delivery, trigger: str, headers: dict, body: bytes, response: transport.Response
) -> Attempt | None:
    try:
        return _record(delivery, trigger, headers, body, response)
    except Exception as exc:  # noqa: BLE001 - e.g. the database refused what the receiver sent
        logger.warning(
            "webhook delivery %s: outcome not storable (%s); stored without the response",
            delivery.uid,
            type(exc).__name__,
        )
        note = f"The response could not be stored ({type(exc).__name__})."
        bare = transport.Response(
            status=response.status,
            duration_ms=response.duration_ms,
            failure_reason=transport.storable(f"{response.failure_reason} {note}".strip(), 500),
            complete=response.complete,
        )
        # If even this fails the attempt stays in flight and the beat scan records it as lost.
        return _record(delivery, trigger, headers, body, bare)


@transaction.atomic
def _record(
    delivery: Delivery, trigger: str, headers: dict, body: bytes, response: transport.Response
) -> Attempt | None:
    now = timezone.now()
    endpoint = delivery.endpoint
    next_at = None
    if response.ok:
        relaxed_commit()  # failures (which may disable and audit) keep full durability
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
    # Only while our claim stands: once the beat scan has recorded this attempt as lost, a late
    # outcome changes nothing.
    updated = Delivery.objects.filter(
        pk=delivery.pk, in_flight_since=delivery.in_flight_since
    ).update(
        status=status,
        next_attempt_at=next_at,
        in_flight_since=None,
        enqueued_at=None,
        next_trigger=Delivery.Trigger.SCHEDULED,
        updated_at=now,
    )
    if not updated:
        transaction.set_rollback(True)
        return None  # deleted while we were sending, or already recorded as lost
    attempt = attempt_row(delivery, trigger, headers, body, response)
    attempt.save(force_insert=True)
    log_attempt(delivery, response, status)
    return attempt


def attempt_row(
    delivery: Delivery, trigger: str, headers: dict, body: bytes, response: transport.Response
) -> Attempt:
    return Attempt(
        delivery=delivery,
        number=delivery.attempt_count,
        trigger=trigger,
        request_url=delivery.endpoint.url,
        request_headers=headers,
        request_body=body,
        response_status=response.status,
        response_headers=transport.storable_headers(response.headers),
        response_body=transport.storable(response.body, Attempt.RESPONSE_BODY_LIMIT),
        duration_ms=response.duration_ms,
        failure_reason=transport.storable(response.failure_reason, 500),
    )


def log_attempt(delivery: Delivery, response: transport.Response, status: str) -> None:
    # Status only: failure reasons can quote the target URL, which may carry a token.
    logger.info(
        "webhook delivery %s attempt %s: HTTP %s -> %s",
        delivery.uid,
        delivery.attempt_count,
        response.status,
        status,
    )


def deliveries_enqueue_due(*, limit: int = ENQUEUE_BATCH) -> int:
    """Record attempts lost in a dead worker, then enqueue due retries and first attempts
    whose message was lost. Returns how many were enqueued."""
    deliveries_close_lost(limit=limit)
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            Delivery.objects.filter(
                status__in=Delivery.OPEN, next_attempt_at__lte=now, in_flight_since__isnull=True
            )
            .filter(
                Q(enqueued_at__isnull=True)
                | Q(enqueued_at__lt=now - settings.WEBHOOKS_REENQUEUE_AFTER)
            )
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Delivery.objects.filter(pk__in=ids).update(enqueued_at=now)
            enqueue_on_commit(ids)
    return len(ids)


def deliveries_close_lost(*, limit: int = ENQUEUE_BATCH) -> int:
    """Attempts in flight for longer than WEBHOOKS_STUCK_AFTER never recorded an outcome (the
    worker was killed or hit its time limit). Each gets an attempt row saying so and counts
    toward the cap: a scheduled delivery is retried on the schedule while attempts remain, a
    test or manual send is never sent again. Returns how many were closed."""
    now = timezone.now()
    with transaction.atomic():
        lost = list(
            Delivery.objects.filter(
                status__in=Delivery.OPEN,
                in_flight_since__lt=now - settings.WEBHOOKS_STUCK_AFTER,
            )
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint", "event")[:limit]
        )
        attempts = []
        for delivery in lost:
            attempts.append(
                Attempt(
                    delivery=delivery,
                    number=delivery.attempt_count,
                    trigger=delivery.next_trigger,
                    request_url=delivery.endpoint.url,
                    request_headers={},
                    request_body=bytes(delivery.event.body),
                    response_status=None,
                    duration_ms=_ms(now - delivery.in_flight_since),
                    failure_reason=LOST_REASON,
                )
            )
            delay = None
            if delivery.next_trigger == Delivery.Trigger.SCHEDULED and not delivery.is_test:
                delay = retry_delay(delivery.attempt_count)
                if delay is None:
                    WebhookEndpoint.objects.filter(
                        pk=delivery.endpoint_id, failing_since__isnull=True
                    ).update(failing_since=now)
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.RETRYING if delay else Delivery.Status.FAILED,
                next_attempt_at=now + delay if delay else None,
                in_flight_since=None,
                enqueued_at=None,
                next_trigger=Delivery.Trigger.SCHEDULED,
                updated_at=now,
            )
        Attempt.objects.bulk_create(attempts, ignore_conflicts=True)
    for delivery in lost:
        logger.warning("webhook delivery %s attempt %s: lost", delivery.uid, delivery.attempt_count)
    return len(lost)


def _ms(delta: timedelta) -> int:
    return max(0, min(int(delta.total_seconds() * 1000), 2**31 - 1))


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
