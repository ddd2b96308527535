"""The delivery log of listen sessions (``ListenDelivery``): what each session was handed and
what its client reported of forwarding it, shown on Profile → Webhooks → CLI deliveries.

A row is made when a poll first hands an event out (``handed_out``, in the poll's
transaction), so a client can only report on messages the server really sent it; the client
then reports each forward's outcome (``outcomes_record``: local status, duration, tries, error).
Rows outlive their session and are purged after WEBHOOKS_LOG_RETENTION like every delivery
log (``deliveries_purge_old``, run by the beat with ``sessions_expire``). The delivery engine
never reads this table: nothing here is ever sent by a worker."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import Delivery, ListenDelivery

FAILURE_REASON_MAX = 500


@dataclass(frozen=True)
class Outcome:
    """What a client reports of forwarding one message: ``status`` None when no answer came."""

    id: UUID
    status: int | None
    duration_ms: int | None
    tries: int
    error: str = ""


class UnknownMessages(LookupError):
    """Reported ids this session never handed out (or whose log was purged)."""

    def __init__(self, ids: list[UUID]):
        super().__init__(", ".join(str(i) for i in ids))
        self.ids = ids


def handed_out(session, rows) -> None:
    """Log ``rows`` (``ListenEvent``s with their event) as handed to ``session`` now."""
    now = timezone.now()
    ListenDelivery.objects.bulk_create(
        [
            ListenDelivery(
                owner_id=session.owner_id,
                session_ref=session.pk,
                host=session.host,
                uid=row.uid,
                event_id=row.event_id,
                event_type=row.event.type,
                is_test=row.is_test,
                created_at=now,
            )
            for row in rows
        ]
    )


@transaction.atomic
def outcomes_record(*, session, outcomes: list[Outcome]) -> int:
    """Record what the client of ``session`` reports; all or nothing: an id the session was
    never handed raises ``UnknownMessages`` and records none. A report sent again overwrites
    the first (the client retries a report whose answer it lost)."""
    by_id = {o.id: o for o in outcomes}
    rows = list(
        ListenDelivery.objects.select_for_update()
        .filter(owner_id=session.owner_id, session_ref=session.pk, uid__in=list(by_id))
        .order_by("id")
    )
    unknown = sorted(set(by_id) - {r.uid for r in rows}, key=str)
    if unknown:
        raise UnknownMessages(unknown)
    now = timezone.now()
    for row in rows:
        outcome = by_id[row.uid]
        ok = outcome.status is not None and 200 <= outcome.status < 300
        row.status = Delivery.Status.SUCCEEDED if ok else Delivery.Status.FAILED
        row.response_status = outcome.status
        row.duration_ms = outcome.duration_ms
        row.attempt_count = outcome.tries
        row.failure_reason = outcome.error[:FAILURE_REASON_MAX] or (
            "" if ok else f"The local receiver answered {outcome.status}."
        )
        row.reported_at = now
    ListenDelivery.objects.bulk_update(
        rows,
        [
            "status",
            "response_status",
            "duration_ms",
            "attempt_count",
            "failure_reason",
            "reported_at",
        ],
    )
    return len(rows)


def deliveries(
    *,
    owner,
    session_ref: int | None = None,
    event: str | None = None,
    status: str | None = None,
    is_test: bool | None = None,
) -> QuerySet[ListenDelivery]:
    """The owner's listen delivery log, newest first (one query a page)."""
    qs = ListenDelivery.objects.filter(owner=owner)
    if session_ref is not None:
        qs = qs.filter(session_ref=session_ref)
    if event:
        qs = qs.filter(event_type=event)
    if status:
        qs = qs.filter(status=status)
    if is_test is not None:
        qs = qs.filter(is_test=is_test)
    return qs


def any_for(owner) -> bool:
    return ListenDelivery.objects.filter(owner=owner).exists()


def deliveries_purge_old() -> int:
    """Delete log rows older than WEBHOOKS_LOG_RETENTION (the retention of every delivery)."""
    cutoff = timezone.now() - settings.WEBHOOKS_LOG_RETENTION
    count, _ = ListenDelivery.objects.filter(created_at__lt=cutoff).delete()
    return count
