"""Record: exactly one attempt row per attempt sent, and what it means for the delivery. 2xx
succeeds (successes of a batch in one transaction: one select, one update, one insert); 410
disables the endpoint; a manual or test send is not retried; anything else is retried on the
schedule kept in the database, or fails for good once the attempts run out (starting the
endpoint's failure clock). An outcome only counts while its claim stands: once the beat scan
recorded the attempt as lost, a late outcome changes nothing."""

from __future__ import annotations

import logging
from dataclasses import replace

from django.db import transaction
from django.utils import timezone

from fibe_access.accounts.actor import Actor
from fibe_access.copyrows import copy_insert

from ..models import Attempt, Delivery, WebhookEndpoint
from ..services import endpoint_disable_system
from . import transport
from .claim import relaxed_commit
from .retry import parse_retry_after, retry_delay
from .send import Outcome

logger = logging.getLogger(__name__)


def outcomes_record(outcomes: list[Outcome]) -> None:
    """Successes together; anything else, or successes the database refuses together, one
    delivery at a time."""
    ok = [o for o in outcomes if o.response.ok]
    for outcome in outcomes:
        if not outcome.response.ok:
            record_safely(outcome)
    if not ok:
        return
    try:
        _successes_record(ok)
    except Exception:  # noqa: BLE001 - e.g. a response the database refused: one at a time
        for outcome in ok:
            record_safely(outcome)


@transaction.atomic
def _successes_record(ok: list[Outcome]) -> None:
    relaxed_commit()
    now = timezone.now()
    live = set(
        Delivery.objects.select_for_update()
        .filter(pk__in=[o.delivery.pk for o in ok], in_flight_since=ok[0].delivery.in_flight_since)
        .values_list("pk", flat=True)
    )
    ok = [o for o in ok if o.delivery.pk in live]
    Delivery.objects.filter(pk__in=live).update(
        status=Delivery.Status.SUCCEEDED,
        next_attempt_at=None,
        in_flight_since=None,
        enqueued_at=None,
        next_trigger=Delivery.Trigger.SCHEDULED,
        updated_at=now,
    )
    copy_insert(Attempt, [attempt_row(o) for o in ok])
    failing = {o.delivery.endpoint_id for o in ok if o.delivery.endpoint.failing_since}
    if failing:
        WebhookEndpoint.objects.filter(pk__in=failing).update(failing_since=None)
    for outcome in ok:
        log_attempt(outcome, Delivery.Status.SUCCEEDED)


def record_safely(outcome: Outcome) -> Attempt | None:
    """Record one outcome; if the database refuses what the receiver sent, record it without
    the response. None when the claim no longer stands."""
    try:
        return _record(outcome)
    except Exception as exc:  # noqa: BLE001 - e.g. the database refused what the receiver sent
        logger.warning(
            "webhook delivery %s: outcome not storable (%s); stored without the response",
            outcome.delivery.uid,
            type(exc).__name__,
        )
        response = outcome.response
        note = f"The response could not be stored ({type(exc).__name__})."
        bare = transport.Response(
            status=response.status,
            duration_ms=response.duration_ms,
            failure_reason=transport.storable(f"{response.failure_reason} {note}".strip(), 500),
            complete=response.complete,
        )
        # If even this fails the attempt stays in flight and the beat scan records it as lost.
        return _record(replace(outcome, response=bare))


@transaction.atomic
def _record(outcome: Outcome) -> Attempt | None:
    delivery, response, now = outcome.delivery, outcome.response, timezone.now()
    endpoint, next_at = delivery.endpoint, None
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
    elif outcome.trigger != Delivery.Trigger.SCHEDULED or delivery.is_test:
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
    attempt = attempt_row(outcome)
    attempt.save(force_insert=True)
    log_attempt(outcome, status)
    return attempt


def attempt_row(outcome: Outcome) -> Attempt:
    delivery, response = outcome.delivery, outcome.response
    return Attempt(
        delivery=delivery,
        number=delivery.attempt_count,
        trigger=outcome.trigger,
        request_url=delivery.endpoint.url,
        request_headers=outcome.headers,
        request_body=outcome.body,
        response_status=response.status,
        response_headers=transport.storable_headers(response.headers),
        response_body=transport.storable(response.body, Attempt.RESPONSE_BODY_LIMIT),
        duration_ms=response.duration_ms,
        failure_reason=transport.storable(response.failure_reason, 500),
    )


def log_attempt(outcome: Outcome, status: str) -> None:
    # Status only: failure reasons can quote the target URL, which may carry a token.
    logger.info(
        "webhook delivery %s attempt %s: HTTP %s -> %s",
        outcome.delivery.uid,
        outcome.delivery.attempt_count,
        outcome.response.status,
        status,
    )
