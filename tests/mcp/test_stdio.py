"""`fibe mcp`: the official SDK's stdio client runs `.venv/bin/fibe mcp` as a subprocess,
which relays to a real server's /mcp with the key from the environment or the login file."""

import json
import os
import subprocess

import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from fibe_access.resources.models import Playspec
from tests.support.factories import api_key_make, resource_make
from tests.support.servers import VENV_BIN

from . import client

pytestmark = pytest.mark.django_db(transaction=True)
FIBE = str(VENV_BIN / "fibe")


def _env(tmp_path, **extra):
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
        **extra,
    }


def _session(env, *args, work):
    params = StdioServerParameters(command=FIBE, args=["mcp", *args], env=env)

    async def main():
        async with (
            stdio_client(params) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await work(session)

    return client.run(main)


def test_stdio_bridge_lists_and_calls_the_keys_tools(mcp_server, user, tmp_path):
    spec = resource_make(Playspec, user, name="nightly")
    _, token = api_key_make(user, "mcp:access", "playspecs:read")
    env = _env(tmp_path, FIBE_API_URL=mcp_server.url, FIBE_API_KEY=token)

    async def work(session):
        names = {t.name for t in (await session.list_tools()).tools}
        got = await session.call_tool("playspecs_get", {"id": spec.pk})
        denied = await session.call_tool("playspecs_delete", {"id": spec.pk})
        return names, got, denied

    names, got, denied = _session(env, work=work)
    assert names == {"playspecs_list", "playspecs_get", "whoami", "me_activity"}
    assert not got.is_error and json.loads(got.content[0].text)["name"] == "nightly"
    assert denied.is_error and json.loads(denied.content[0].text)["status"] == 403


def test_stdio_bridge_uses_the_login_file_and_narrows(mcp_server, user, tmp_path):
    _, token = api_key_make(user, "mcp:access", "playspecs:manage", "webhooks:read")
    config = tmp_path / "xdg" / "fibe"
    config.mkdir(parents=True, mode=0o700)
    (config / "config.json").write_text(json.dumps({"url": mcp_server.url, "key": token}))
    (config / "config.json").chmod(0o600)

    async def work(session):
        return {t.name for t in (await session.list_tools()).tools}

    names = _session(_env(tmp_path), "--readonly", "--toolsets", "webhooks", work=work)
    assert names == {
        "webhooks_list",
        "webhooks_get",
        "webhooks_deliveries",
        "webhooks_event_types",
        "webhooks_listen_events",
        "whoami",
    }


def test_refused_key_fails_on_stderr_with_the_auth_exit_code(mcp_server, user, tmp_path):
    _, token = api_key_make(user, "playspecs:read")  # no mcp:access
    env = _env(tmp_path, FIBE_API_URL=mcp_server.url, FIBE_API_KEY=token)
    proc = subprocess.run(
        [FIBE, "mcp"], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 5 and "mcp:access" in proc.stderr, proc.stderr
    assert token not in proc.stderr + proc.stdout and "Traceback" not in proc.stderr
    env["FIBE_API_KEY"] = token[:-4] + "AAAA"
    proc = subprocess.run(
        [FIBE, "mcp"], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 4, proc.stderr
