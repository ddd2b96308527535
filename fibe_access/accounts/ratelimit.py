"""Fixed-window counters in the shared cache (Redis whenever REDIS_URL is set), so every web
process and worker counts together."""

import time

from django.core.cache import cache

PREFIX = "fibe:rl:"


def hit(key: str, *, limit: int, window: int) -> bool:
    """Count one event under ``key``; True while at most ``limit`` happened in this window."""
    bucket = f"{PREFIX}{key}:{int(time.time() // window)}"
    if cache.add(bucket, 1, timeout=window + 1):
        return limit >= 1
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.add(bucket, 1, timeout=window + 1)
        count = 1
    return count <= limit


def once(key: str, *, seconds: int) -> bool:
    """True the first time ``key`` is seen within ``seconds``."""
    return cache.add(f"{PREFIX}once:{key}", 1, timeout=seconds)
