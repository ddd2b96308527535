"""Every write on webhook endpoints and deliveries outside the delivery engine's own bookkeeping
(``engine/``). Each takes the acting ``Actor`` (the system's, when an endpoint is disabled
for failing), runs in one transaction with its security-log row, and enqueues on commit."""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from fibe_access.accounts import ratelimit
from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from fibe_access.accounts.notices import notice_send
from fibe_access.accounts.services import security_log
from fibe_access.accounts.verification import require_verified

from . import sealed_secrets
from .engine.queue import enqueue_on_commit
from .engine.targets import validate_target_url
from .events import BY_NAME, EVENT_NAMES, TEST_EVENT
from .listen import capture, listening
from .models import Delivery, Event, WebhookEndpoint
from .publish import serialise
from .subjects import visible

Kind = SecurityEvent.Kind
SECRET_MAX = 255
# How long the previous secret keeps signing after a rotation (the rotate page's choices).
SECRET_OVERLAPS = {
    "now": None,
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
DEFAULT_SECRET_OVERLAP = "24h"  # noqa: S105 - a duration, not a secret
_UNSET = object()


class SendsLimited(Exception):  # noqa: N818 - read as "sends (are) limited"
    """Too many test sends, redeliveries and recoveries asked for one endpoint this minute."""

    def __init__(self, limit: int, retry_after: int):
        self.retry_after = retry_after
        super().__init__(
            f"Too many test sends and redeliveries for this endpoint: at most {limit} a "
            f"minute. Try again in {retry_after} s."
        )


def _limit_sends(endpoint: WebhookEndpoint) -> None:
    """Count one send asked for ``endpoint``; SendsLimited past WEBHOOKS_SENDS_PER_MINUTE (a
    few stalling endpoints could otherwise keep the workers busy for everyone)."""
    limit = settings.WEBHOOKS_SENDS_PER_MINUTE
    if limit > 0 and not ratelimit.hit(f"webhook-sends:{endpoint.pk}", limit=limit, window=60):
        raise SendsLimited(limit, retry_after=max(1, 60 - int(time.time()) % 60))


def _check_owner(actor: Actor, endpoint: WebhookEndpoint) -> None:
    if actor.source in (Source.ADMIN, Source.SYSTEM, Source.CLI):
        return
    if actor.user is None or endpoint.owner_id != actor.user.pk:
        raise PermissionDenied("Not your webhook endpoint.")


def _clean_events(events) -> list[str]:
    if not isinstance(events, list | tuple) or not events:
        raise ValidationError({"events": "Choose at least one event."})
    unknown = [e for e in events if e not in BY_NAME]
    if unknown:
        raise ValidationError({"events": f"Unknown event(s): {', '.join(map(str, unknown))}."})
    return [name for name in EVENT_NAMES if name in events]  # catalogue order, no duplicates


def _clean_secret(secret: str) -> str:
    secret = (secret or "").strip()
    if len(secret) > SECRET_MAX:
        raise ValidationError({"secret": f"At most {SECRET_MAX} characters."})
    return secret


def _save(endpoint: WebhookEndpoint) -> None:
    endpoint.full_clean(exclude=["owner"])
    validate_target_url(endpoint.url)
    endpoint.save()


@transaction.atomic
def endpoint_create(
    *, actor: Actor, url: str, events: list[str], secret: str = "", description: str = ""
) -> WebhookEndpoint:
    actor.require_step_up()
    if actor.user is None:
        raise PermissionDenied("An endpoint needs an owner.")
    require_verified(actor=actor, owner=actor.user)
    endpoint = WebhookEndpoint(
        owner=actor.user,
        url=(url or "").strip(),
        events=_clean_events(events),
        secret=_clean_secret(secret),
        description=(description or "").strip(),
    )
    _save(endpoint)
    security_log(actor=actor, user=endpoint.owner, kind=Kind.WEBHOOK_CREATED, url=endpoint.url)
    return endpoint


@transaction.atomic
def endpoint_update(
    *,
    actor: Actor,
    endpoint: WebhookEndpoint,
    url=_UNSET,
    events=_UNSET,
    secret=_UNSET,
    description=_UNSET,
) -> WebhookEndpoint:
    """Change any of url, events, secret ("" removes it) and description."""
    actor.require_step_up()
    _check_owner(actor, endpoint)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    old_url, old_secret = endpoint.url, endpoint.secret
    if url is not _UNSET:
        endpoint.url = (url or "").strip()
    if events is not _UNSET:
        endpoint.events = _clean_events(events)
    if secret is not _UNSET:
        endpoint.secret = _clean_secret(secret)
        endpoint.previous_secret_encrypted, endpoint.previous_secret_expires_at = "", None
    if description is not _UNSET:
        endpoint.description = (description or "").strip()
    _save(endpoint)
    detail = {"url": endpoint.url}
    if old_url != endpoint.url:
        detail["previous_url"] = old_url
    security_log(actor=actor, user=endpoint.owner, kind=Kind.WEBHOOK_UPDATED, **detail)
    if old_secret != endpoint.secret:
        security_log(
            actor=actor, user=endpoint.owner, kind=Kind.WEBHOOK_SECRET_CHANGED, url=endpoint.url
        )
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(
    *,
    actor: Actor,
    endpoint: WebhookEndpoint,
    overlap: str = DEFAULT_SECRET_OVERLAP,
    new_secret: str = "",
) -> tuple[WebhookEndpoint, str]:
    """Replace the signing secret with ``new_secret`` (generated when empty), the old one
    still signing every delivery for ``overlap``; returns the endpoint and its new secret."""
    actor.require_step_up()
    _check_owner(actor, endpoint)
    if overlap not in SECRET_OVERLAPS:
        raise ValidationError({"overlap": f"Choose one of: {', '.join(SECRET_OVERLAPS)}."})
    new_secret = _clean_secret(new_secret) or "whsec_" + secrets.token_urlsafe(32)
    if "\x00" in new_secret or any(ord(c) < 32 or ord(c) == 127 for c in new_secret):
        raise ValidationError({"secret": "Control characters are not allowed."})
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if new_secret == endpoint.secret:
        raise ValidationError({"secret": "The new secret must differ from the current one."})
    window = SECRET_OVERLAPS[overlap]
    old = endpoint.secret
    if window and old:
        endpoint.previous_secret_encrypted = sealed_secrets.seal(old, sealed_secrets.PREVIOUS)
        endpoint.previous_secret_expires_at = timezone.now() + window
    else:
        endpoint.previous_secret_encrypted, endpoint.previous_secret_expires_at = "", None
    endpoint.secret = new_secret
    endpoint.save(
        update_fields=[
            "secret_encrypted",
            "previous_secret_encrypted",
            "previous_secret_expires_at",
            "updated_at",
        ]
    )
    detail = {"url": endpoint.url, "rotation": True, "overlap": overlap if old else "now"}
    if endpoint.previous_secret_expires_at:
        detail["old_secret_stops_at"] = endpoint.previous_secret_expires_at.isoformat()
    security_log(actor=actor, user=endpoint.owner, kind=Kind.WEBHOOK_SECRET_CHANGED, **detail)
    return endpoint, new_secret


@transaction.atomic
def endpoint_end_secret_overlap(*, actor: Actor, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Stop signing with the previous secret now ("End now")."""
    actor.require_step_up()
    _check_owner(actor, endpoint)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if endpoint.previous_secret_encrypted:
        endpoint.previous_secret_encrypted, endpoint.previous_secret_expires_at = "", None
        endpoint.save(
            update_fields=["previous_secret_encrypted", "previous_secret_expires_at", "updated_at"]
        )
        security_log(
            actor=actor,
            user=endpoint.owner,
            kind=Kind.WEBHOOK_SECRET_CHANGED,
            url=endpoint.url,
            old_secret_stopped=True,
        )
    return endpoint


@transaction.atomic
def endpoint_delete(*, actor: Actor, endpoint: WebhookEndpoint) -> None:
    actor.require_step_up()
    _check_owner(actor, endpoint)
    security_log(actor=actor, user=endpoint.owner, kind=Kind.WEBHOOK_DELETED, url=endpoint.url)
    endpoint.delete()


@transaction.atomic
def endpoint_enable(*, actor: Actor, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Re-enable an endpoint (after a fix); the failure clock starts again."""
    actor.require_step_up()
    _check_owner(actor, endpoint)
    validate_target_url(endpoint.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=True, disabled_reason="", failing_since=None, updated_at=timezone.now()
    )
    endpoint.refresh_from_db()
    security_log(actor=actor, user=endpoint.owner, kind=Kind.WEBHOOK_ENABLED, url=endpoint.url)
    return endpoint


@transaction.atomic
def endpoint_disable(*, actor: Actor, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    actor.require_step_up()
    _check_owner(actor, endpoint)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_reason="Disabled by its owner.", updated_at=timezone.now()
    )
    endpoint.refresh_from_db()
    security_log(actor=actor, user=endpoint.owner, kind=Kind.WEBHOOK_DISABLED, url=endpoint.url)
    return endpoint


@transaction.atomic
def endpoint_disable_system(*, actor: Actor, endpoint: WebhookEndpoint, reason: str) -> None:
    """Disable an endpoint on the system's initiative (410 Gone, or failing for too long);
    its owner is told by e-mail once this commits. Does nothing if it is already disabled."""
    updated = WebhookEndpoint.objects.filter(pk=endpoint.pk, is_active=True).update(
        is_active=False, disabled_reason=reason[:255], updated_at=timezone.now()
    )
    if not updated:
        return
    owner = endpoint.owner
    security_log(
        actor=actor, user=owner, kind=Kind.WEBHOOK_DISABLED, url=endpoint.url, reason=reason
    )

    def notify_owner():
        notice_send(
            user=owner,
            about=f"webhook_disabled:{endpoint.pk}",
            subject="Your Fibe webhook endpoint was disabled",
            body=(
                f"We disabled your webhook endpoint {endpoint.url}.\n\nReason: {reason}\n\n"
                "Fix the receiver, then re-enable the endpoint under Profile → Webhooks; "
                "you can recover failed deliveries from its log."
            ),
        )

    transaction.on_commit(notify_owner, robust=True)


def _resend(deliveries_qs, now) -> list[int]:
    ids = list(deliveries_qs.values_list("pk", flat=True))
    if ids:
        Delivery.objects.filter(pk__in=ids).update(
            status=Delivery.Status.PENDING,
            next_trigger=Delivery.Trigger.MANUAL,
            next_attempt_at=now,
            enqueued_at=now,
            in_flight_since=None,
            updated_at=now,
        )
        enqueue_on_commit(ids)
    return ids


@transaction.atomic
def delivery_redeliver(*, actor: Actor, delivery: Delivery) -> Delivery:
    """Send one delivery again now, as a manual attempt (not retried if it fails)."""
    actor.require_step_up()
    delivery = Delivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
    _check_owner(actor, delivery.endpoint)
    if delivery.in_flight_since is not None:
        raise ValidationError({"status": "This delivery is being sent right now."})
    _limit_sends(delivery.endpoint)
    _resend(Delivery.objects.filter(pk=delivery.pk), timezone.now())
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def deliveries_recover_failed(
    *,
    actor: Actor,
    endpoint: WebhookEndpoint,
    since: datetime,
    restrictions: dict[str, list[int]] | None = None,
) -> int:
    """Redeliver every failed (non-test) delivery of ``endpoint`` created since ``since``;
    with an API key's ``restrictions``, only those about records it lists. Counts as one send
    against the endpoint's per-minute limit."""
    actor.require_step_up()
    _check_owner(actor, endpoint)
    _limit_sends(endpoint)
    qs = Delivery.objects.select_for_update(skip_locked=True, of=("self",)).filter(
        visible(restrictions),
        endpoint=endpoint,
        status=Delivery.Status.FAILED,
        is_test=False,
        created_at__gte=since,
    )
    return len(_resend(qs, timezone.now()))


@transaction.atomic
def endpoint_test(*, actor: Actor, endpoint: WebhookEndpoint) -> Delivery:
    """Send a sample playground.created through the normal path, marked as a test."""
    actor.require_step_up()
    _check_owner(actor, endpoint)
    _limit_sends(endpoint)
    now = timezone.now()
    event = Event.objects.create(
        type=TEST_EVENT,
        owner=endpoint.owner,
        created_at=now,
        body=serialise(event=TEST_EVENT, data=BY_NAME[TEST_EVENT].sample, at=now),
    )
    delivery = Delivery.objects.create(
        event=event,
        endpoint=endpoint,
        is_test=True,
        next_trigger=Delivery.Trigger.TEST,
        next_attempt_at=now,
        enqueued_at=now,
    )
    enqueue_on_commit([delivery.pk])
    return delivery


@transaction.atomic
def event_trigger(*, actor: Actor, owner, event: str, data: dict, endpoint_ids=None) -> dict:
    """Send a sample ``event`` (marked as a test) to the owner's active endpoints subscribed to
    it (only ``endpoint_ids`` when given) and to its live listen sessions; an endpoint past
    its Test-webhook send limit is skipped and named in the answer."""
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(owner=owner, is_active=True).order_by("pk")
        if e.subscribes_to(event) and (endpoint_ids is None or e.pk in endpoint_ids)
    ]
    sent, limited = [], []
    for endpoint in endpoints:
        try:
            _limit_sends(endpoint)
        except SendsLimited:
            limited.append(endpoint.pk)
        else:
            sent.append(endpoint)
    sessions = listening(owner, event)
    now = timezone.now()
    record = Event.objects.create(
        type=event, owner=owner, created_at=now, body=serialise(event=event, data=data, at=now)
    )
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                event=record,
                endpoint=endpoint,
                is_test=True,
                next_trigger=Delivery.Trigger.TEST,
                next_attempt_at=now,
                enqueued_at=now,
            )
            for endpoint in sent
        ]
    )
    capture(record, sessions, is_test=True)
    enqueue_on_commit([d.pk for d in deliveries])
    return {
        "event": event,
        "endpoints": [e.pk for e in sent],
        "limited": limited,
        "sessions": len(sessions),
    }
