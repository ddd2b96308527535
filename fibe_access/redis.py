"""The shared Redis behind Django's cache, the one place that reaches into it: rate counts
(``keys.ratelimit``), the channel that tells every process a key changed (``keys.changes``) and
the webhook engine's fair-share slots. None when the cache is not Redis (one process, a one-off
command)."""

from __future__ import annotations

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


_uses_redis: list[bool] = []  # computed once per process (and again when CACHES changes)


def uses_redis() -> bool:
    """Whether the default cache is Redis, without looking the cache up on every request."""
    if not _uses_redis:
        _uses_redis.append(redis_backend() is not None)
    return _uses_redis[0]


def _caches_changed(*, setting, **kwargs) -> None:
    if setting == "CACHES":
        _uses_redis.clear()


setting_changed.connect(_caches_changed)
