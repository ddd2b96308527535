"""The one way a webhook is sent: claim → send → record (the beat's scan, ``scan``, finds what
fell out of it). The Celery task ``webhooks.tasks.deliveries_send`` runs ``deliveries_send``
with the ids of its message; every send — first attempts, retries, redeliveries, test sends —
comes through here, and every webhook guarantee of the README is tested on it.

One call claims up to WEBHOOKS_SEND_BATCH due deliveries at once, sends each account's in turn
on a thread of its own over kept-alive connections, and records the outcomes as they come (every
RECORD_EVERY seconds, so a worker killed mid-batch leaves few sent but unrecorded). Safe to run
twice at once: a claimed delivery is locked or marked in flight for everyone else."""

from __future__ import annotations

import time
from concurrent.futures import wait
from queue import SimpleQueue

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from ..models import Delivery
from .claim import deliveries_claim
from .queue import enqueue, enqueue_later
from .record import outcomes_record
from .send import lanes_send

RECORD_EVERY = 0.05  # seconds between recordings of the outcomes so far
BUSY_RETRY_SECONDS = 1.0  # an endpoint or account at its slot limit: try again then


def deliveries_send(*, delivery_ids: list[int], limit: int | None = None) -> int:
    """Claim ``delivery_ids`` (those still due and free) and other due deliveries up to
    ``limit``, send them and record one outcome each. Returns how many were sent."""
    lanes, busy = deliveries_claim(delivery_ids, limit or settings.WEBHOOKS_SEND_BATCH)
    if busy:
        enqueue_later(busy, BUSY_RETRY_SECONDS)
    if not lanes:
        return 0
    try:
        window_end = time.monotonic() + settings.WEBHOOKS_SEND_WINDOW
        outcomes: SimpleQueue = SimpleQueue()
        futures = lanes_send(lanes, window_end, outcomes)
        sent, pending = 0, True
        while pending:
            pending = wait(futures, timeout=RECORD_EVERY).not_done
            ready = []
            while not outcomes.empty():
                ready.append(outcomes.get())
            if ready:
                outcomes_record(ready)
            sent += len(ready)
        _hand_back([d for future in futures for d in future.result()])
    finally:  # again, in case a lane never ran (releasing twice is harmless)
        for lane in lanes:
            lane.release()
    return sent


def _hand_back(unsent: list[Delivery]) -> None:
    """Deliveries the batch had no time left to send: not attempted, so not counted."""
    if not unsent:
        return
    ids = [d.pk for d in unsent]
    Delivery.objects.filter(pk__in=ids, in_flight_since=unsent[0].in_flight_since).update(
        in_flight_since=None, attempt_count=F("attempt_count") - 1, updated_at=timezone.now()
    )
    enqueue(ids)
