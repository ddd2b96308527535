"""The key cache and the change channel (keys.cache, keys.changes): a cached key is used with no
query and no Redis round trip, and dropped from the moment any process changes it.

"Another process" here is what it sends: ``changes.send`` puts a notice on Redis without
applying it in this process, so this process learns of it only through its subscription, as a
gunicorn worker does (tests/reliability/test_key_changes_processes.py does it across processes).
"""

import logging
import socket
import sys
import threading

from django.db import connection
from django.test.utils import CaptureQueriesContext

from fibe_access.accounts.actor import Actor, Source
from fibe_access.redis import redis_backend, redis_client
from keys import cache, changes, services
from keys.models import ApiKey
from tests.keys.test_auth import assert_invalid_token
from tests.support.factories import api_key_make
from tests.support.proxy import StallingProxy

CLI = Actor(user=None, source=Source.CLI)


def key_queries(queries) -> int:
    return sum('FROM "keys_apikey"' in q["sql"] for q in queries)


def assert_each_request_reads_the_key(client, n: int) -> None:
    with CaptureQueriesContext(connection) as queries:
        for _ in range(n):
            assert client.get("/api/v1/me").status_code == 200
    assert key_queries(queries) == n


def cached_key(user, api_client):
    key, token = api_key_make(user, "playgrounds:read")
    client = api_client(token)
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    assert key.digest in cache._local
    return key, client


def test_a_cached_key_costs_no_query_and_no_redis_round_trip(user, api_client, monkeypatch):
    key, client = cached_key(user, api_client)
    sent = []
    real = type(redis_client(redis_backend())).execute_command
    monkeypatch.setattr(
        type(redis_client(redis_backend())),
        "execute_command",
        lambda self, *args, **kw: sent.append(args[0]) or real(self, *args, **kw),
    )
    with CaptureQueriesContext(connection) as queries:
        for _ in range(20):
            assert client.get("/api/v1/me").status_code == 200
    assert key_queries(queries) == 0
    # the default limit (600 a minute) settles every 6 requests: 20 requests, at most 4 trips
    assert len(sent) <= 4


def test_a_change_another_process_commits_applies_to_the_next_request(user, api_client):
    # given a key this process holds
    key, client = cached_key(user, api_client)
    name = cache.cache_name(key.digest)
    # when another process revokes it: flags, commits, announces
    changes.send(changes.BEGIN, name)
    ApiKey.objects.filter(pk=key.pk).update(status=ApiKey.Status.REVOKED)
    changes.send(changes.DONE, name)
    assert key.digest in cache._local  # nothing has told this process directly
    # then the very next request is refused
    assert_invalid_token(client.get("/api/v1/me"))


def test_a_change_in_flight_is_read_from_the_database_on_every_request(user, api_client):
    # given a key this process holds, and another process that has flagged a change
    key, client = cached_key(user, api_client)
    changes.send(changes.BEGIN, cache.cache_name(key.digest))
    # then until it says done, every request reads the key (and keeps no copy)
    assert_each_request_reads_the_key(client, 3)
    # and when its change commits, the next request sees it
    ApiKey.objects.filter(pk=key.pk).update(status=ApiKey.Status.EXPIRED)
    assert_invalid_token(client.get("/api/v1/me"))


def test_a_key_service_flags_before_commit_and_announces_after(
    user, api_client, django_capture_on_commit_callbacks
):
    key, client = cached_key(user, api_client)
    name = cache.cache_name(key.digest)
    backend = redis_backend()
    _, changing = changes._names(backend)

    def in_flight() -> bool:
        return redis_client(backend).zscore(changing, name) is not None

    with django_capture_on_commit_callbacks(execute=True):
        services.key_expire_now(actor=CLI, key=key)
        assert in_flight()  # before the commit: every process reads it from the database
        assert not changes.listener.trusted(name)
    assert not in_flight()
    assert changes.listener.trusted(name)
    assert_invalid_token(client.get("/api/v1/me"))


def test_a_process_that_subscribes_late_learns_the_changes_in_flight(user, api_client):
    # given a change flagged while this process was not listening (a fresh process)
    key, client = cached_key(user, api_client)
    changes.listener.reset()
    changes.send(changes.BEGIN, cache.cache_name(key.digest))
    # when it subscribes (on its next request), it reads what is in flight and trusts no copy
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/me").status_code == 200
        assert client.get("/api/v1/me").status_code == 200
    assert key_queries(queries) == 2
    assert not changes.listener.trusted(cache.cache_name(key.digest))


