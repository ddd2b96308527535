"""Per-key activity through a real server (issue 24): gunicorn workers buffer what each key did
and a background thread in each writes it in batches. A key used through REST, the `fibe` CLI
and the official MCP SDK client finds every call in its timeline and in `fibe activity`; under
50 concurrent clients nothing is lost while the buffer has room, and past it every dropped
entry is counted (rows written + drops counted = requests answered)."""

import json
import threading

import pytest
import requests

from keys import activity
from keys.activity_model import KeyActivity
from tests.cli.conftest import Fibe
from tests.mcp import client as mcp_client
from tests.support.appserver import AppServer, server_env
from tests.support.factories import UserFactory, api_key_make
from tests.support.servers import BASE_DIR, wait_until

pytestmark = pytest.mark.reliability
CLIENTS, EACH = 50, 4


@pytest.fixture
def start_server(transactional_db, redis_server, tmp_path, settings):
    """Factory: the project under gunicorn, sharing this process's Redis (the drop counter)."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_server.url,
        }
    }
    servers = []

    def start(**env) -> AppServer:
        server = AppServer(
            env=server_env(redis_server.url, **env), log=tmp_path / f"gunicorn{len(servers)}.log"
        )
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def _rows(key) -> list[tuple]:
    return list(
        KeyActivity.objects.filter(key=key).order_by("at", "id").values_list("door", "status")
    )


def test_rest_cli_and_mcp_calls_reach_the_timeline_and_fibe_activity(start_server, tmp_path):
    server = start_server(API_ACTIVITY_FLUSH_SECONDS="0.2")
    user = UserFactory()
    key, token = api_key_make(user, "playgrounds:manage", "mcp:access")
    auth = {"Authorization": f"Bearer {token}"}
    home = tmp_path / "home"
    home.mkdir()
    fibe = Fibe(home, server.url)
    fibe.env["PYTHONPATH"] = str(BASE_DIR)  # this checkout's CLI, whatever the venv points at

    assert requests.get(f"{server.url}/api/v1/playgrounds", headers=auth, timeout=30).ok
    assert fibe("whoami", env={"FIBE_API_KEY": token}).code == 0
    assert fibe("api", "GET", "playgrounds/999999999", env={"FIBE_API_KEY": token}).code != 0
    is_error, _ = mcp_client.call(server.url + "/mcp", token, "playgrounds_list")
    assert not is_error

    # written by the workers' background thread within a few flush periods
    expected = [("rest", 200), ("cli", 200), ("cli", 404), ("mcp", 200)]
    assert wait_until(lambda: _rows(key) == expected, timeout=30), _rows(key)
    shown = fibe("activity", "--json", env={"FIBE_API_KEY": token})
    assert shown.code == 0, shown
    items = json.loads(shown.out)["items"]
    assert [(i["door"], i["operation"], i["status"]) for i in items[-4:]] == [
        ("mcp", "playgrounds.list", 200),
        ("cli", "playgrounds.get", 404),
        ("cli", "me", 200),
        ("rest", "playgrounds.list", 200),
    ]
    table = fibe("activity", "--door", "cli", env={"FIBE_API_KEY": token})
    assert table.code == 0 and "playgrounds.get\t999999999\t404" in table.out


def _hammer(url: str, tokens: list[str]) -> int:
    """CLIENTS threads, EACH requests apiece; returns how many were answered 200."""
    answered = []

    def client(n: int):
        session = requests.Session()
        headers = {"Authorization": f"Bearer {tokens[n % len(tokens)]}"}
        for _ in range(EACH):
            if session.get(f"{url}/api/v1/me", headers=headers, timeout=60).status_code == 200:
                answered.append(1)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return len(answered)


def test_fifty_clients_lose_nothing_while_the_buffer_has_room(start_server):
    server = start_server(API_ACTIVITY_FLUSH_SECONDS="0.2")
    cache_key = activity.DROPPED
    from django.core.cache import cache

    cache.delete(cache_key)
    keys = [
        api_key_make(UserFactory(), "playgrounds:read", rate_limit_per_minute=10**6)
        for _ in range(5)
    ]
    sent = _hammer(server.url, [t for _, t in keys])
    assert sent == CLIENTS * EACH
    written = lambda: KeyActivity.objects.filter(key__in=[k for k, _ in keys]).count()  # noqa: E731
    assert wait_until(lambda: written() == sent, timeout=60), written()
    assert activity.dropped_total() == 0


def test_past_the_buffer_entries_are_dropped_and_counted_not_waited_for(start_server):
    # a buffer of 30 entries per worker that is only written when the workers stop
    server = start_server(
        API_ACTIVITY_BUFFER="30",
        API_ACTIVITY_FLUSH_SECONDS="3600",
        API_ACTIVITY_FLUSH_BATCH="100000",
    )
    from django.core.cache import cache

    cache.delete(activity.DROPPED)
    key, token = api_key_make(UserFactory(), "playgrounds:read", rate_limit_per_minute=10**6)
    sent = _hammer(server.url, [token])
    assert sent == CLIENTS * EACH  # every request answered, full buffer or not
    assert KeyActivity.objects.filter(key=key).count() == 0

    server.stop()  # each worker writes what it holds as it exits

    written = KeyActivity.objects.filter(key=key).count()
    assert 0 < written <= 2 * 30
    assert written + activity.dropped_total() == sent
