"""GitHub's secret-scanning partner messages (issue 24): who may send them and what to answer.

GitHub signs the raw body of each message with ECDSA P-256 / SHA-256 and names the key in
``Github-Public-Key-Identifier``; the signature (base64 DER) is in
``Github-Public-Key-Signature``. The public keys are GitHub's JSON document
(https://api.github.com/meta/public_keys/secret_scanning), held in the
GITHUB_SECRET_SCANNING_KEYS setting and/or the file ``manage.py github_scanning_keys`` writes:
nothing is fetched while a message is checked. Verification is the ``cryptography`` library's.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

log = logging.getLogger(__name__)
KEYS_URL = "https://api.github.com/meta/public_keys/secret_scanning"
KEY_ID_HEADER = "Github-Public-Key-Identifier"
SIGNATURE_HEADER = "Github-Public-Key-Signature"
MAX_KEY_ID = 200
MAX_SIGNATURE = 400  # base64 of a DER P-256 signature is under 100 characters


class KeysInvalid(ValueError):
    """The keys document is not GitHub's format, or a key is not an EC P-256 public key."""


def parse_keys(document: str | bytes) -> dict[str, ec.EllipticCurvePublicKey]:
    """``{key identifier: public key}`` from GitHub's JSON; raises KeysInvalid."""
    try:
        data = json.loads(document)
        entries = data["public_keys"]
        if not isinstance(entries, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise KeysInvalid(
            'Expected GitHub\'s JSON: {"public_keys": [{"key_identifier", "key"}]}'
        ) from None
    keys = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("key_identifier"), str):
            raise KeysInvalid("Every public key needs a key_identifier.")
        try:
            key = serialization.load_pem_public_key(str(entry.get("key", "")).encode())
        except (ValueError, TypeError):
            raise KeysInvalid(f"{entry['key_identifier']}: not a PEM public key.") from None
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise KeysInvalid(f"{entry['key_identifier']}: not an ECDSA P-256 public key.")
        keys[entry["key_identifier"]] = key
    return keys


class _FileKeys:
    """The keys file, read again only when it changes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: tuple | None = None
        self.keys: dict[str, ec.EllipticCurvePublicKey] = {}

    def get(self, path: Path) -> dict[str, ec.EllipticCurvePublicKey]:
        try:
            stat = path.stat()
        except OSError:
            return {}
        seen = (str(path), stat.st_mtime_ns, stat.st_size)
        with self.lock:
            if seen != self.seen:
                try:
                    self.keys = parse_keys(path.read_bytes())
                except (OSError, KeysInvalid) as exc:
                    log.error("GitHub secret-scanning keys file %s unusable: %s", path, exc)
                    self.keys = {}
                self.seen = seen
            return self.keys


_file_keys = _FileKeys()


def public_keys() -> dict[str, ec.EllipticCurvePublicKey]:
    """Every key a message may be signed with: the setting's, then the file's."""
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    if settings.GITHUB_SECRET_SCANNING_KEYS:
        try:
            keys.update(parse_keys(settings.GITHUB_SECRET_SCANNING_KEYS))
        except KeysInvalid as exc:
            log.error("GITHUB_SECRET_SCANNING_KEYS unusable: %s", exc)
    keys.update(_file_keys.get(Path(settings.GITHUB_SECRET_SCANNING_KEYS_FILE)))
    return keys


def verify(body: bytes, key_id: str, signature: str) -> bool:
    """Whether ``signature`` is GitHub's key ``key_id`` signing exactly ``body``."""
    if not key_id or len(key_id) > MAX_KEY_ID or not signature or len(signature) > MAX_SIGNATURE:
        return False
    key = public_keys().get(key_id)
    if key is None:
        return False
    try:
        der = base64.b64decode(signature, validate=True)
        key.verify(der, body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


def install(document: str | bytes) -> list[str]:
    """Write a validated keys document to GITHUB_SECRET_SCANNING_KEYS_FILE (atomically);
    returns the key identifiers. Raises KeysInvalid."""
    keys = parse_keys(document)
    if not keys:
        raise KeysInvalid("The document holds no public key.")
    path = Path(settings.GITHUB_SECRET_SCANNING_KEYS_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(document if isinstance(document, bytes) else document.encode())
    temporary.replace(path)
    return sorted(keys)
