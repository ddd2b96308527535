"""Claim: lock the due, free deliveries (``FOR UPDATE SKIP LOCKED``), fail those with no attempt
left or scheduled for a disabled endpoint, spread the rest over sending lanes that hold their
slots, and mark them in flight with their attempt counted, committed before anything is sent.
Another sender (a second worker, the same message twice) finds them locked or in flight; a
worker killed after the claim leaves attempts the beat scan records as lost."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ..models import Delivery
from . import slots
from .retry import MAX_ATTEMPTS

EARLY = timedelta(seconds=1)  # a delivery named in a message may be claimed this much early


@dataclass
class Lane:
    """Deliveries one thread sends in turn, holding one slot of its account (``token``) and
    one of each endpoint it sends to."""

    owner_id: int
    token: str
    deliveries: list[Delivery] = field(default_factory=list)

    def release(self) -> None:
        slots.release_many({d.endpoint_id for d in self.deliveries}, self.owner_id, self.token)


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


def deliveries_claim(delivery_ids: list[int], limit: int) -> tuple[list[Lane], list[int]]:
    """Claim ``delivery_ids`` (those due, or due within EARLY, and free) and other due
    deliveries up to ``limit``. Returns the lanes to send, and the ids of deliveries whose
    endpoint or account had no slot free (not claimed, not counted)."""
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
                Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + EARLY)
            )
        )
        room = _share_of_due(now, [d.pk for d in rows], limit - len(rows))
        if room > 0:
            rows += base.filter(next_attempt_at__lte=now).exclude(pk__in=[d.pk for d in rows])[
                :room
            ]
        # No attempt left, or scheduled for a disabled endpoint: failed without an attempt.
        done = [d for d in rows if spent(d) or _disabled(d)]
        if done:
            Delivery.objects.filter(pk__in=[d.pk for d in done]).update(
                status=Delivery.Status.FAILED, next_attempt_at=None, updated_at=now
            )
        lanes, busy = _take_slots([d for d in rows if d not in done])
        claimed = [d for lane in lanes for d in lane.deliveries]
        Delivery.objects.filter(pk__in=[d.pk for d in claimed]).update(
            in_flight_since=now, attempt_count=F("attempt_count") + 1, updated_at=now
        )
    for delivery in claimed:
        delivery.in_flight_since, delivery.attempt_count = now, delivery.attempt_count + 1
    return lanes, busy


def _share_of_due(now, taken: list[int], room: int) -> int:
    """How many other due deliveries the claim adds to those it was named: as many as it has
    room for, or, when the worker has several sending processes, this process's share of them
    (the rest are named by messages of their own, or enqueued by the beat scan), so the end of
    a burst is sent by every process rather than by the one whose claim came first."""
    if room <= 0 or _senders[0] == 1:
        return room
    due = (
        Delivery.objects.filter(
            status__in=Delivery.OPEN, in_flight_since__isnull=True, next_attempt_at__lte=now
        )
        .exclude(pk__in=taken)[: room * _senders[0]]
        .count()
    )
    return min(room, -(-due // _senders[0]))


def spent(delivery: Delivery) -> bool:
    """A delivery with no attempt left (the cap, or a test already sent once): never sent."""
    if delivery.next_trigger == Delivery.Trigger.TEST:
        return delivery.attempt_count >= 1
    if delivery.next_trigger == Delivery.Trigger.SCHEDULED:
        return delivery.attempt_count >= MAX_ATTEMPTS
    return False


def _disabled(delivery: Delivery) -> bool:
    return not delivery.endpoint.is_active and delivery.next_trigger == Delivery.Trigger.SCHEDULED


_senders = [1]  # sending processes of this worker (``senders_set``; 1 outside a worker)


def senders_set(count: int) -> None:
    """The worker's pool size, set before it forks (``webhooks.tasks``): its processes share
    each account's slots (``account_share``)."""
    try:
        _senders[0] = max(1, int(count or 1))
    except (TypeError, ValueError):
        _senders[0] = 1


def account_share() -> int:
    """Lanes one claim opens for one account: the account's limit divided among the worker's
    sending processes (at most its sending threads). One process taking all of an account's
    slots would leave its siblings nothing to send for that account but to put the account's
    next deliveries back for a second, and one process's threads share one core."""
    limit = settings.WEBHOOKS_ACCOUNT_CONCURRENCY
    if limit <= 0:
        limit = settings.WEBHOOKS_SEND_THREADS
    share = -(-limit // _senders[0])
    return max(1, min(share, settings.WEBHOOKS_SEND_THREADS))


def _lane_plan(endpoints: dict[int, list[Delivery]], width: int) -> tuple[list[int], list[int]]:
    """The account's endpoints in the order lanes take them, and each one's lane: endpoints of
    one receiving host side by side (a lane then keeps few kept-alive connections), cut into
    ``width`` runs of about as many deliveries each."""
    order = sorted(endpoints, key=lambda pk: (_host(endpoints[pk][0]), pk))
    lanes_count = max(1, min(width, len(order)))
    total = sum(len(ds) for ds in endpoints.values())
    lanes, before = [], 0
    for pk in order:
        lanes.append(min(lanes_count - 1, before * lanes_count // total))
        before += len(endpoints[pk])
    return order, lanes


def _host(delivery: Delivery) -> str:
    try:
        return urlsplit(delivery.endpoint.url).netloc.lower()
    except ValueError:
        return ""


def _take_slots(rows: list[Delivery]) -> tuple[list[Lane], list[int]]:
    """Spread each account's endpoints over up to its share of lanes (``account_share``), one
    Redis round trip per account: an endpoint goes to its own lane first, then to any lane of
    the account that already holds a slot."""
    by_owner: dict[int, dict[int, list[Delivery]]] = defaultdict(lambda: defaultdict(list))
    for delivery in sorted(rows, key=lambda d: (d.endpoint_id, d.pk)):
        by_owner[delivery.endpoint.owner_id][delivery.endpoint_id].append(delivery)
    width = account_share()
    lanes: list[Lane] = []
    busy: list[int] = []
    for owner_id, endpoints in by_owner.items():
        order, plan = _lane_plan(endpoints, width)
        tokens, granted = slots.acquire_lanes(owner_id, order, plan)
        held: dict[int, Lane] = {}
        for endpoint_id, n in zip(order, granted, strict=True):
            if n is None:
                busy += [d.pk for d in endpoints[endpoint_id]]
                continue
            if n not in held:
                held[n] = Lane(owner_id, tokens[n])
                lanes.append(held[n])
            held[n].deliveries.extend(endpoints[endpoint_id])
    return lanes, busy
