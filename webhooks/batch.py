"""Batched claim-and-send: one task claims up to WEBHOOKS_SEND_BATCH due deliveries at once
(``FOR UPDATE SKIP LOCKED``), sends each account's in turn on its own thread over kept-alive
connections (the SSRF guard still connects to the vetted IP), and records the outcomes with
one ``bulk_create`` of attempts and one update of deliveries.

The guarantees of the single-delivery path hold: a delivery is marked in flight (and its
attempt counted) before it is sent, so a worker killed mid-batch leaves attempts the beat scan
records as lost; each attempt gets exactly one row; an endpoint and an account have at most
their slots (a thread holds one slot of its account while it goes through its endpoints);
every send is cut at the attempt budget (a per-request deadline, as SIGALRM reaches only the
main thread)."""

from __future__ import annotations

import os
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import timedelta
from queue import SimpleQueue

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import deadline, slots
from .delivery import (
    BUSY_RETRY_SECONDS,
    attempt_row,
    log_attempt,
    record_safely,
    relaxed_commit,
    send,
    spent,
)
from .models import Attempt, Delivery, WebhookEndpoint
from .queue import enqueue, enqueue_later

RECORD_EVERY = 0.05  # seconds between recordings of the outcomes so far
_pool: tuple[int, ThreadPoolExecutor] | None = None


def _executor() -> ThreadPoolExecutor:
    """One pool of sending threads per process (made after a prefork worker forks), so each
    thread keeps its connections alive from one batch to the next."""
    global _pool
    if _pool is None or _pool[0] != os.getpid():
        workers = max(1, settings.WEBHOOKS_SEND_THREADS)
        _pool = (os.getpid(), ThreadPoolExecutor(workers, thread_name_prefix="webhook-send"))
    return _pool[1]


def deliveries_send(*, delivery_ids: list[int], limit: int | None = None) -> int:
    """Claim ``delivery_ids`` (those still due and free) and other due deliveries up to
    ``limit``, send them and record one outcome each. Returns how many were sent."""
    limit = limit or settings.WEBHOOKS_SEND_BATCH
    lanes, busy = _claim(delivery_ids, limit)
    if busy:
        enqueue_later(busy, BUSY_RETRY_SECONDS)
    if not lanes:
        return 0
    try:
        sent, unsent = _send_all(lanes)
        _hand_back(unsent)
    finally:  # again, in case a lane never ran (releasing twice is harmless)
        for (owner_id, _), (token, deliveries) in lanes.items():
            slots.release_many({d.endpoint_id for d in deliveries}, owner_id, token)
    return sent


def _claim(delivery_ids: list[int], limit: int):
    """Lock the due, free deliveries, take their endpoints' slots and mark them in flight
    (committed at once). Returns ({owner id: (slot token, deliveries)}, busy delivery ids)."""
    now = timezone.now()
    with transaction.atomic():
        relaxed_commit()
        base = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")
            .filter(status__in=Delivery.OPEN, in_flight_since__isnull=True)
        )
        rows = list(
            base.filter(pk__in=delivery_ids[:limit]).filter(
                Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + timedelta(seconds=1))
            )
        )
        if len(rows) < limit:
            rows += base.filter(next_attempt_at__lte=now).exclude(pk__in=[d.pk for d in rows])[
                : limit - len(rows)
            ]
        # No attempt left, or scheduled for a disabled endpoint: failed without an attempt.
        done = [d for d in rows if spent(d) or _disabled(d)]
        if done:
            Delivery.objects.filter(pk__in=[d.pk for d in done]).update(
                status=Delivery.Status.FAILED, next_attempt_at=None, updated_at=now
            )
        lanes, busy = _take_slots([d for d in rows if d not in done])
        claimed = [d.pk for _, deliveries in lanes.values() for d in deliveries]
        Delivery.objects.filter(pk__in=claimed).update(
            in_flight_since=now, attempt_count=F("attempt_count") + 1, updated_at=now
        )
    for _, deliveries in lanes.values():
        for delivery in deliveries:
            delivery.in_flight_since, delivery.attempt_count = now, delivery.attempt_count + 1
    return lanes, busy


def _disabled(delivery: Delivery) -> bool:
    return not delivery.endpoint.is_active and delivery.next_trigger == Delivery.Trigger.SCHEDULED


