"""Keys read from the database, kept per process, and dropped everywhere the moment a key service
changes them.

A process reuses a key it read for up to API_KEY_CACHE_SECONDS while it hears the key change
channel (``keys.changes``) and no change of that key is in flight. Key services flag a change
before it commits (``change_begin``) and announce it after (``change_done``), so a revoked,
expired, rotated or deleted key fails everywhere from its commit on. Changes made outside the
services (e.g. an account deactivated in the admin) apply within API_KEY_CACHE_SECONDS. Without
Redis (single-process development), or while the channel cannot be heard, every request reads
the key from the database."""

from __future__ import annotations

import math
import time

from django.conf import settings

from . import changes
from .models import ApiKey
from .selectors import key_for_token_digest

LOCAL_MAX = 2048
NAME_LEN = 24


class Entry:
    """A key this process read, with what authentication asks of it on every request worked
    out once: until when it may be used (epoch seconds; -inf when it is not active or its
    owner is not) and when it was last used."""

    __slots__ = ("key", "read_at", "usable_until", "used_at")

    def __init__(self, key: ApiKey, digest: str | None = None) -> None:
        self.key = key
        self.read_at = time.monotonic()
        usable = key.status == ApiKey.Status.ACTIVE and key.owner.is_active
        expires = key.expires_at.timestamp() if key.expires_at is not None else math.inf
        if digest is not None and digest != key.digest:  # the old token of a rotation
            ends = key.previous_expires_at if digest == key.previous_digest else None
            expires = min(expires, ends.timestamp() if ends is not None else -math.inf)
        self.usable_until = expires if usable else -math.inf
        self.used_at = key.last_used_at.timestamp() if key.last_used_at else -math.inf


_local: dict[str, Entry] = {}  # by digest
flag_change = changes.flag_change
publish_change = changes.publish_change


def cache_name(digest: str) -> str:
    """How shared counters and notices name a key: a prefix of its digest, never the token."""
    return digest[:NAME_LEN]


def _forget(key_name: str | None) -> None:
    """Drop this process's copy of the key named ``key_name`` (of every key when None)."""
    if key_name is None:
        _local.clear()
        return
    for digest in [d for d in _local if d.startswith(key_name)]:
        _local.pop(digest, None)


changes.listener.on_change = _forget


def cached(digest: str) -> Entry | None:
    """This process's copy of the key with this digest, while it is fresh and nothing said it
    changed; else None (``key_for_digest`` reads it). No query, no round trip."""
    listener = changes.listener
    if not listener.poll():  # first: what it hears may drop the very copy asked for
        return None
    entry = _local.get(digest)
    if entry is None:
        return None
    if (
        listener.trusted(digest[:NAME_LEN])
        and time.monotonic() - entry.read_at < settings.API_KEY_CACHE_SECONDS
    ):
        return entry
    _local.pop(digest, None)
    return None


def key_for_digest(digest: str) -> ApiKey | None:
    """The key with this digest: this process's copy if it may be used, else the database's
    (one query), kept for the next requests while this process hears key changes."""
    entry = cached(digest)
    if entry is not None:
        return entry.key
    listener = changes.listener
    listening = listener.poll()
    epoch = listener.epoch
    key = key_for_token_digest(digest)
    if (
        key is not None
        and listening
        and settings.API_KEY_CACHE_SECONDS > 0
        and listener.poll()
        and listener.trusted(cache_name(digest))
        # a notice heard while we read (this thread's poll, or another's) may be about it
        and listener.epoch == epoch
    ):
        if len(_local) >= LOCAL_MAX:
            _local.clear()
        _local[digest] = Entry(key, digest)
    return key


def change_begin(digest: str) -> None:
    """Called by key services inside their transaction, before changing a key."""
    _local.pop(digest, None)
    flag_change(cache_name(digest))


def change_done(digest: str) -> None:
    """Called by key services once the change has committed."""
    _local.pop(digest, None)
    publish_change(cache_name(digest))
