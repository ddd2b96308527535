"""Per-key request counting in fixed one-minute windows, kept in Django's cache (Redis in
production and tests): one INCR per request in the steady state."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache

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
        return {"X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(self.reset)}


def hit(key_name: str, limit: int, now: float | None = None) -> Usage:
    """Count one request for the key called ``key_name`` in the current window."""
    now = now if now is not None else time.time()
    window = int(now // WINDOW)
    name = f"fibe:rl:{key_name}:{window}"
    try:
        count = cache.incr(name)
    except ValueError:  # first request of the window
        count = 1 if cache.add(name, 1, timeout=WINDOW + 5) else cache.incr(name)
    return Usage(limit=limit, count=count, reset=(window + 1) * WINDOW)
