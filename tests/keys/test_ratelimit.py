"""The per-key limit counted with a local allowance (keys.ratelimit): batched with Redis, exact in
one process (threads included), other processes' counts seen at the next settling, per process
and exact without Redis.

Counts are asked for at a fixed time inside a window (``now=``), so no test straddles a minute.
"""

import math
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from fibe_access import redis as shared
from fibe_access.redis import redis_backend, redis_client
from keys import ratelimit


@pytest.fixture
def name():
    return secrets.token_hex(12)


@pytest.fixture
def now():
    """Ten seconds into the next window, so ``now + a few seconds`` stays inside it."""
    return (math.floor(time.time() / 60) + 1) * 60 + 10.0


def shared_count(name: str, now: float) -> int:
    backend = redis_backend()
    counter = backend.make_and_validate_key(f"fibe:rl:{name}:{int(now // 60)}")
    return int(redis_client(backend).get(counter) or 0)


def other_processes_count(name: str, now: float, n: int) -> None:
    """What other workers' settling does: add their counts to the shared total."""
    backend = redis_backend()
    counter = backend.make_and_validate_key(f"fibe:rl:{name}:{int(now // 60)}")
    redis_client(backend).incrby(counter, n)


def test_in_one_process_a_batched_limit_is_exact(name, now, db):
    # given a limit of 300 a minute (counted in batches of 3)
    allowed = [ratelimit.hit(name, 300, now=now).allowed for _ in range(310)]
    # then exactly the first 300 are served
    assert allowed == [True] * 300 + [False] * 10
    assert shared_count(name, now) == 310  # refused requests are counted too


def test_a_small_limit_is_counted_in_redis_on_every_request(name, now, db):
    for i in range(1, 6):
        assert ratelimit.hit(name, 150, now=now).count == i
        assert shared_count(name, now) == i


def test_counts_settle_once_a_batch_or_once_a_second(name, now, db):
    # given a key allowed 10 000 a minute (batches of 100)
    first = ratelimit.hit(name, 10_000, now=now)
    assert first.count == 1 and shared_count(name, now) == 1  # a new window settles at once
    # when it makes 49 more requests within the second, they are counted here only
    usages = [ratelimit.hit(name, 10_000, now=now + 0.5) for _ in range(49)]
    assert [u.count for u in usages] == list(range(2, 51))
    assert shared_count(name, now) == 1
    # then the first request a second after the last settling sends them all
    assert ratelimit.hit(name, 10_000, now=now + 1.5).count == 51
    assert shared_count(name, now) == 51
    # and a full batch settles without waiting for the second
    for _ in range(100):
        ratelimit.hit(name, 10_000, now=now + 1.6)
    assert shared_count(name, now) == 151


def test_what_other_processes_counted_is_seen_within_one_batch(name, now, db):
    # given a key allowed 1 000 a minute (batches of 10), served once here
    assert ratelimit.hit(name, 1_000, now=now).allowed
    # when other workers have used up the rest of its minute
    other_processes_count(name, now, 999)
    # then this process serves at most a batch more before it settles and refuses
    allowed = [ratelimit.hit(name, 1_000, now=now + 0.1).allowed for _ in range(30)]
    served = allowed.count(True)
    assert served <= ratelimit.MAX_BATCH and served <= 1_000 // 100
    assert allowed == [True] * served + [False] * (30 - served)


def test_near_its_limit_every_request_settles(name, now, db):
    # given a key allowed 1 000 a minute that other workers have brought to 985
    other_processes_count(name, now, 985)
    # then each request here is counted in Redis as it comes (985 > 1000 - batch)
    for i in range(1, 20):
        usage = ratelimit.hit(name, 1_000, now=now)
        assert usage.count == 985 + i
        assert usage.allowed == (985 + i <= 1_000)
    assert shared_count(name, now) == 985 + 19


def test_a_new_window_starts_from_zero(name, now, db):
    for _ in range(5):
        ratelimit.hit(name, 5, now=now)
    assert not ratelimit.hit(name, 5, now=now).allowed
    assert ratelimit.hit(name, 5, now=now + 60).count == 1


def test_with_redis_stopped_each_process_enforces_the_limit_exactly(name, now, db, own_redis):
    # given the project's Redis gone before a key's first request of the minute
    own_redis.stop()
    # when it makes more requests than its limit (small: settled on every request; large:
    # in batches), each process counts them itself
    small = [ratelimit.hit(name, 5, now=now) for _ in range(8)]
    large = [ratelimit.hit(name + "-l", 1_000, now=now) for _ in range(1_010)]
    # then exactly the limit is served, and the headers count down to 0
    assert [u.allowed for u in small] == [True] * 5 + [False] * 3
    assert [u.remaining for u in small] == [4, 3, 2, 1, 0, 0, 0, 0]
    assert [u.allowed for u in large] == [True] * 1_000 + [False] * 10


def test_what_a_process_counted_while_redis_was_away_is_sent_when_it_is_back(
    name, now, db, own_redis, tmp_path, monkeypatch
):
    monkeypatch.setattr(shared, "AWAY_SECONDS", 0.0)  # try Redis again on the next request
    own_redis.stop()
    for _ in range(3):
        ratelimit.hit(name, 150, now=now)
    own_redis.start_again_empty(tmp_path / "redis-again")
    assert ratelimit.hit(name, 150, now=now).count == 4
    assert shared_count(name, now) == 4


def test_thirty_two_threads_in_one_process_are_served_at_most_the_limit(name, now, db):
    # given a key allowed 600 a minute (batches of 6) and 32 threads sending 800 requests
    # at once through one process
    start = threading.Barrier(32)

    def client(n: int) -> list[bool]:
        start.wait()
        return [ratelimit.hit(name, 600, now=now).allowed for _ in range(n)]

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(client, [25] * 32))
    # then exactly 600 are served: no thread decided against a total another was settling
    served = sum(r.count(True) for r in results)
    assert served == 600
    assert shared_count(name, now) == 800
