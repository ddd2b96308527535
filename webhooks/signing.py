"""Request signatures: GitHub's ``X-Playground-Signature: sha256=<hex>`` and the Standard
Webhooks trio, both keyed with the endpoint secret's UTF-8 bytes."""

from __future__ import annotations

import base64
import hashlib
import hmac


def github_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    *, event: str, delivery_id: str, secret: str, body: bytes, timestamp: int
) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Fibe-Webhooks/1",
        "X-Playground-Event": event,
        "X-Playground-Delivery": delivery_id,
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
    }
    if secret:
        headers["X-Playground-Signature"] = github_signature(secret, body)
        headers["webhook-signature"] = standard_signature(secret, delivery_id, timestamp, body)
    return headers
