"""With keys cached per process (API_KEY_CACHE_SECONDS), a change made through the key services
still stops the key in every web process from its commit on: gunicorn with two workers and the
test process share one Redis, as every deployment shares REDIS_URL."""

import threading
import time
from collections import Counter

import pytest
import requests

from fibe_access.accounts.actor import Actor, Source
from keys import services
from tests.factories import UserFactory, api_key_make
from tests.reliability.conftest import app_server, private_redis  # noqa: F401 - fixtures
from tests.reliability.test_api_load import Shot, _hammer

CLI = Actor(user=None, source=Source.CLI)


@pytest.mark.reliability
@pytest.mark.timeout(120)
@pytest.mark.parametrize("change", ["rotate", "expire", "revoke", "delete"])
def test_cached_key_fails_in_every_process_once_the_change_commits(
    change,
    app_server,  # noqa: F811 - the fixture imported above
    private_redis,  # noqa: F811
    settings,
):
    # given this process signalling through the servers' Redis, and keys cached for long
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": private_redis.url,
        }
    }
    server = app_server(API_KEY_CACHE_SECONDS=300)
    owner = UserFactory()
    key, token = api_key_make(owner, "playgrounds:read", rate_limit_per_minute=1_000_000)
    shots: list[Shot] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_hammer, args=(server.url, token, shots, stop)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    time.sleep(2)
    # when the change commits
    if change == "rotate":
        services.key_rotate(actor=CLI, key=key)
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
        f"\n{change}: before {Counter(s.status for s in before)}, "
        f"after {Counter(s.status for s in after)}"
    )
    # then the cached key served before, and nothing started after the commit succeeded
    assert sum(s.status == 200 for s in before) > 10
    assert len(after) > 10
    assert [s for s in after if s.status != 401] == []
    assert (
        requests.get(
            f"{server.url}/api/v1/me", timeout=10, headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 401
    )
