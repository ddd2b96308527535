"""API key tokens: ``fibe_`` + 43 base62 characters of 32 random bytes + a 6-character base62
CRC32 of everything before it (GitHub's scheme). The checksum lets us refuse a mistyped or
made-up token without touching the database, and lets secret scanners recognise ours."""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib

PREFIX = "fibe_"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_BYTES = 32
BODY_LEN = 43  # ceil(256 / log2(62))
CHECK_LEN = 6
TOKEN_LEN = len(PREFIX) + BODY_LEN + CHECK_LEN
_SHAPE = re.compile(rf"^{PREFIX}[0-9A-Za-z]{{{BODY_LEN + CHECK_LEN}}}\Z")


def base62(n: int, width: int) -> str:
    out = []
    while n:
        n, r = divmod(n, 62)
        out.append(ALPHABET[r])
    return "".join(reversed(out)).rjust(width, "0")


def checksum(head: str) -> str:
    return base62(zlib.crc32(head.encode()), CHECK_LEN)


def generate() -> str:
    head = PREFIX + base62(int.from_bytes(secrets.token_bytes(RANDOM_BYTES), "big"), BODY_LEN)
    return head + checksum(head)


def is_well_formed(token: object) -> bool:
    """Shape and checksum only; pure and constant in cost."""
    if not isinstance(token, str) or not _SHAPE.match(token):
        return False
    head, check = token[:-CHECK_LEN], token[-CHECK_LEN:]
    return secrets.compare_digest(checksum(head), check)


def digest(token: str) -> str:
    """What we store and look up: SHA-256 hex. The token has 256 bits of entropy, so a fast
    hash is as safe here as a slow one and costs microseconds on the request path."""
    return hashlib.sha256(token.encode()).hexdigest()
