"""Keys read from the database, kept per process, and dropped everywhere the moment a key service
changes them.

A process reuses a key it read for up to API_KEY_CACHE_SECONDS while it hears the key change
channel (``keys.changes``) and no change of that key is in flight. Key services call
``key_changing`` inside their transaction: the change begins before it commits and is done
after, so a revoked, expired, rotated or deleted key fails everywhere from its commit on (see
``keys.changes`` for what holds when Redis or the network misbehaves). Changes made outside the
services (e.g. an account deactivated in the admin) apply within API_KEY_CACHE_SECONDS. Without
Redis (single-process development), or while the channel cannot be heard, every request reads
the key from the database.

Request threads read the copies without a lock (one dict lookup); every change to the dict, and
every walk over it, holds ``_lock``."""

from __future__ import annotations

import math
import threading
import time

from django.conf import settings
from django.db import transaction

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
        if digest is not None and digest != key.digest and digest == key.previous_digest:
            ends = key.previous_expires_at  # the old token of an overlapping rotation
            expires = min(expires, ends.timestamp() if ends is not None else -math.inf)
        self.usable_until = expires if usable else -math.inf
        self.used_at = key.last_used_at.timestamp() if key.last_used_at else -math.inf


_local: dict[str, Entry] = {}  # by digest
_lock = threading.Lock()


def cache_name(digest: str) -> str:
    """How shared counters and notices name a key: a prefix of its digest, never the token."""
    return digest[:NAME_LEN]


def drop(key_name: str | None) -> None:
    """Drop this process's copy of the key named ``key_name`` (of every key when None)."""
    with _lock:
        if key_name is None:
            _local.clear()
            return
        # By the token's digest, or by the key's own (a token standing for a key, e.g. an
        # OAuth access token, goes when its key changes).
        for digest in [
            d
            for d, entry in _local.items()
            if d.startswith(key_name) or entry.key.digest.startswith(key_name)
        ]:
            del _local[digest]


def _keep(digest: str, entry: Entry | None) -> None:
    with _lock:
        if entry is None:
            _local.pop(digest, None)
        else:
            _keep_locked(digest, entry)


def _keep_locked(digest: str, entry: Entry) -> None:
    if len(_local) >= LOCAL_MAX:
        _local.clear()
    _local[digest] = entry


changes.listener.drop_copies = drop


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
        and listener.trusted(entry.key.digest[:NAME_LEN])
        and time.monotonic() - entry.read_at < settings.API_KEY_CACHE_SECONDS
    ):
        return entry
    _keep(digest, None)
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
        and listener.trusted(cache_name(key.digest))
    ):
        entry = Entry(key, digest)
        with _lock:
            # an event received while we read (this thread's poll, or another's) may be about
            # it; one received from here on drops the copy after us (it waits for the lock)
            if listener.epoch == epoch:
                _keep_locked(digest, entry)
    return key


def key_changing(*digests: str) -> None:
    """Called by key services inside their transaction, before they change a key (by each of
    its tokens: the current one, and the old one of an overlapping rotation; empty ones are
    skipped): the change begins now and is done when the transaction commits."""
    for digest in [d for d in digests if d]:
        change_begin(digest)
        transaction.on_commit(lambda digest=digest: change_done(digest))


def change_begin(digest: str) -> None:
    """No process trusts a copy of the key until ``change_done``."""
    _keep(digest, None)
    changes.begin(cache_name(digest))


def change_done(digest: str) -> None:
    """The change has committed: every process drops its copy."""
    _keep(digest, None)
    changes.done(cache_name(digest))
