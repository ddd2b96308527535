"""The shared Redis behind Django's cache, the one place that reaches into it: rate counts
(``keys.ratelimit``), the channel that tells every process a key changed (``keys.changes``) and
the webhook engine's fair-share slots. None when the cache is not Redis (one process, a one-off
command).

Every connection gives up after REDIS_TIMEOUT_SECONDS (settings: the cache's OPTIONS). On the
request path, once one call has failed, ``away()`` tells the others to go without Redis for
AWAY_SECONDS rather than each wait out the timeout again."""

from __future__ import annotations

import time

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.core.signals import setting_changed


def redis_backend() -> RedisCache | None:
    """Django's cache when it is Redis (shared between processes), else None."""
    backend = caches["default"]
    return backend if isinstance(backend, RedisCache) else None


def redis_client(backend: RedisCache):
    """The redis-py client of Django's cache (its connection pool is per process)."""
    client = getattr(backend, "_fibe_client", None)
    if client is None:
        client = backend._fibe_client = backend._cache.get_client(write=True)
    return client


AWAY_SECONDS = 1.0
_away_until = [0.0]  # monotonic time


def away() -> bool:
    """Whether a request-path call to Redis failed less than AWAY_SECONDS ago."""
    return time.monotonic() < _away_until[0]


def failed() -> None:
    """A request-path call to Redis failed: the others skip Redis for AWAY_SECONDS."""
    _away_until[0] = time.monotonic() + AWAY_SECONDS


_uses_redis: list[bool] = []  # computed once per process (and again when CACHES changes)


def uses_redis() -> bool:
    """Whether the default cache is Redis, without looking the cache up on every request."""
    if not _uses_redis:
        _uses_redis.append(redis_backend() is not None)
    return _uses_redis[0]


def _caches_changed(*, setting, **kwargs) -> None:
    if setting == "CACHES":
        _uses_redis.clear()
        _away_until[0] = 0.0


setting_changed.connect(_caches_changed)
