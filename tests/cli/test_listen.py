"""`fibe listen` and `fibe trigger` as a user runs them: the console script in a subprocess
against the project under gunicorn (its own, so it can be restarted) with a real Celery worker,
forwarding to a local receiver; the polling API from another client (plain requests)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from standardwebhooks.webhooks import Webhook

import tests.support.appserver as appserver
from fibe_access.accounts.actor import Actor, Source
from fibe_access.accounts.models import SecurityEvent
from fibe_access.resources import services as resources
from fibe_access.resources.models import Playspec
from tests.support.appserver import AppServer, server_env
from tests.support.servers import Receiver, free_port
from webhooks.models import ListenDelivery, ListenSession, WebhookEndpoint

from .conftest import FIBE

API = Actor(user=None, source=Source.API)
# The console script, with this checkout's fibe_cli (not the one installed in the venv).
BASE_ENV = {"PATH": os.environ["PATH"], "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
pytestmark = pytest.mark.timeout(180)


class Servers:
    """The project under gunicorn; ``restart`` stops it and brings it back on the same port."""

    def __init__(self, env: dict, folder):
        self.env, self.folder, self.all = env, folder, []
        self.start()

    @property
    def current(self) -> AppServer:
        return self.all[-1]

    @property
    def url(self) -> str:
        return self.current.url

    def start(self, port: int | None = None) -> None:
        original = appserver.free_port
        if port is not None:  # where the last one was, so the CLI finds it again
            appserver.free_port = lambda: port
        try:
            log = self.folder / f"gunicorn{len(self.all)}.log"
            self.all.append(AppServer(env=self.env, log=log, workers=1))
        finally:
            appserver.free_port = original


@pytest.fixture
def server(django_db_blocker, redis_server, tmp_path):
    with django_db_blocker.unblock():
        env = server_env(redis_server.url, DATABASE_CONN_MAX_AGE_SECONDS=0, API_KEY_CACHE_SECONDS=0)
    servers = Servers(env, tmp_path)
    yield servers
    for s in servers.all:
        s.stop()


class Listen:
    """`fibe listen` in the background; its stdout and stderr lines as they come."""

    def __init__(self, url: str, token: str, *args: str):
        self.proc = subprocess.Popen(
            [str(FIBE), "listen", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**BASE_ENV, "FIBE_API_URL": url, "FIBE_API_KEY": token},
            text=True,
        )
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        for stream in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60) -> str:
        for line in self.seen:
            if text in line:
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.proc.poll() is None, ("fibe listen exited", self.seen)
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} never shown: {self.seen}")

    def secret(self) -> str:
        return self.wait_for("Signing secret").rsplit(" ", 1)[1]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def listens():
    started = []
    yield lambda *a: started.append(Listen(*a)) or started[-1]
    for listen in started:
        listen.stop()


def wait_received(receiver: Receiver, count: int, timeout: float = 30) -> list:
    deadline = time.monotonic() + timeout
    while len(receiver.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return list(receiver.received)


def reported(count: int, timeout: float = 30) -> list[ListenDelivery]:
    """The listen delivery log once ``count`` rows carry the CLI's report."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = list(ListenDelivery.objects.filter(reported_at__isnull=False).order_by("id"))
        if len(rows) >= count:
            return rows
        time.sleep(0.1)
    raise AssertionError(f"{count} reports never arrived: {list(ListenDelivery.objects.all())}")


def playspec(user, name: str):
    return resources.resource_create(
        actor=API, model=Playspec, owner=user, name=name, config={"image": "python:3.11"}
    )


