"""Sign-in lockouts, rate-limit counters and webhook slots live in the shared Redis cache: each
test starts with none, so one test's failed sign-ins never lock another out."""

import pytest
from django.core.cache import cache

from fibe_access.accounts import ratelimit as account_ratelimit
from keys import ratelimit

PATTERNS = ("*axes-*", "*fibe:rl:*", "*fibe:wh:slots:*")


def clear_throttles() -> None:
    ratelimit.forget()  # this process's own counts, not yet settled with Redis
    account_ratelimit.forget()  # counted here while Redis was away
    client = getattr(cache, "_cache", None)
    if client is None or not hasattr(client, "get_client"):
        cache.clear()  # local memory: this process only
        return
    redis = client.get_client(write=True)
    for pattern in PATTERNS:
        keys = list(redis.scan_iter(match=pattern, count=1000))
        if keys:
            redis.delete(*keys)


@pytest.fixture(autouse=True)
def _no_throttles_left_over():
    clear_throttles()
    yield