def _take_slots(rows: list[Delivery]):
    """Spread each account's endpoints over up to its account limit of sending threads
    ("lanes"), each holding one slot of the account and one of each endpoint it sends to.
    Returns ({(owner id, lane): (slot token, deliveries)}, busy delivery ids)."""
    by_owner: dict[int, dict[int, list[Delivery]]] = defaultdict(lambda: defaultdict(list))
    for delivery in sorted(rows, key=lambda d: (d.endpoint_id, d.pk)):
        by_owner[delivery.endpoint.owner_id][delivery.endpoint_id].append(delivery)
    width = min(settings.WEBHOOKS_ACCOUNT_CONCURRENCY, settings.WEBHOOKS_SEND_THREADS)
    lanes, busy = {}, []
    for owner_id, endpoints in by_owner.items():
        tokens = [uuid.uuid4().hex for _ in range(max(1, min(width, len(endpoints))))]
        for index, (endpoint_id, deliveries) in enumerate(endpoints.items()):
            first = index % len(tokens)
            # its own lane first, then any lane that already holds an account slot
            tries = [first, *(n for n in range(len(tokens)) if (owner_id, n) in lanes)]
            granted = (
                n for n in dict.fromkeys(tries) if slots.acquire(endpoint_id, owner_id, tokens[n])
            )
            lane = next(granted, None)
            if lane is None:
                busy += [d.pk for d in deliveries]
            else:
                lanes.setdefault((owner_id, lane), (tokens[lane], []))[1].extend(deliveries)
    return lanes, busy


def _send_all(lanes) -> tuple[int, list[Delivery]]:
    """Each account's deliveries in turn on one thread, accounts in parallel. Meanwhile this
    thread cuts any request past its deadline and records the outcomes so far every
    RECORD_EVERY seconds, so a worker killed mid-batch leaves few sent but unrecorded.
    Returns how many were sent, and the deliveries left unsent when the window closed."""
    window_end = time.monotonic() + settings.WEBHOOKS_SEND_WINDOW
    outcomes: SimpleQueue = SimpleQueue()
    futures = [
        _executor().submit(_send_lane, owner_id, token, deliveries, window_end, outcomes)
        for (owner_id, _), (token, deliveries) in lanes.items()
    ]
    sent, pending = 0, True
    while pending:
        pending = wait(futures, timeout=RECORD_EVERY).not_done
        deadline.sweep()
        ready = []
        while not outcomes.empty():
            ready.append(outcomes.get())
        _record(ready)
        sent += len(ready)
    unsent = [d for future in futures for d in future.result()]
    return sent, unsent


def _send_lane(owner_id, token, deliveries: list[Delivery], window_end: float, outcomes):
    """Send one lane's deliveries in turn; its slots are freed as soon as it is done, not
    when the slowest lane of the batch is (an account's next event goes out meanwhile)."""
    try:
        for index, delivery in enumerate(deliveries):
            if time.monotonic() > window_end:
                return deliveries[index:]
            outcomes.put((delivery, delivery.next_trigger, *send(delivery)))
        return []
    finally:
        slots.release_many({d.endpoint_id for d in deliveries}, owner_id, token)


def _record(sent) -> None:
    """Successes in one transaction (one select, one update, one insert); anything else, or
    a batch the database refuses, one delivery at a time as in the single path."""
    if not sent:
        return
    ok = []
    for delivery, trigger, headers, body, response in sent:
        if response.ok:
            ok.append((delivery, trigger, headers, body, response))
        else:
            record_safely(delivery, trigger, headers, body, response)
    if not ok:
        return
    try:
        _record_successes(ok)
    except Exception:  # noqa: BLE001 - e.g. a response the database refused: one at a time
        for item in ok:
            record_safely(*item)


@transaction.atomic
def _record_successes(ok) -> None:
    relaxed_commit()
    now = timezone.now()
    claimed_at = ok[0][0].in_flight_since
    live = set(
        Delivery.objects.select_for_update()
        .filter(pk__in=[item[0].pk for item in ok], in_flight_since=claimed_at)
        .values_list("pk", flat=True)
    )
    # Only while our claim stands: an attempt the beat scan recorded as lost stays so.
    ok = [item for item in ok if item[0].pk in live]
    Delivery.objects.filter(pk__in=live).update(
        status=Delivery.Status.SUCCEEDED,
        next_attempt_at=None,
        in_flight_since=None,
        enqueued_at=None,
        next_trigger=Delivery.Trigger.SCHEDULED,
        updated_at=now,
    )
    Attempt.objects.bulk_create([attempt_row(*item) for item in ok])
    failing = {item[0].endpoint_id for item in ok if item[0].endpoint.failing_since is not None}
    if failing:
        WebhookEndpoint.objects.filter(pk__in=failing).update(failing_since=None)
    for delivery, _, _, _, response in ok:
        log_attempt(delivery, response, Delivery.Status.SUCCEEDED)


def _hand_back(unsent: list[Delivery]) -> None:
    """Deliveries the batch had no time left to send: not attempted, so not counted."""
    if not unsent:
        return
    ids = [d.pk for d in unsent]
    Delivery.objects.filter(pk__in=ids, in_flight_since=unsent[0].in_flight_since).update(
        in_flight_since=None, attempt_count=F("attempt_count") - 1, updated_at=timezone.now()
    )
    enqueue(ids)
