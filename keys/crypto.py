"""AES-GCM for agent keys, whose token the owner and the agent runtime can read back."""

from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@lru_cache(maxsize=4)
def _key(configured: str, secret_key: str) -> bytes:
    if configured:
        raw = base64.urlsafe_b64decode(configured + "=" * (-len(configured) % 4))
        if len(raw) != 32:
            raise ImproperlyConfigured("API_KEY_ENCRYPTION_KEY must be 32 bytes, urlsafe base64.")
        return raw
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"fibe-access api-key encryption v1"
    )
    return hkdf.derive(secret_key.encode())


def _aes() -> AESGCM:
    return AESGCM(_key(settings.API_KEY_ENCRYPTION_KEY, settings.SECRET_KEY))


def encrypt(plaintext: str, *, context: str) -> str:
    """Encrypt, binding the ciphertext to ``context`` (the key's digest) as associated data."""
    nonce = os.urandom(12)
    sealed = _aes().encrypt(nonce, plaintext.encode(), context.encode())
    return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def decrypt(blob: str, *, context: str) -> str:
    raw = base64.urlsafe_b64decode(blob.removeprefix("v1:"))
    return _aes().decrypt(raw[:12], raw[12:], context.encode()).decode()
