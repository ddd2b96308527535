"""Across gunicorn worker processes (threads too), with no Redis round trip per request: a key
changed through the key services is refused by every worker from the commit on, also when a
worker's connection to Redis is black-holed (within API_KEY_CHANNEL_TRUST_SECONDS, no request
waiting on Redis past its timeout), and the per-minute limit holds within its stated tolerance
(keys/ratelimit.py)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from fibe_access.accounts.actor import Actor, Source
from keys import ratelimit, services
from tests.support.factories import UserFactory, api_key_make
from tests.support.proxy import StallingProxy

pytestmark = pytest.mark.reliability
CLI = Actor(user=None, source=Source.CLI)


def get_me(session: requests.Session, base: str, token: str) -> int:
    response = session.get(
        f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return response.status_code


def burst(base: str, token: str, n: int, threads: int = 8) -> list[int]:
    local = threading.local()

    def one(_):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return get_me(local.session, base, token)

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.parametrize("change", ["revoke", "expire_now", "rotate", "delete"])
def test_every_worker_refuses_a_changed_key_from_the_commit_on(app_server, change):
    server = app_server(workers=3)
    user = UserFactory()
    key, token = api_key_make(user, "playgrounds:read", rate_limit_per_minute=10**6)
    # given every worker serving the key (and holding it) under steady load
    assert set(burst(server.url, token, 60)) == {200}
    seen: list[tuple[float, float, int]] = []  # (sent, answered, status)
    stop = threading.Event()

    def load():
        session = requests.Session()
        while not stop.is_set():
            sent = time.monotonic()
            status = get_me(session, server.url, token)
            seen.append((sent, time.monotonic(), status))

    workers = [threading.Thread(target=load) for _ in range(6)]
    for w in workers:
        w.start()
    time.sleep(0.5)
    # when the key changes through its service (this process shares the workers' Redis)
    changing = time.monotonic()
    getattr(services, f"key_{change}")(actor=CLI, key=key)
    committed = time.monotonic()
    time.sleep(0.5)
    stop.set()
    for w in workers:
        w.join(30)
    # then every request sent after the commit is refused, whichever worker took it
    after = [status for sent, _, status in seen if sent > committed]
    before = [status for _, answered, status in seen if answered < changing]
    assert len(after) > 20 and set(after) == {401}, after
    assert len(before) > 20 and set(before) == {200}


def test_the_limit_holds_across_workers_within_the_stated_tolerance(app_server):
    workers, limit = 3, 1_000
    batch = max(1, min(ratelimit.MAX_BATCH, limit // 100))
    server = app_server(workers=workers)
    user = UserFactory()
    _, token = api_key_make(user, "playgrounds:read", rate_limit_per_minute=limit)
    requests.get(f"{server.url}/api/v1/", timeout=10)  # workers up
    # start early in a minute, so the whole burst falls in one window
    if time.time() % 60 > 40:
        time.sleep(60 - time.time() % 60 + 0.5)
    started = time.time()
    statuses = burst(server.url, token, limit + 300)
    assert int(started // 60) == int(time.time() // 60), "the burst straddled a minute"
    served = statuses.count(200)
    # never fewer than the limit, at most a batch per worker more; the rest refused
    assert limit <= served <= limit + batch * workers, served
    assert statuses.count(429) == len(statuses) - served


def test_a_worker_whose_redis_connection_is_black_holed_refuses_a_revoked_key_within_the_bound(
    app_server, redis_server
):
    timeout, trust = 1.0, 3.0
    proxy = StallingProxy(redis_server.port)
    try:
        # given a worker that reaches Redis only through a proxy, holding a key it serves (and
        # keeping it far longer than the bound: API_KEY_CACHE_SECONDS=60)
        server = app_server(
            workers=1,
            REDIS_URL=proxy.url(),
            REDIS_TIMEOUT_SECONDS=timeout,
            API_KEY_CHANNEL_TRUST_SECONDS=trust,
            API_KEY_CACHE_SECONDS=60,
        )
        key, token = api_key_make(UserFactory(), "playgrounds:read", rate_limit_per_minute=10**6)
        assert set(burst(server.url, token, 40, threads=4)) == {200}
        # when the network between the worker and Redis black-holes every packet (nothing is
        # closed), and then the key is revoked by a process that reaches Redis
        proxy.stall()
        services.key_revoke(actor=CLI, key=key)
        committed = time.monotonic()
        seen: list[tuple[float, float, int]] = []  # (sent, answered, status)

        def load():
            session = requests.Session()
            while time.monotonic() < committed + trust + 3:
                sent = time.monotonic()
                status = get_me(session, server.url, token)
                seen.append((sent, time.monotonic(), status))

        clients = [threading.Thread(target=load) for _ in range(4)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(60)
    finally:
        proxy.stop()
    # then every request sent once the bound has passed is refused
    late = [status for sent, _, status in seen if sent >= committed + trust]
    assert len(late) > 10 and set(late) == {401}, late
    # and none waited on Redis much past its timeout (the rest is this busy machine)
    slowest = max(answered - sent for sent, answered, _ in seen)
    assert slowest < timeout + 1.5, slowest