def test_a_lost_subscription_drops_every_copy_so_missed_changes_still_apply(user, api_client):
    # given a key this process holds
    key, client = cached_key(user, api_client)
    # when its subscription is cut (Redis restarted, a proxy timed out) and a change is made
    # while it is away, so the notice never reaches it
    host, port = changes.listener.pubsub.connection._sock.getsockname()[:2]
    redis_client(redis_backend()).execute_command("CLIENT", "KILL", "ADDR", f"{host}:{port}")
    ApiKey.objects.filter(pk=key.pk).update(status=ApiKey.Status.REVOKED)
    changes.send(changes.DONE, cache.cache_name(key.digest))
    # then the next request notices the loss, reads the key again and refuses it
    assert_invalid_token(client.get("/api/v1/me"))


def test_with_redis_down_requests_are_served_and_revocation_still_applies(
    user, api_client, own_redis
):
    # given a key this process holds, on a Redis that then goes away
    key, client = cached_key(user, api_client)
    own_redis.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", own_redis.port)) != 0
    # then requests are served (not counted: fail open), each reading the key again
    assert_each_request_reads_the_key(client, 3)
    # and a revocation applies at once
    ApiKey.objects.filter(pk=key.pk).update(status=ApiKey.Status.REVOKED)
    assert_invalid_token(client.get("/api/v1/me"))


def test_flags_of_rolled_back_changes_do_not_pile_up(monkeypatch):
    # given many changes that began and never said done (rolled back), their flags lapsed
    monkeypatch.setattr(changes, "MAX_CHANGING", 10)
    listener = changes.Listener()
    for i in range(10):
        listener.receive(changes.BEGIN, f"rolled-back-{i}")
    listener.changing = {name: 0.0 for name in listener.changing}  # lapsed long ago
    # when another change begins, the lapsed flags go and the new one stays
    listener.receive(changes.BEGIN, "current")
    assert list(listener.changing) == ["current"]
    assert not listener.trusted("current")


def test_dropping_copies_while_request_threads_insert_them_never_fails(user, monkeypatch):
    # given a key this process reads again and again, and a short thread switch interval
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    monkeypatch.setattr(cache, "LOCAL_MAX", 10**6)
    key, _ = api_key_make(user, "playgrounds:read")
    entry = cache.Entry(ApiKey.objects.select_related("owner").get(pk=key.pk))
    stop = threading.Event()
    errors = []

    def insert(worker: int):
        digests = [f"{worker:02d}{i:062d}" for i in range(2_000)]
        try:
            while not stop.is_set():
                for digest in digests:
                    cache._keep(digest, entry)
        except Exception as exc:  # noqa: BLE001 - the failure this test looks for
            errors.append(exc)

    threads = [threading.Thread(target=insert, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    try:
        # when events about keys are received meanwhile (each walks the copies)
        for i in range(100):
            changes.listener.receive(changes.DONE, f"{i % 4:02d}{i:010d}")
    except Exception as exc:  # noqa: BLE001
        errors.append(exc)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        sys.setswitchinterval(switch)
        cache.drop(None)
    # then no walk ever met a dict changing under it
    assert errors == []


def test_a_revoke_whose_redis_is_black_holed_commits_and_says_it_could_not_tell_anyone(
    user, api_client, redis_server, settings, caplog, django_capture_on_commit_callbacks
):
    # given a process whose only way to Redis black-holes every packet (nothing is closed)
    proxy = StallingProxy(redis_server.port)
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": proxy.url()}}
    settings.REDIS_TIMEOUT_SECONDS = 0.5
    key, client = cached_key(user, api_client)
    proxy.stall()
    try:
        # when a key is revoked there (each try to tell the others gives up at the timeout)
        with caplog.at_level(logging.ERROR, logger="keys.changes"):
            with django_capture_on_commit_callbacks(execute=True):
                services.key_revoke(actor=CLI, key=key)
    finally:
        proxy.stop()
    # then the revocation is committed, and the failure to announce it is an error, not silence
    assert ApiKey.objects.get(pk=key.pk).status == ApiKey.Status.REVOKED
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("could not send the begin" in m for m in errors), errors
    assert any("could not send the done" in m for m in errors), errors
    assert_invalid_token(client.get("/api/v1/me"))
