"""The beat's slower upkeep: purge old delivery logs, disable endpoints that keep failing."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fibe_access.accounts.actor import Actor

from ..models import Attempt, Delivery, Event, ListenEvent, WebhookEndpoint
from ..services import endpoint_disable_system

# Events per batch: about 3 deliveries and 11 attempts each on a busy installation, so one
# batch deletes a few thousand rows in statements of tens of milliseconds, and a worker
# claiming deliveries never waits on a long one (bench/scale.py measures both).
PURGE_BATCH = 500
PURGE_MAX_BATCHES = 200


def deliveries_purge_old(*, batch: int = PURGE_BATCH, max_batches: int = PURGE_MAX_BATCHES) -> int:
    """Delete events (with their deliveries, attempts and listen queue entries) older than
    the log retention, oldest first, ``batch`` events per transaction and at most
    ``max_batches`` transactions a run (the next run takes the rest), resting
    WEBHOOKS_PURGE_PAUSE times as long as a batch took before the next. Returns how many
    events went."""
    cutoff = timezone.now() - settings.WEBHOOKS_LOG_RETENTION
    total, took = 0, 0.0
    for _ in range(max_batches):
        time.sleep(settings.WEBHOOKS_PURGE_PAUSE * took)  # the last batch's time, times so many
        started = time.monotonic()
        with transaction.atomic():
            ids = list(
                Event.objects.filter(created_at__lt=cutoff)
                .order_by("created_at")
                .values_list("pk", flat=True)[:batch]
            )
            if not ids:
                break
            # Children first, each one statement on its foreign-key index; _raw_delete skips
            # the collector, which would load every delivery to cascade what is already gone.
            deliveries = Delivery.objects.filter(event_id__in=ids)
            for qs in (
                Attempt.objects.filter(delivery_id__in=deliveries.values("pk")),
                ListenEvent.objects.filter(event_id__in=ids),
                deliveries,
                Event.objects.filter(pk__in=ids),
            ):
                qs._raw_delete(qs.db)
        total += len(ids)
        took = time.monotonic() - started
        if len(ids) < batch:
            break
    return total


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
