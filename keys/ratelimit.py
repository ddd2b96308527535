"""Per-key request counts in fixed one-minute windows, kept in Django's cache: Redis in
production and tests (one round trip a request), the local memory cache in single-process
development.

``hit`` can read a few other values in the same round trip, so authentication asks Redis once
per request (the key cache's generation rides along: see ``keys.cache``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from .cache import redis_backend, redis_client

log = logging.getLogger(__name__)
WINDOW = 60


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


# One command, one reply: count the request, start the window's expiry, read the extra keys.
HIT_LUA = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local out = {count}
for i = 2, #KEYS do out[i] = redis.call('GET', KEYS[i]) or false end
return out
"""


def _hit_script(backend: RedisCache):
    script = getattr(backend, "_fibe_hit_script", None)
    if script is None:
        script = backend._fibe_hit_script = redis_client(backend).register_script(HIT_LUA)
    return script


def hit(
    key_name: str, *, also_read: Sequence[str] = (), now: float | None = None
) -> tuple[int, int, list | None]:
    """Count one request for ``key_name``. Returns (count this window, window reset time, the
    values of ``also_read`` read in the same round trip — None without Redis or when it is
    down, in which case the request is served uncounted)."""
    now = now if now is not None else time.time()
    window = int(now // WINDOW)
    counter, reset = f"fibe:rl:{key_name}:{window}", (window + 1) * WINDOW
    backend = redis_backend()
    if backend is not None:
        mk = backend.make_and_validate_key
        try:
            count, *values = _hit_script(backend)(
                keys=[mk(counter), *(mk(name) for name in also_read)], args=[WINDOW + 5]
            )
        except RedisError as exc:
            log.warning("rate limiting unavailable: %s", type(exc).__name__)
            return 0, reset, None
        return count, reset, values
    local = caches["default"]
    try:
        count = local.incr(counter)
    except ValueError:  # first request of the window
        count = 1 if local.add(counter, 1, timeout=WINDOW + 5) else local.incr(counter)
    return count, reset, None
