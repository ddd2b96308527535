"""Webhook signing secrets at rest: sealed with the project keyring (``fibe_access.keyring``),
each field under its own context so a ciphertext cannot be moved from one to the other.
``WebhookEndpoint.secret`` and ``signing_secrets`` are the only readers."""

from __future__ import annotations

from fibe_access import keyring

CURRENT = "webhooks.WebhookEndpoint.secret"
PREVIOUS = "webhooks.WebhookEndpoint.previous_secret"
# Both fields are rows of fibe_access.sealed.SEALED (with these contexts): `manage.py
# reencrypt` moves them to the current key.


def seal(secret: str, context: str) -> str:
    return keyring.encrypt(secret, context=context) if secret else ""


def unseal(blob: str, context: str) -> str:
    """The secret in plain text; "" for no secret. Raises keyring.UndecryptableError when no
    configured key opens it."""
    return keyring.decrypt(blob, context=context) if blob else ""
