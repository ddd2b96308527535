"""Fixed-window counters in the shared cache (Redis whenever REDIS_URL is set), so every web
process and worker counts together. While the cache cannot be reached, each process counts on
its own (the same limits, per process) rather than fail the request or let everything through."""

import threading
import time

from django.core.cache import cache
from redis.exceptions import RedisError

PREFIX = "fibe:rl:"
MAX_LOCAL = 10_000

_local: dict[str, tuple[int, float]] = {}  # bucket -> (count, expires at, monotonic)
_lock = threading.Lock()


def hit(key: str, *, limit: int, window: int) -> bool:
    """Count one event under ``key``; True while at most ``limit`` happened in this window."""
    bucket = f"{PREFIX}{key}:{int(time.time() // window)}"
    try:
        count = _shared_hit(bucket, window)
    except RedisError:
        count = _local_add(bucket, window)
    return count <= limit


def once(key: str, *, seconds: int) -> bool:
    """True the first time ``key`` is seen within ``seconds``."""
    bucket = f"{PREFIX}once:{key}"
    try:
        return cache.add(bucket, 1, timeout=seconds)
    except RedisError:
        return _local_add(bucket, seconds) == 1


def _shared_hit(bucket: str, window: int) -> int:
    if cache.add(bucket, 1, timeout=window + 1):
        return 1
    try:
        return cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.add(bucket, 1, timeout=window + 1)
        return 1


def _local_add(bucket: str, seconds: float) -> int:
    now = time.monotonic()
    with _lock:
        count, expires = _local.get(bucket, (0, now + seconds))
        if expires <= now:
            count, expires = 0, now + seconds
        if len(_local) >= MAX_LOCAL:
            for name in [n for n, (_, e) in _local.items() if e <= now]:
                del _local[name]
            if len(_local) >= MAX_LOCAL:
                _local.clear()
        _local[bucket] = (count + 1, expires)
        return count + 1


def forget() -> None:
    """Drop this process's own counts (tests)."""
    with _lock:
        _local.clear()
