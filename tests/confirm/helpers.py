"""Shared by the confirm-destructive-actions tests (issue 22)."""

from __future__ import annotations

from keys.models import Confirmation


def url_path(url: str) -> str:
    """The path of an absolute confirmation URL."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def confirmation_of(body: dict) -> Confirmation:
    return Confirmation.objects.get(pk=body["confirmation_id"])


def decide(client, body: dict, decision: str):
    """The owner's Approve / Deny on the page the answer links to (a stepped-up client)."""
    return client.post(url_path(body["confirmation_url"]), {"decision": decision})
