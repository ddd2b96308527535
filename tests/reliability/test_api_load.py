"""The API under load from 50 concurrent clients against a real server (gunicorn, 2 workers ×
8 threads, on loopback) with committed data, and keys changed while requests are in flight.

Figures are printed (run with ``-s``) and asserted; nothing here is timed."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
import requests
from django.db import connection

from fibe_access.accounts.actor import Actor, Source
from fibe_access.resources.models import Playground, Playspec
from keys import services
from keys.models import ApiKey
from tests.support.factories import UserFactory, api_key_make, resource_make

CLIENTS = 50
KEYS = 20
HAMMER_SECONDS = 30
SMALL_LIMIT = 10
CLI = Actor(user=None, source=Source.CLI)


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    created: Counter = field(default_factory=Counter)  # 201s by operation
    errors: list = field(default_factory=list)  # transport errors
    limited: list = field(default_factory=list)  # 429 responses' headers
    small_ok: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _count_key_updates_with_a_trigger():
    with connection.cursor() as cur:
        cur.execute("""
            CREATE TABLE rel_apikey_updates (key_id bigint, last_used_at timestamptz,
                                             at timestamptz DEFAULT clock_timestamp());
            CREATE FUNCTION rel_apikey_updated() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN INSERT INTO rel_apikey_updates (key_id, last_used_at)
                  VALUES (NEW.id, NEW.last_used_at); RETURN NEW; END $$;
            CREATE TRIGGER rel_apikey_updated AFTER UPDATE ON keys_apikey
                FOR EACH ROW EXECUTE FUNCTION rel_apikey_updated();""")


def _drop_trigger():
    with connection.cursor() as cur:
        cur.execute("""DROP TRIGGER IF EXISTS rel_apikey_updated ON keys_apikey;
                       DROP FUNCTION IF EXISTS rel_apikey_updated();
                       DROP TABLE IF EXISTS rel_apikey_updates;""")


@pytest.fixture
def key_update_log(transactional_db):
    _count_key_updates_with_a_trigger()
    yield
    _drop_trigger()


def _key_updates() -> Counter:
    with connection.cursor() as cur:
        cur.execute("SELECT key_id, count(*) FROM rel_apikey_updates GROUP BY key_id")
        return Counter(dict(cur.fetchall()))


@pytest.mark.reliability
@pytest.mark.timeout(180)
def test_fifty_clients_hammering_create_launch_list_for_30s(app_server, key_update_log):
    # given 20 owners' keys (limit out of reach) with a playspec each, and one small-limit key
    keys = []
    for i in range(KEYS):
        owner = UserFactory()
        spec = resource_make(Playspec, owner)
        _, token = api_key_make(
            owner,
            "playgrounds:manage",
            "launch:write",
            label=f"load {i}",
            rate_limit_per_minute=1_000_000,
        )
        keys.append((token, spec.pk))
    small_owner = UserFactory()
    small_key, small_token = api_key_make(
        small_owner, "playgrounds:read", label="small", rate_limit_per_minute=SMALL_LIMIT
    )
    server = app_server()
    tally = Tally()
    stop_at = time.monotonic() + HAMMER_SECONDS
    started_epoch = time.time()

    def client(n: int):
        rng = random.Random(n)
        session = requests.Session()
        token, spec_id = keys[n % KEYS]
        auth = {"Authorization": f"Bearer {token}"}
        while time.monotonic() < stop_at:
            op = "small" if n == 0 else rng.choice(["create", "launch", "list"])
            try:
                if op == "create":
                    r = session.post(
                        f"{server.url}/api/v1/playgrounds",
                        headers=auth,
                        json={"name": f"c{n}", "description": "load"},
                        timeout=30,
                    )
                elif op == "launch":
                    r = session.post(
                        f"{server.url}/api/v1/playspecs/{spec_id}/launch",
                        headers=auth,
                        json={"name": f"l{n}"},
                        timeout=30,
                    )
                elif op == "list":
                    r = session.get(
                        f"{server.url}/api/v1/playgrounds?limit=20", headers=auth, timeout=30
                    )
                else:
                    r = session.get(
                        f"{server.url}/api/v1/playgrounds",
                        headers={"Authorization": f"Bearer {small_token}"},
                        timeout=30,
                    )
                    time.sleep(0.2)
            except requests.RequestException as exc:
                with tally.lock:
                    tally.errors.append(f"{op}: {exc!r}")
                continue
            with tally.lock:
                tally.statuses[r.status_code] += 1
                if r.status_code == 201:
                    tally.created[op] += 1
                if op == "small":
                    if r.status_code == 429:
                        tally.limited.append(dict(r.headers))
                    elif r.status_code == 200:
                        tally.small_ok += 1

    # when 50 clients hammer the API for 30 s
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HAMMER_SECONDS + 60)
    assert not any(t.is_alive() for t in threads)
    ended_epoch = time.time()
    total = sum(tally.statuses.values())
    print(
        f"\n{CLIENTS} clients, {HAMMER_SECONDS} s: {total} requests "
        f"({total / HAMMER_SECONDS:.0f}/s), statuses {dict(sorted(tally.statuses.items()))}, "
        f"created {dict(tally.created)}, transport errors {len(tally.errors)}"
    )

    # then no server error and no dropped connection
    assert not [s for s in tally.statuses if s >= 500], tally.statuses
    assert tally.errors == [], tally.errors[:5]
    assert tally.created["create"] > 0 and tally.created["launch"] > 0
    # and no lost write: one playground row per 201
    assert Playground.objects.count() == tally.created["create"] + tally.created["launch"]
    # and the small key was held to its limit with the headers a client needs
    windows = int(ended_epoch // 60) - int(started_epoch // 60) + 1
    assert tally.limited, "the small-limit key never got a 429"
    assert 0 < tally.small_ok <= SMALL_LIMIT * windows
    for headers in tally.limited:
        assert 1 <= int(headers["Retry-After"]) <= 60
        assert headers["X-RateLimit-Limit"] == str(SMALL_LIMIT)
        assert headers["X-RateLimit-Remaining"] == "0"
        assert int(headers["X-RateLimit-Reset"]) > started_epoch
    # and each key's last-used was written once in those 30 s (at most once a minute)
    updates = _key_updates()
    used = set(ApiKey.objects.exclude(last_used_at=None).values_list("pk", flat=True))
    print(
        f"key row UPDATEs during the run: {sum(updates.values())} for {len(used)} keys used "
        f"(small key answered 200 ×{tally.small_ok}, 429 ×{len(tally.limited)})"
    )
    assert len(used) == KEYS + 1
    assert set(updates) == used
    assert max(updates.values()) == 1
    small_key.refresh_from_db()
    assert small_key.last_used_ip == "127.0.0.1"


@dataclass
class Shot:
    started: float
    status: int | None


def _hammer(url: str, token: str, shots: list[Shot], stop: threading.Event):
    session = requests.Session()
    while not stop.is_set():
        started = time.monotonic()
        try:
            status = session.get(
                f"{url}/api/v1/playgrounds?limit=5",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ).status_code
        except requests.RequestException:
            status = None
        shots.append(Shot(started, status))


@pytest.mark.reliability
@pytest.mark.timeout(120)
@pytest.mark.parametrize("change", ["rotate", "expire", "revoke", "delete"])
def test_no_request_succeeds_with_a_dead_key_after_the_change_commits(change, app_server):
    # given a key in use by 8 clients at once
    owner = UserFactory()
    key, token = api_key_make(owner, "playgrounds:read", rate_limit_per_minute=1_000_000)
    server = app_server()
    shots: list[Shot] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_hammer, args=(server.url, token, shots, stop)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    time.sleep(2)
    # when the owner's change commits (the service's transaction has returned)
    if change == "rotate":
        _, new_token = services.key_rotate(actor=CLI, key=key)
    elif change == "expire":
        services.key_expire_now(actor=CLI, key=key)
    elif change == "revoke":
        services.key_revoke(actor=CLI, key=key)
    else:
        services.key_delete(actor=CLI, key=key)
    committed = time.monotonic()
    time.sleep(2)
    stop.set()
    for t in threads:
        t.join(40)
    before = [s for s in shots if s.started < committed]
    after = [s for s in shots if s.started >= committed]
    print(
        f"\n{change}: {len(before)} requests before the commit "
        f"({Counter(s.status for s in before)}), {len(after)} after "
        f"({Counter(s.status for s in after)})"
    )
    # then the key worked before, and not one request started after the commit succeeded
    assert sum(s.status == 200 for s in before) > 10
    assert len(after) > 10
    assert [s for s in after if s.status != 401] == []
    assert not any(s.status is None or s.status >= 500 for s in shots)
    if change == "rotate":  # the new secret works at once
        r = requests.get(
            f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {new_token}"}, timeout=10
        )
        assert r.status_code == 200
