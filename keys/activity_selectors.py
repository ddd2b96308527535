"""Reads of per-key activity (issue 24): the timeline, its filters, the hourly usage picture and
the webhook deliveries each write caused."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from .activity_model import KeyActivity, KeyActivityHour

SUCCEEDED, FAILED = "succeeded", "failed"
OUTCOMES = {SUCCEEDED: "Succeeded (1xx–3xx)", FAILED: "Failed (4xx–5xx)"}


def activity_list(
    *,
    key_id: int,
    door: str | None = None,
    outcome: str | None = None,
    operation: str | None = None,
) -> QuerySet[KeyActivity]:
    """One key's activity, newest first, narrowed by door, outcome and operation."""
    qs = KeyActivity.objects.filter(key_id=key_id).order_by("-at", "-id")
    if door:
        qs = qs.filter(door=door)
    if outcome == SUCCEEDED:
        qs = qs.filter(status__lt=400)
    elif outcome == FAILED:
        qs = qs.filter(status__gte=400)
    if operation:
        qs = qs.filter(operation=operation)
    return qs


@dataclass
class Hour:
    start: datetime
    succeeded: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.succeeded + self.failed


def hourly_usage(*, key_id: int, hours: int = 7 * 24, now: datetime | None = None) -> list[Hour]:
    """Requests per hour over the last ``hours`` hours, oldest first, every hour present
    (zero when idle): one query of at most ``hours`` rows of the hourly counts."""
    now = now or timezone.now()
    last = now.replace(minute=0, second=0, microsecond=0)
    first = last - timedelta(hours=hours - 1)
    slots = {first + timedelta(hours=i): Hour(first + timedelta(hours=i)) for i in range(hours)}
    rows = KeyActivityHour.objects.filter(key_id=key_id, hour__gte=first).values_list(
        "hour", "total", "failed"
    )
    for hour, total, failed in rows:
        slot = slots.get(hour)
        if slot is not None:
            slot.failed = failed
            slot.succeeded = total - failed
    return list(slots.values())


@dataclass
class Caused:
    """A timeline entry, with the webhook deliveries it caused when it is a write."""

    entry: KeyActivity
    deliveries: list = field(default_factory=list)


def with_deliveries(*, owner, key_id: int, entries: list[KeyActivity]) -> list[Caused]:
    """Each entry with the deliveries of the events published while it ran, with this key:
    one query for the whole page. A write made during another write of the same key is told
    apart by the record its events name."""
    out = [Caused(entry) for entry in entries]
    writes = [c for c in out if c.entry.is_write]
    if not writes:
        return out
    spans = [(c, c.entry.at, c.entry.at + _took(c.entry)) for c in writes]
    find = import_string(settings.KEY_ACTIVITY_DELIVERIES)
    deliveries = find(
        owner=owner,
        credential_id=key_id,
        since=min(s for _, s, _ in spans),
        until=max(u for _, _, u in spans),
    )
    for delivery in deliveries:
        at = delivery.event.created_at
        during = [c for c, since, until in spans if since <= at <= until]
        if len(during) > 1:  # overlapping writes: the one whose record the event names
            named = set((delivery.event.subjects or {}).values())
            during = [c for c in during if c.entry.record_id in named] or during[:1]
        for caused in during[:1]:
            caused.deliveries.append(delivery)
    return out


def _took(entry: KeyActivity) -> timedelta:
    return timedelta(milliseconds=entry.duration_ms + 1)  # the ms recorded are rounded down
