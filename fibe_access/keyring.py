"""The keyring: AES-GCM for the secrets Fibe must read back (agent keys, whose token the owner and
the agent runtime can read; Secret values and webhook signing secrets), one module for all.

Each ciphertext names the key that sealed it: ``v2:<key id>:<base64 nonce + ciphertext>``, the
key id being the first 8 hex digits of the key's SHA-256. The current key
(API_KEY_ENCRYPTION_KEY) seals; it and the old keys (API_KEY_ENCRYPTION_OLD_KEYS) open, until
``manage.py reencrypt`` has moved every sealed value (``fibe_access.sealed``) to the current
one. ``v1:`` ciphertexts, written before key ids existed, are tried against every key, and
against the key earlier versions derived from SECRET_KEY, so the command can move them too.
Deriving a key to seal with is allowed only under debug."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class UndecryptableError(Exception):
    """No key this server has opens the ciphertext (the key changed and the old one is gone)."""


@dataclass(frozen=True)
class Keyring:
    current: bytes
    by_id: dict[str, bytes]
    legacy: tuple[bytes, ...]


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def _decode(value: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ImproperlyConfigured(
            "API_KEY_ENCRYPTION_KEY and API_KEY_ENCRYPTION_OLD_KEYS take 32 bytes, urlsafe base64."
        )
    return raw


def _derived(secret_key: str) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"fibe-access api-key encryption v1"
    )
    return hkdf.derive(secret_key.encode())


@lru_cache(maxsize=4)
def _keyring(configured: str, old: tuple[str, ...], secret_key: str, debug: bool) -> Keyring:
    if configured:
        current = _decode(configured)
    elif debug:
        current = _derived(secret_key)
    else:
        raise ImproperlyConfigured("API_KEY_ENCRYPTION_KEY must be set when DJANGO_DEBUG is off.")
    keys = [current, *(_decode(k) for k in old if k)]
    return Keyring(
        current=current,
        by_id={key_id(k): k for k in keys},
        legacy=tuple(dict.fromkeys([*keys, _derived(secret_key)])),
    )


def keyring() -> Keyring:
    return _keyring(
        settings.API_KEY_ENCRYPTION_KEY,
        tuple(settings.API_KEY_ENCRYPTION_OLD_KEYS),
        settings.SECRET_KEY,
        settings.DEBUG,
    )


def current_key_id() -> str:
    return key_id(keyring().current)


def key_id_of(blob: str) -> str | None:
    """The id of the key that sealed ``blob``; None for a ``v1:`` ciphertext."""
    return blob.split(":", 2)[1] if blob.startswith("v2:") and blob.count(":") >= 2 else None


def encrypt(plaintext: str, *, context: str) -> str:
    """Encrypt, binding the ciphertext to ``context`` (the key's digest) as associated data."""
    key = keyring().current
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), context.encode())
    return f"v2:{key_id(key)}:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(blob: str, *, context: str) -> str:
    ring = keyring()
    kid = key_id_of(blob)
    if kid is not None:
        data = blob.split(":", 2)[2]
        candidates: tuple[bytes, ...] = (ring.by_id[kid],) if kid in ring.by_id else ()
    else:
        data = blob.removeprefix("v1:")
        candidates = ring.legacy
    try:
        raw = base64.urlsafe_b64decode(data)
    except (binascii.Error, ValueError):
        raise UndecryptableError("The stored ciphertext is damaged.") from None
    for key in candidates:
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except (InvalidTag, ValueError):
            continue
    raise UndecryptableError("No encryption key on this server opens this token.")
