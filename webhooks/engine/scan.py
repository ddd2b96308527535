"""The beat's scan (every 5 s): attempts lost in a dead worker are recorded as such, then due
deliveries whose broker message is missing are put on the queue again. So a lost message or a
killed worker delays a delivery, never loses it. Safe to run twice at once (SKIP LOCKED)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Attempt, Delivery, WebhookEndpoint
from .queue import enqueue_on_commit
from .retry import retry_delay

logger = logging.getLogger(__name__)
SCAN_BATCH = 1000
LOST_REASON = (
    "No outcome recorded: the worker stopped during this attempt (killed, or out of time)."
)


def deliveries_enqueue_due(*, limit: int = SCAN_BATCH) -> int:
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


def deliveries_close_lost(*, limit: int = SCAN_BATCH) -> int:
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
