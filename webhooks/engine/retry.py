"""The retry schedule kept in the database, and a receiver's Retry-After read defensively."""

from __future__ import annotations

import random
from datetime import timedelta
from email.utils import parsedate_to_datetime

from django.utils import timezone

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
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
JITTER = 0.2
# No receiver can ask for more than this (retry_delay bounds it further, to 2x the schedule).
RETRY_AFTER_MAX = timedelta(days=1)


def retry_delay(attempt_number: int, retry_after: timedelta | None = None) -> timedelta | None:
    """Delay before the next attempt after ``attempt_number`` failed, None when exhausted.
    A receiver's Retry-After is honoured within [1x, 2x] of the scheduled delay."""
    if attempt_number >= MAX_ATTEMPTS:
        return None
    base = RETRY_SCHEDULE[max(attempt_number, 1) - 1] * random.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        return min(max(retry_after, base), base * 2)
    return base


def parse_retry_after(value) -> timedelta | None:
    """Seconds (ASCII digits only) or an HTTP date, in [0, RETRY_AFTER_MAX]; None for anything
    else. Never raises, whatever the receiver sent."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        if len(value) > 9:  # more than RETRY_AFTER_MAX anyway; int() of a huge string is slow
            return RETRY_AFTER_MAX
        return min(timedelta(seconds=int(value)), RETRY_AFTER_MAX)
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            return None
        return min(max(when - timezone.now(), timedelta(0)), RETRY_AFTER_MAX)
    except (TypeError, ValueError, OverflowError, IndexError, AttributeError):
        return None
