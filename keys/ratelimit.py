"""Per-key request counts in fixed one-minute windows, shared between processes through Redis
without a round trip on every request: each process counts on its own and settles with Redis in
batches (a local allowance, as Unkey does for its limits).

A process decides alone while all of these hold: fewer than ``batch`` requests counted since it
last settled, under a second since then, and its view of the count (Redis's total when last
settled plus its own since) at least ``batch`` below the limit. Otherwise it settles at once:
INCRBY what it counted, read the total, decide on that. ``batch`` is 1% of the limit, at least 1
and at most MAX_BATCH (100): limits under 200 a minute are counted in Redis on every request,
and so is every key near its limit.

The tolerance: every process serves at most ``batch`` requests of a key that Redis has not yet
counted, so a key is served at most ``limit + batch × processes`` requests in a window (a 600 a
minute key on 4 worker processes: at most 624), never fewer than its limit, and from the moment
Redis counts past the limit, every further request is refused by each process within ``batch``
of its own requests. Refused requests are counted as before.

In one process the limit is exact, threads included: a key's count is decided and settled under
that key's own lock, so no thread decides against a total another thread is still settling.

Without Redis, or while Redis cannot be reached, each process counts on its own and enforces the
limit on its own count (plus what Redis last said): exact per process. What it counted meanwhile
is sent when Redis answers again (tried again a second after a failure).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import NamedTuple

from django.core.signals import setting_changed
from redis.exceptions import RedisError

from fibe_access import redis as shared
from fibe_access.redis import redis_backend, redis_client, uses_redis

log = logging.getLogger(__name__)
WINDOW = 60
MAX_BATCH = 100
SETTLE_EVERY = 1.0  # seconds: the longest a process keeps a key's counts to itself
MAX_TALLIES = 4096


class Usage(NamedTuple):
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


class _Tally:
    """One key's window as this process sees it."""

    __slots__ = ("window", "shared", "unsent", "settled", "lock")

    def __init__(self, window: int) -> None:
        self.window = window
        self.shared = 0  # the window's total in Redis when last settled
        self.unsent = 0  # requests counted here since
        self.settled = float("-inf")  # when this process last settled (time.time())
        self.lock = threading.Lock()  # decide and settle as one step


_tallies: dict[str, _Tally] = {}
_lock = threading.Lock()  # guards _tallies itself

# Add what a process counted, start the window's expiry with its first count, return the total.
SETTLE_LUA = """
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if total == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return total
"""


def hit(key_name: str, limit: int, *, now: float | None = None) -> Usage:
    """Count one request for ``key_name`` against ``limit`` requests a minute."""
    now = now if now is not None else time.time()
    window = int(now // WINDOW)
    reset = (window + 1) * WINDOW
    batch = max(1, min(MAX_BATCH, limit // 100))
    with _lock:
        tally = _tallies.get(key_name)
        if tally is None or tally.window != window:
            if len(_tallies) >= MAX_TALLIES:
                _tallies.clear()
            tally = _tallies[key_name] = _Tally(window)
    with tally.lock:
        tally.unsent += 1
        seen = tally.shared + tally.unsent
        if not uses_redis():
            return Usage(limit, seen, reset)
        if tally.unsent < batch and seen <= limit - batch and now - tally.settled < SETTLE_EVERY:
            return Usage(limit, seen, reset)  # decided alone
        if shared.away():
            return Usage(limit, seen, reset)  # Redis is away: counted and decided here
        try:
            total = _settle(redis_backend(), f"fibe:rl:{key_name}:{window}", tally.unsent)
        except RedisError as exc:
            log.warning("rate limit counted per process: Redis failed (%s)", type(exc).__name__)
            shared.failed()
            return Usage(limit, seen, reset)
        tally.unsent = 0
        tally.shared = max(tally.shared, total)
        tally.settled = now
        return Usage(limit, tally.shared, reset)


def _settle(backend, counter: str, unsent: int) -> int:
    script = getattr(backend, "_fibe_settle_script", None)
    if script is None:
        script = backend._fibe_settle_script = redis_client(backend).register_script(SETTLE_LUA)
    return int(script(keys=[backend.make_and_validate_key(counter)], args=[unsent, WINDOW + 5]))


def forget() -> None:
    """Drop this process's counts: another Redis (tests), or a forked child, which must not send
    what its parent counted."""
    global _lock
    _lock = threading.Lock()
    _tallies.clear()


def _caches_changed(*, setting, **kwargs) -> None:
    if setting == "CACHES":
        forget()


setting_changed.connect(_caches_changed)
os.register_at_fork(after_in_child=forget)
