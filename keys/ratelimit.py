"""The one cache round trip an authenticated request makes: count the request against its
key's per-minute limit (fixed one-minute windows) and read the key's generation, which key
services bump so every process drops its cached copy of a changed key at once.

Kept in Django's cache: Redis in production and tests (a pipeline, one round trip), the local
memory cache in single-process development."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

WINDOW = 60
GENERATION_TTL = 300  # longer than any process keeps a cached key (auth.LOCAL_TTL)


@dataclass(frozen=True)
class Usage:
    limit: int
    count: int
    reset: int  # epoch seconds when the window ends

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    def retry_after(self, now: float | None = None) -> int:
        return max(1, self.reset - int(now if now is not None else time.time()))

    def headers(self) -> dict[str, str]:
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(self.reset)}


def shared() -> bool:
    """Is the cache shared between processes (so cached keys can be invalidated)?"""
    return isinstance(caches["default"], RedisCache)


def _client(backend: RedisCache):
    client = getattr(backend, "_fibe_client", None)
    if client is None:
        client = backend._fibe_client = backend._cache.get_client(write=True)
    return client


def _names(key_name: str, now: float) -> tuple[str, str, int]:
    window = int(now // WINDOW)
    return f"fibe:rl:{key_name}:{window}", f"fibe:gen:{key_name}", (window + 1) * WINDOW


def hit(key_name: str, now: float | None = None) -> tuple[int, int, int]:
    """Count one request for ``key_name``; returns (count this window, window reset time,
    the key's generation)."""
    now = now if now is not None else time.time()
    counter, gen, reset = _names(key_name, now)
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        pipe = _client(backend).pipeline(transaction=False)
        counter = backend.make_and_validate_key(counter)
        pipe.incr(counter)
        pipe.expire(counter, WINDOW + 5, nx=True)
        pipe.get(backend.make_and_validate_key(gen))
        count, _, generation = pipe.execute()
        return count, reset, int(generation or 0)
    try:
        count = backend.incr(counter)
    except ValueError:  # first request of the window
        count = 1 if backend.add(counter, 1, timeout=WINDOW + 5) else backend.incr(counter)
    return count, reset, int(backend.get(gen) or 0)


def generation_bump(key_name: str) -> None:
    _, gen, _ = _names(key_name, time.time())
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        pipe = _client(backend).pipeline(transaction=False)
        gen = backend.make_and_validate_key(gen)
        pipe.incr(gen)
        pipe.expire(gen, GENERATION_TTL)
        pipe.execute()
    else:
        backend.set(gen, int(backend.get(gen) or 0) + 1, timeout=GENERATION_TTL)
