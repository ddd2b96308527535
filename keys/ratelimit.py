"""The one cache round trip an authenticated request makes: count the request against its
key's per-minute limit (fixed one-minute windows) and read the key's generation, which key
services bump so every process drops its cached copy of a changed key at once.

Kept in Django's cache: Redis in production and tests (a pipeline, one round trip), the local
memory cache in single-process development."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
WINDOW = 60
GENERATION_TTL = 300  # longer than any process keeps a cached key (API_KEY_CACHE_SECONDS)


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
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


def shared() -> bool:
    """Is the cache shared between processes (so cached keys can be invalidated)?"""
    return isinstance(caches["default"], RedisCache)


def _client(backend: RedisCache):
    client = getattr(backend, "_fibe_client", None)
    if client is None:
        client = backend._fibe_client = backend._cache.get_client(write=True)
    return client


# One command, one reply: count the request, start the window's expiry, read the key's
# generation and whether a change to it is in flight.
HIT_LUA = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('GET', KEYS[2]) or false, redis.call('EXISTS', KEYS[3])}
"""


def _hit_script(backend: RedisCache):
    script = getattr(backend, "_fibe_hit_script", None)
    if script is None:
        script = backend._fibe_hit_script = _client(backend).register_script(HIT_LUA)
    return script


def _names(key_name: str, now: float) -> tuple[str, str, str, int]:
    window = int(now // WINDOW)
    return (
        f"fibe:rl:{key_name}:{window}",
        f"fibe:gen:{key_name}",
        f"fibe:chg:{key_name}",
        (window + 1) * WINDOW,
    )


def hit(key_name: str, now: float | None = None) -> tuple[int, int, int | None]:
    """Count one request for ``key_name``; returns (count this window, window reset time,
    the key's generation — None while a change to the key is being committed)."""
    now = now if now is not None else time.time()
    counter, gen, changing, reset = _names(key_name, now)
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        mk = backend.make_and_validate_key
        try:
            count, generation, pending = _hit_script(backend)(
                keys=[mk(counter), mk(gen), mk(changing)], args=[WINDOW + 5]
            )
        except RedisError as exc:
            # Redis down: serve without counting (fail open) and read keys from the database.
            log.warning("rate limiting unavailable: %s", type(exc).__name__)
            return 0, reset, None
        return count, reset, None if pending else int(generation or 0)
    try:
        count = backend.incr(counter)
    except ValueError:  # first request of the window
        count = 1 if backend.add(counter, 1, timeout=WINDOW + 5) else backend.incr(counter)
    return count, reset, None


def change_begin(key_name: str) -> None:
    """A change to the key is under way: until ``change_done``, nobody trusts a cached copy
    (the flag expires by itself if the change is rolled back)."""
    _, _, changing, _ = _names(key_name, time.time())
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        try:
            _client(backend).set(backend.make_and_validate_key(changing), 1, ex=WINDOW)
        except RedisError as exc:  # every process then reads keys from the database anyway
            log.warning("could not flag a key change: %s", type(exc).__name__)


def change_done(key_name: str) -> None:
    """The change is committed: move the generation on so cached copies are re-read."""
    _, gen, changing, _ = _names(key_name, time.time())
    backend = caches["default"]
    if isinstance(backend, RedisCache):
        mk = backend.make_and_validate_key
        pipe = _client(backend).pipeline(transaction=False)
        pipe.incr(mk(gen))
        pipe.expire(mk(gen), GENERATION_TTL)
        pipe.delete(mk(changing))
        try:
            pipe.execute()
        except RedisError as exc:
            log.warning("could not publish a key change: %s", type(exc).__name__)
