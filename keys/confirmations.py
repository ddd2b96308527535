"""Confirm destructive actions (issue 22): a credential with ``confirm_destructive`` on may run
a destructive operation only with its owner's fresh approval.

``confirmation_claim`` uses an approval inside the call's own transaction: one conditional
UPDATE … WHERE status='approved', so of any number of concurrent retries exactly one passes,
and a call that fails afterwards gives the approval back (its transaction rolls back).
``confirmation_request`` records what is waiting (one pending row per credential, operation
and arguments) and tells the owner. ``confirmation_decide`` is the person's Approve / Deny,
behind the step-up. Every one leaves a security-log row."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from fibe_access.accounts.actor import Actor
from fibe_access.accounts.models import SecurityEvent
from fibe_access.accounts.notices import notice_send
from fibe_access.accounts.services import security_log
from fibe_access.resources.registry import restrictable

from .models import ApiKey, Confirmation

Kind = SecurityEvent.Kind
EXPIRES_AFTER = timedelta(minutes=10)


def arguments_digest(operation: str, arguments: dict[str, Any]) -> str:
    """SHA-256 of the operation and its arguments in one canonical JSON form (sorted keys, no
    spaces): the same call always has the same digest, any other argument another one."""
    canonical = json.dumps(
        {"operation": operation, "arguments": arguments},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_name(*, owner, family: str | None, record_id: int | None) -> str:
    """The name of the record an operation is about, as its owner knows it ("" if unknown)."""
    target = restrictable(family) if family else None
    if target is None or record_id is None:
        return ""
    found = (
        target.model.objects.filter(owner=owner, pk=record_id)
        .values_list(target.label_field, flat=True)
        .first()
    )
    return str(found or "")[:200]


def confirmation_claim(*, actor: Actor, key: ApiKey, operation: str, digest: str) -> bool:
    """Use an approval of exactly this call, if there is one; call inside the transaction of
    the call itself. Returns whether the call may go ahead."""
    now = timezone.now()
    matching = Confirmation.objects.filter(
        key=key,
        operation=operation,
        digest=digest,
        status=Confirmation.Status.APPROVED,
        expires_at__gt=now,
    )
    pk = matching.order_by("created_at", "pk").values_list("pk", flat=True).first()
    if pk is None:
        return False
    # The claim: of concurrent retries the first UPDATE wins; the others wait for its row lock,
    # re-read status='used' and update nothing.
    claimed = matching.filter(pk=pk).update(status=Confirmation.Status.USED, used_at=now)
    if not claimed:
        return False
    security_log(
        actor=actor,
        user=key.owner,
        kind=Kind.CONFIRMATION_USED,
        confirmation_id=pk,
        operation=operation,
        key_id=key.pk,
    )
    return True


@transaction.atomic
def confirmation_request(
    *,
    actor: Actor,
    key: ApiKey,
    operation: str,
    digest: str,
    summary: str,
    record_id: int | None,
    record_name: str,
) -> Confirmation:
    """The pending confirmation of this call: the one already waiting, or a new one (logged,
    and the owner is told through the notice limits)."""
    now = timezone.now()
    waiting = Confirmation.objects.filter(
        key=key,
        operation=operation,
        digest=digest,
        status=Confirmation.Status.PENDING,
        expires_at__gt=now,
    ).first()
    if waiting is not None:
        return waiting
    confirmation = Confirmation.objects.create(
        key=key,
        operation=operation,
        digest=digest,
        summary=summary[:300],
        record_id=record_id,
        record_name=record_name[:200],
        expires_at=now + EXPIRES_AFTER,
        ip=actor.ip,
        user_agent=(actor.user_agent or "")[:300],
        source=actor.source[:10],
    )
    security_log(
        actor=actor,
        user=key.owner,
        kind=Kind.CONFIRMATION_REQUESTED,
        confirmation_id=confirmation.pk,
        operation=operation,
        key_id=key.pk,
        record_id=record_id,
    )
    owner, label = key.owner, key.label
    transaction.on_commit(lambda: _tell_owner(owner, label, confirmation))
    return confirmation


def _tell_owner(owner, label: str, confirmation: Confirmation) -> None:
    notice_send(
        user=owner,
        subject="Fibe: a destructive call waits for your approval",
        body=(
            f"The API key or app “{label}” asked to: {confirmation.summary}.\n\n"
            "Nothing happens unless you approve it. Open Profile → API Keys on Fibe to approve "
            "or deny it; the request lapses 10 minutes after it was made."
        ),
        about=f"confirmation:{confirmation.key_id}",
    )


@transaction.atomic
def confirmation_decide(*, actor: Actor, confirmation: Confirmation, approve: bool) -> Confirmation:
    """The owner's Approve or Deny of a pending confirmation (after a step-up)."""
    actor.require_step_up()
    confirmation = (
        Confirmation.objects.select_for_update().select_related("key").get(pk=confirmation.pk)
    )
    owner = confirmation.key.owner
    if actor.user is None or actor.user.pk != owner.pk:
        raise PermissionDenied("Only the key's owner can decide.")
    if confirmation.status != Confirmation.Status.PENDING:
        raise ValidationError(
            f"This request was already {confirmation.get_status_display().lower()}."
        )
    if not confirmation.is_open():
        raise ValidationError("This request has lapsed. The agent must ask again.")
    confirmation.status = Confirmation.Status.APPROVED if approve else Confirmation.Status.DENIED
    confirmation.decided_at = timezone.now()
    confirmation.save(update_fields=["status", "decided_at"])
    security_log(
        actor=actor,
        user=owner,
        kind=Kind.CONFIRMATION_APPROVED if approve else Kind.CONFIRMATION_DENIED,
        confirmation_id=confirmation.pk,
        operation=confirmation.operation,
        key_id=confirmation.key_id,
        record_id=confirmation.record_id,
    )
    return confirmation


def credential_get(*, owner, pk: int) -> ApiKey | None:
    """The owner's key ``pk``, an OAuth grant's included (its switch is on its app's card)."""
    return ApiKey.objects.filter(owner=owner, pk=pk).first()


def confirmation_get(*, owner, pk: int) -> Confirmation | None:
    return Confirmation.objects.select_related("key").filter(key__owner=owner, pk=pk).first()


def pending_by_key(*, owner) -> dict[int, list[Confirmation]]:
    """The confirmations still waiting, by key id (one query)."""
    rows = Confirmation.objects.filter(
        key__owner=owner, status=Confirmation.Status.PENDING, expires_at__gt=timezone.now()
    ).order_by("-created_at")
    out: dict[int, list[Confirmation]] = {}
    for row in rows:
        out.setdefault(row.key_id, []).append(row)
    return out
