"""Keys read from the database, kept per process, and the channel through which key services
tell every process to stop trusting its copy of a changed key.

A process reuses a key it read for up to API_KEY_CACHE_SECONDS while the key's generation in
Redis (read in the same round trip as the rate count: ``keys.ratelimit.hit``) still matches and
no change is in flight. Key services flag a change before it commits (``change_begin``) and move
the generation on after (``change_done``), so a revoked, expired, rotated or deleted key fails
everywhere from its commit on. Changes made outside the services (e.g. an account deactivated in
the admin) apply within API_KEY_CACHE_SECONDS. Without Redis (single-process development) every
request reads the key from the database."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from .models import ApiKey
from .selectors import key_for_token_digest

log = logging.getLogger(__name__)
GENERATION_TTL = 300  # longer than any process keeps a cached key (API_KEY_CACHE_SECONDS)
FLAG_TTL = 60  # a change flag left by a rolled-back change expires by itself
LOCAL_MAX = 2048

# {digest: (key, read at, generation)}
_local: dict[str, tuple[ApiKey, float, int]] = {}


def cache_name(digest: str) -> str:
    """How shared counters and flags name a key: a prefix of its digest, never the token."""
    return digest[:24]


def redis_backend() -> RedisCache | None:
    """Django's cache when it is Redis (shared between processes), else None."""
    backend = caches["default"]
    return backend if isinstance(backend, RedisCache) else None


def redis_client(backend: RedisCache):
    client = getattr(backend, "_fibe_client", None)
    if client is None:
        client = backend._fibe_client = backend._cache.get_client(write=True)
    return client


def channel(key_name: str) -> tuple[str, str]:
    """The key's generation and its change-in-flight flag, as names in the shared cache."""
    return f"fibe:gen:{key_name}", f"fibe:chg:{key_name}"


def generation(values: list | None) -> int | None:
    """The key's generation from the values of ``channel`` read with the rate count; None (do
    not trust a cached copy) without Redis or while a change is being committed."""
    if values is None:
        return None
    current, changing = values
    return None if changing else int(current or 0)


def key_for_digest(digest: str, current_generation: int | None) -> ApiKey | None:
    """The key with this digest: this process's copy while it is fresh and its generation
    still current, else the database's (one query)."""
    ttl = min(settings.API_KEY_CACHE_SECONDS, GENERATION_TTL / 2)
    if current_generation is None or ttl <= 0:
        _local.pop(digest, None)
        return key_for_token_digest(digest)
    hit = _local.get(digest)
    if hit is not None and hit[2] == current_generation and time.monotonic() - hit[1] < ttl:
        return hit[0]
    key = key_for_token_digest(digest)
    if key is not None:
        if len(_local) >= LOCAL_MAX:
            _local.clear()
        _local[digest] = (key, time.monotonic(), current_generation)
    return key


def change_begin(digest: str) -> None:
    """Called by key services inside their transaction, before changing a key."""
    _local.pop(digest, None)
    flag_change(cache_name(digest))


def change_done(digest: str) -> None:
    """Called by key services once the change has committed."""
    _local.pop(digest, None)
    publish_change(cache_name(digest))


def flag_change(key_name: str) -> None:
    """Until ``publish_change``, no process trusts a cached copy of the key."""
    backend = redis_backend()
    if backend is None:
        return
    _, changing = channel(key_name)
    try:
        redis_client(backend).set(backend.make_and_validate_key(changing), 1, ex=FLAG_TTL)
    except RedisError as exc:  # every process then reads keys from the database anyway
        log.warning("could not flag a key change: %s", type(exc).__name__)


def publish_change(key_name: str) -> None:
    """Move the key's generation on and clear its flag, so every cached copy is re-read."""
    backend = redis_backend()
    if backend is None:
        return
    mk = backend.make_and_validate_key
    current, changing = channel(key_name)
    pipe = redis_client(backend).pipeline(transaction=False)
    pipe.incr(mk(current))
    pipe.expire(mk(current), GENERATION_TTL)
    pipe.delete(mk(changing))
    try:
        pipe.execute()
    except RedisError as exc:
        log.warning("could not publish a key change: %s", type(exc).__name__)
