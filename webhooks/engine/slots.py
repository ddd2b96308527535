"""Fair shares of the workers: at most WEBHOOKS_ENDPOINT_CONCURRENCY attempts to one endpoint,
and WEBHOOKS_ACCOUNT_CONCURRENCY to one account's endpoints, at once across every worker
process. Slots are members of a Redis sorted set scored by when their lease ends, so a worker
killed mid-send frees its slot when the lease runs out; a sending lane releases its slots as
soon as it has sent its deliveries.

Without Redis (single-process development) or while it is down, every attempt gets a slot:
the limit protects fairness, never delivery."""

from __future__ import annotations

import logging
import time
import uuid

from django.conf import settings
from redis.exceptions import RedisError

from fibe_access.redis import redis_backend, redis_client

logger = logging.getLogger(__name__)
UNLIMITED = "-"  # a slot granted without Redis; release does nothing

# KEYS: the sets; ARGV: now, lease end, token, lease ms, then one limit per set. A token
# already in a set (one sending thread going through several endpoints of an account in turn)
# holds its slot there and is not counted again.
ACQUIRE_LUA = """
for i = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[1])
  if not redis.call('ZSCORE', KEYS[i], ARGV[3])
     and redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[4 + i]) then return 0 end
end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[i], ARGV[4])
end
return 1
"""


# One account's claim in one round trip. KEYS: the account's set, then one set per endpoint;
# ARGV: now, lease end, lease ms, endpoint limit, account limit, the number of lanes, their
# tokens, then each endpoint's lane (1-based). An endpoint tries its own lane, then any lane
# that already holds an account slot; the answer is one lane number per endpoint, 0 when no
# slot was free. A lane takes one account slot however many endpoints it goes through.
ACQUIRE_LANES_LUA = """
local now, lease_end, lease_ms = ARGV[1], ARGV[2], ARGV[3]
local endpoint_limit, account_limit = tonumber(ARGV[4]), tonumber(ARGV[5])
local lanes = tonumber(ARGV[6])
local account = KEYS[1]
redis.call('ZREMRANGEBYSCORE', account, '-inf', now)
local held, order, out = {}, {}, {}
for i = 2, #KEYS do
  local key = KEYS[i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local own, got = tonumber(ARGV[6 + lanes + i - 1]), 0
  local tries = {own}  -- its own lane, then those already holding an account slot
  for _, t in ipairs(order) do
    if t ~= own then tries[#tries + 1] = t end
  end
  for _, t in ipairs(tries) do
    local token = ARGV[6 + t]
    local room = redis.call('ZSCORE', key, token)
      or redis.call('ZCARD', key) < endpoint_limit
    if room and (held[t] or redis.call('ZCARD', account) < account_limit) then
      got = t
      break
    end
  end
  if got > 0 then
    if not held[got] then
      redis.call('ZADD', account, lease_end, ARGV[6 + got])
      held[got] = true
      order[#order + 1] = got
    end
    redis.call('ZADD', key, lease_end, ARGV[6 + got])
    redis.call('PEXPIRE', key, lease_ms)
  end
  out[#out + 1] = got
end
redis.call('PEXPIRE', account, lease_ms)
return out
"""


def _client():
    backend = redis_backend()
    return (backend, redis_client(backend)) if backend is not None else (None, None)


def _keys(backend, endpoint_id: int, owner_id: int) -> list[str]:
    return [
        backend.make_and_validate_key(f"fibe:wh:slots:e{endpoint_id}"),
        backend.make_and_validate_key(f"fibe:wh:slots:a{owner_id}"),
    ]


def lease_seconds() -> float:
    """Longer than any attempt can run: its budget, the connect timeout and a margin."""
    return settings.WEBHOOKS_ATTEMPT_BUDGET + settings.WEBHOOKS_CONNECT_TIMEOUT + 30


def acquire(endpoint_id: int, owner_id: int, token: str | None = None) -> str | None:
    """A slot token, or None when the endpoint or its account already has its limit of
    attempts in flight. Passing the token of a slot already held for the same account takes
    the endpoint's slot under it without a second account slot (sends made one after another
    hold one slot of the account)."""
    limits = [settings.WEBHOOKS_ENDPOINT_CONCURRENCY, settings.WEBHOOKS_ACCOUNT_CONCURRENCY]
    backend, client = _client()
    if client is None or min(limits) <= 0:
        return UNLIMITED
    token, now = token or uuid.uuid4().hex, time.time()
    lease = lease_seconds()
    try:
        script = getattr(backend, "_fibe_slot_script", None)
        if script is None:
            script = backend._fibe_slot_script = client.register_script(ACQUIRE_LUA)
        got = script(
            keys=_keys(backend, endpoint_id, owner_id),
            args=[now, now + lease, token, int(lease * 1000), *limits],
        )
    except RedisError:
        logger.warning("webhook slots: Redis unavailable, sending without a slot")
        return UNLIMITED
    return token if got else None


def acquire_lanes(
    owner_id: int, endpoint_ids: list[int], lanes: list[int]
) -> tuple[list[str], list[int | None]]:
    """Slots for one account's endpoints in one Redis round trip: ``lanes`` gives each
    endpoint its lane (0 … n-1). Returns the lanes' tokens, and for each endpoint the lane
    whose token now holds its slot (its own, else any lane already holding an account slot),
    or None when the endpoint or the account had no slot free. Without Redis (or limits) every
    endpoint gets its own lane, under tokens that release nothing."""
    count = max(lanes, default=-1) + 1
    limits = [settings.WEBHOOKS_ENDPOINT_CONCURRENCY, settings.WEBHOOKS_ACCOUNT_CONCURRENCY]
    backend, client = _client()
    if client is None or min(limits) <= 0 or not endpoint_ids:
        return [UNLIMITED] * count, list(lanes)
    tokens, now, lease = [uuid.uuid4().hex for _ in range(count)], time.time(), lease_seconds()
    keys = [backend.make_and_validate_key(f"fibe:wh:slots:a{owner_id}")] + [
        backend.make_and_validate_key(f"fibe:wh:slots:e{pk}") for pk in endpoint_ids
    ]
    args = [now, now + lease, int(lease * 1000), *limits, count, *tokens, *(n + 1 for n in lanes)]
    try:
        script = getattr(backend, "_fibe_lanes_script", None)
        if script is None:
            script = backend._fibe_lanes_script = client.register_script(ACQUIRE_LANES_LUA)
        got = script(keys=keys, args=args)
    except RedisError:
        logger.warning("webhook slots: Redis unavailable, sending without a slot")
        return [UNLIMITED] * count, list(lanes)
    return tokens, [int(n) - 1 if int(n) else None for n in got]


def release(endpoint_id: int, owner_id: int, token: str | None) -> None:
    release_many([endpoint_id], owner_id, token)


def release_many(endpoint_ids, owner_id: int, token: str | None) -> None:
    if not token or token == UNLIMITED:
        return
    backend, client = _client()
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)  # one round trip
        keys = {key for pk in endpoint_ids for key in _keys(backend, pk, owner_id)}
        for key in keys:
            pipe.zrem(key, token)
        pipe.execute()
    except RedisError:
        pass  # the lease frees it
