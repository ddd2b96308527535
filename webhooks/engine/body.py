"""A receiver's response body, read and decoded within bounds set here, not by urllib3: at most
RAW_LIMIT bytes are read off the wire, at most MAX_CODINGS content codings are undone, each by
zlib into at most BODY_LIMIT bytes. A decompression bomb, nested or not, costs BODY_LIMIT
bytes per coding whatever it expands to; the log keeps its first BODY_LIMIT bytes."""

from __future__ import annotations

import zlib

BODY_LIMIT = 16 * 1024  # bytes of the answer kept in the attempt's log
RAW_LIMIT = 4 * BODY_LIMIT  # bytes read of an encoded body (enough for BODY_LIMIT decoded)
MAX_CODINGS = 2
ACCEPT_ENCODING = "gzip, deflate"
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


class Undecodable(Exception):
    """The body is not what its Content-Encoding says (the message says why)."""


def read(raw, content_encoding: str) -> bytes:
    """The first BODY_LIMIT bytes of the decoded body of ``raw`` (urllib3's response)."""
    codings = [c.strip().lower() for c in content_encoding.split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > MAX_CODINGS:
        raise Undecodable(f"{len(codings)} content codings (at most {MAX_CODINGS} are undone).")
    data = _read(raw, RAW_LIMIT if codings else BODY_LIMIT)
    for coding in reversed(codings):
        if coding not in _WBITS:
            return data[:BODY_LIMIT]  # a coding we did not offer: kept as it came
        data = _undo(coding, data)
    return data[:BODY_LIMIT]


def _read(raw, limit: int) -> bytes:
    """Up to ``limit`` bytes as sent; urllib3 raises if the body ends before its length."""
    chunks, size = [], 0
    while size < limit:
        chunk = raw.read(limit - size, decode_content=False)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _undo(coding: str, data: bytes) -> bytes:
    wbits = _WBITS[coding]
    try:
        return zlib.decompressobj(wbits).decompress(data, BODY_LIMIT)
    except zlib.error as exc:
        if coding != "deflate":
            raise Undecodable(f"the {coding} body does not decode ({exc}).") from exc
    try:  # "deflate" is sent raw by some servers, without the zlib header
        return zlib.decompressobj(-zlib.MAX_WBITS).decompress(data, BODY_LIMIT)
    except zlib.error as exc:
        raise Undecodable(f"the deflate body does not decode ({exc}).") from exc
