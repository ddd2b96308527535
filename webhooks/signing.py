"""Request signatures: GitHub's ``X-Playground-Signature: sha256=<hex>`` and the Standard
Webhooks trio, both keyed with the endpoint secret's UTF-8 bytes.

While a secret rotation's overlap lasts a request is signed with every secret in use, newest
first, each header listing one signature per secret separated by a space:
``webhook-signature: v1,<new> v1,<old>`` (as Standard Webhooks defines) and
``X-Playground-Signature: sha256=<new> sha256=<old>``. A receiver holding either secret accepts
the request when its own signature is one of those listed."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence


def github_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    *, event: str, delivery_id: str, secret: str | Sequence[str], body: bytes, timestamp: int
) -> dict[str, str]:
    """The headers of one attempt. ``secret``: the endpoint's secret, or the secrets it signs
    with (``WebhookEndpoint.signing_secrets()``: current first); none, no signature."""
    secrets = [secret] if isinstance(secret, str) else list(secret)
    secrets = [s for s in secrets if s]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Fibe-Webhooks/1",
        "X-Playground-Event": event,
        "X-Playground-Delivery": delivery_id,
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
    }
    if secrets:
        headers["X-Playground-Signature"] = " ".join(github_signature(s, body) for s in secrets)
        headers["webhook-signature"] = " ".join(
            standard_signature(s, delivery_id, timestamp, body) for s in secrets
        )
    return headers