def test_an_api_write_reaches_the_local_receiver_verified_and_a_restart_loses_nothing(
    server, owner, make_token, receiver, listens
):
    token = make_token("webhooks:read", "playspecs:write")
    url = server.url
    listen = listens(url, token, "--forward-to", receiver.url, "--events", "playspec.created")
    verifier = Webhook(listen.secret())

    created = requests.post(
        url + "/api/v1/playspecs",
        json={"name": "from the api", "config": {"image": "python:3.11"}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    [got] = wait_received(receiver, 1)
    assert verifier.verify(got.body, got.headers)["data"]["name"] == "from the api"
    listen.wait_for("playspec.created")

    # the server goes away mid-session; events are published meanwhile; it comes back
    port = server.current.port
    server.current.stop()
    listen.wait_for("Lost the API")
    playspec(owner, "while down 1")
    playspec(owner, "while down 2")
    server.start(port)
    bodies = [json.loads(r.body) for r in wait_received(receiver, 3)]
    playspec(owner, "after")
    got = wait_received(receiver, 4)

    names = [json.loads(r.body)["data"]["name"] for r in got]
    assert names == ["from the api", "while down 1", "while down 2", "after"], bodies
    assert len({r.headers["webhook-id"] for r in got}) == 4
    for r in got:
        verifier.verify(r.body, r.headers)
    time.sleep(1)  # nothing more comes (no event twice)
    assert len(receiver.received) == 4
    # each forward is in the delivery log, as the CLI reported it
    log = reported(4)
    assert [str(r.uid) for r in log] == [r.headers["webhook-id"] for r in got]
    assert {(r.status, r.response_status, r.attempt_count) for r in log} == {("succeeded", 200, 1)}


def test_a_receiver_that_is_down_is_reported_and_retried(server, owner, make_token, listens):
    port = free_port()
    listen = listens(
        server.url, make_token("webhooks:read"), "--forward-to", f"http://127.0.0.1:{port}/h"
    )
    listen.secret()

    playspec(owner, "first")
    listen.wait_for("is down")
    receiver = Receiver(port=port)
    try:
        line = listen.wait_for("-> 200")
        assert "playspec.created" in line
        assert json.loads(wait_received(receiver, 1)[0].body)["data"]["name"] == "first"
    finally:
        receiver.stop()
    assert listen.proc.poll() is None  # not fatal
    [row] = reported(1)
    assert (row.status, row.response_status) == ("succeeded", 200) and row.attempt_count >= 2


@pytest.mark.parametrize("confirm", [False, True], ids=["plain", "confirm-destructive"])
def test_ctrl_c_ends_the_session_and_exits_130(
    server, owner, make_token, listens, receiver, confirm
):
    # a key whose destructive calls wait for a person still ends its own session at once
    token = make_token("webhooks:read", confirm_destructive=confirm)
    listen = listens(server.url, token, "--forward-to", receiver.url)
    listen.secret()
    assert ListenSession.objects.filter(owner=owner).exists()

    listen.proc.send_signal(signal.SIGINT)

    assert listen.proc.wait(20) == 130
    assert not ListenSession.objects.filter(owner=owner).exists()
    ended = SecurityEvent.objects.filter(user=owner, kind=SecurityEvent.Kind.LISTEN_ENDED).get()
    assert "ended by its client" in ended.detail["reason"]


def test_trigger_reaches_a_registered_endpoint_and_a_listen_session(
    server, owner, make_token, listens, receiver, start_worker, tmp_path
):
    start_worker()
    registered = Receiver()
    try:
        WebhookEndpoint.objects.create(
            owner=owner, url=registered.url, events=["playspec.deleted"], secret="endpoint-secret"
        )
        url = server.url
        listen = listens(url, make_token("webhooks:read"), "--forward-to", receiver.url)
        verifier = Webhook(listen.secret())

        result = subprocess.run(
            [str(FIBE), "trigger", "playspec.deleted", "--set", "data.name=triggered", "--json"],
            capture_output=True,
            text=True,
            env={
                **BASE_ENV,
                "FIBE_API_URL": url,
                "FIBE_API_KEY": make_token("webhooks:write"),
            },
            timeout=60,
        )

        assert result.returncode == 0, result
        assert json.loads(result.stdout)["sessions"] == 1
        [to_session] = wait_received(receiver, 1)
        [to_endpoint] = wait_received(registered, 1)
        assert verifier.verify(to_session.body, to_session.headers)["data"]["name"] == "triggered"
        assert json.loads(to_endpoint.body)["event"] == "playspec.deleted"
    finally:
        registered.stop()


def test_the_polling_api_from_another_client(server, owner, make_token):
    url, headers = server.url, {"Authorization": f"Bearer {make_token('webhooks:read')}"}
    session = requests.post(
        url + "/api/v1/webhooks/sessions", json={"host": "ci"}, headers=headers, timeout=10
    ).json()
    events_url = f"{url}/api/v1/webhooks/sessions/{session['id']}/events"
    playspec(owner, "one")

    first = requests.get(events_url, params={"cursor": 0}, headers=headers, timeout=40).json()
    playspec(owner, "two")
    second = requests.get(
        events_url, params={"cursor": first["cursor"]}, headers=headers, timeout=40
    ).json()

    def names(answer):
        return [json.loads(e["body"])["data"]["name"] for e in answer["events"]]

    assert names(first) == ["one"] and names(second) == ["two"]
    verifier = Webhook(session["standard_secret"])
    for e in first["events"] + second["events"]:
        verifier.verify(e["body"].encode(), e["headers"])
