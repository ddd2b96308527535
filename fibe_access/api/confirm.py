"""Confirm destructive actions (issue 22), the API side: ``run_confirmed`` is what
``operations.run`` calls, instead of the handler, for a destructive operation (the registry's
``destructive``, the same flag MCP shows as ``destructiveHint``) when the calling credential
has ``confirm_destructive`` on. It runs the handler only by claiming the owner's approval of
exactly this call in the handler's transaction; otherwise it records a pending confirmation
and refuses with ``ConfirmationRequired`` (REST: 403 ``confirmation_required`` with the URL;
MCP: the URL-elicitation-required error, see ``fibe_access.mcp.server``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from keys import confirmations

from .caller import Caller
from .errors import ApiError


class ConfirmationRequired(ApiError):  # noqa: N818 - named for the answer's code
    status = 403
    code = "confirmation_required"

    def __init__(self, message: str, *, url: str, confirmation_id: int, expires_at: str):
        super().__init__(message)
        self.extra = {
            "confirmation_url": url,
            "confirmation_id": confirmation_id,
            "expires_at": expires_at,
        }


def canonical(params: dict[str, Any]) -> dict[str, Any]:
    """An operation's parsed arguments as plain JSON values (path IDs, query, body)."""
    return {
        name: value.model_dump(mode="json") if hasattr(value, "model_dump") else value
        for name, value in params.items()
    }


def run_confirmed(
    op: Any, caller: Caller, params: dict[str, Any], proceed: Callable[[], Any]
) -> Any:
    digest = confirmations.arguments_digest(op.name, canonical(params))
    with transaction.atomic():
        if confirmations.confirmation_claim(
            actor=caller.actor, key=caller.key, operation=op.name, digest=digest
        ):
            return proceed()  # a failure rolls the claim back with the handler's writes
    record_id = params.get(op.path_params[0]) if op.path_params else None
    name = confirmations.record_name(owner=caller.owner, family=op.family, record_id=record_id)
    summary = (
        op.summary
        + (f" “{name}”" if name else "")
        + (f" (ID {record_id})" if record_id is not None else "")
    )
    pending = confirmations.confirmation_request(
        actor=caller.actor,
        key=caller.key,
        operation=op.name,
        digest=digest,
        summary=summary,
        record_id=record_id,
        record_name=name,
    )
    base = (getattr(settings, "PUBLIC_URL", "") or "").rstrip("/") or caller.origin
    url = base + reverse("keys:confirmation", args=[pending.pk])
    raise ConfirmationRequired(
        f"This key must have a person confirm destructive actions. {summary}: nothing happens "
        f"until the key's owner approves it at {url} (within 10 minutes); then repeat the "
        "same call once, with the same arguments.",
        url=url,
        confirmation_id=pending.pk,
        expires_at=pending.expires_at.isoformat(),
    )
