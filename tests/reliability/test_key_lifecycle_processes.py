"""Rotation with an overlap and IP allow-lists across gunicorn worker processes, through every
door: REST, the MCP server (official SDK client) and the `fibe` CLI as a subprocess."""

import subprocess

import pytest
import requests

from fibe_access.accounts.actor import Actor, Source
from keys import services
from tests.mcp import client as mcp
from tests.reliability.test_key_cache_processes import burst
from tests.support.factories import UserFactory, api_key_make
from tests.support.servers import VENV_BIN

pytestmark = pytest.mark.reliability
CLI = Actor(user=None, source=Source.CLI)


def test_both_tokens_work_in_every_worker_during_the_overlap_and_stop_now_ends_the_old(
    app_server,
):
    server = app_server(workers=3)
    user = UserFactory()
    key, old = api_key_make(user, "playgrounds:read", rate_limit_per_minute=10**6)
    assert set(burst(server.url, old, 60)) == {200}  # every worker holds the old token's key
    key, new = services.key_rotate(actor=CLI, key=key, overlap="1h")
    assert set(burst(server.url, old, 60)) == {200}
    assert set(burst(server.url, new, 60)) == {200}
    services.key_end_overlap(actor=CLI, key=key)
    assert set(burst(server.url, old, 60)) == {401}
    assert set(burst(server.url, new, 60)) == {200}


def test_an_address_outside_the_list_is_refused_through_every_door(app_server, tmp_path):
    server = app_server(workers=2)
    user = UserFactory()
    _, refused = api_key_make(user, "mcp:access", "playgrounds:read", allowed_ips=["10.0.0.0/8"])
    _, allowed = api_key_make(
        user, "mcp:access", "playgrounds:read", allowed_ips=["127.0.0.0/8", "::1/128"]
    )
    # REST
    answer = requests.get(
        f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {refused}"}, timeout=30
    )
    assert answer.status_code == 403 and answer.json()["code"] == "ip_not_allowed"
    assert set(burst(server.url, allowed, 20)) == {200}
    # MCP, with the official SDK client
    assert "whoami" in mcp.tools(server.url + "/mcp", allowed)
    with pytest.raises(Exception):  # noqa: B017, PT011 - the SDK surfaces the 403 its own way
        mcp.tools(server.url + "/mcp", refused)
    raw = requests.post(
        server.url + "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
        headers={
            "Authorization": f"Bearer {refused}",
            "Accept": "application/json, text/event-stream",
        },
        timeout=30,
    )
    assert raw.status_code == 403 and raw.json()["code"] == "ip_not_allowed"
    # the CLI
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        "FIBE_API_URL": server.url,
        "LANG": "C.UTF-8",
    }
    ran = subprocess.run(  # noqa: S603 - our own console script
        [str(VENV_BIN / "fibe"), "whoami"],
        env={**env, "FIBE_API_KEY": refused},
        capture_output=True,
        timeout=60,
    )
    assert ran.returncode != 0 and b"may not be used from 127.0.0.1" in ran.stderr
    assert refused.encode() not in ran.stdout + ran.stderr
    ok = subprocess.run(  # noqa: S603
        [str(VENV_BIN / "fibe"), "whoami"],
        env={**env, "FIBE_API_KEY": allowed},
        capture_output=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
