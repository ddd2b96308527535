"""The one function resources call to announce what happened. Resources know nothing else of
webhooks."""

from __future__ import annotations


def publish_event(*, owner, event: str, data: dict) -> None:
    """Record ``event`` (e.g. "playground.created") for ``owner`` inside the caller's
    transaction; deliveries go out on commit. ``data`` must hold at least id, name, status.

    Placeholder until the webhook engine lands: records nothing.
    """
    return None
