"""The beat's slower upkeep: purge old delivery logs, disable endpoints that keep failing."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fibe_access.accounts.actor import Actor

from ..models import Attempt, Delivery, Event, WebhookEndpoint
from ..services import endpoint_disable_system


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
