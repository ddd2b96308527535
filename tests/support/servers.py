"""Real servers for webhook tests: an HTTP receiver on loopback, a private Redis, a Celery
worker. Each is stopped by its own PID by the fixture that started it."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
VENV_BIN = BASE_DIR / ".venv" / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Reply:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float


class Receiver:
    """Records every POST; answers with queued ``Reply``s, then with ``default``. ``port``
    brings a receiver back up where an earlier one was (0: any free port)."""

    def __init__(self, port: int = 0):
        self.received: list[Received] = []
        self.replies: deque[Reply] = deque()
        self.default = Reply()
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._cond:
                    receiver.received.append(
                        Received(self.path, dict(self.headers), body, time.monotonic())
                    )
                    reply = receiver.replies.popleft() if receiver.replies else receiver.default
                    receiver._cond.notify_all()
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def reply(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def database_url() -> str:
    """The database this test session runs on (pytest-django's ``test_…``), as a URL, for the
    server processes a test starts."""
    from django.db import connection

    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


class RedisServer:
    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.start(workdir)

    def start(self, workdir: Path) -> None:
        """Start (or start again, empty) on this server's port, keeping nothing on disk."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_until(self._pong, 10):
            self.stop()
            raise RuntimeError("redis-server did not start")

    def start_again_empty(self, workdir: Path) -> None:
        assert self.proc.poll() is not None, "stop it first"
        self.start(workdir)

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def queued(self, queue: str = "webhooks") -> list[tuple[str, list]]:
        """(task name, args) of every message waiting on a Celery queue of this Redis, oldest
        first, read from kombu's list without consuming it."""
        import redis

        out = []
        for raw in reversed(redis.Redis.from_url(self.url).lrange(queue, 0, -1)):
            message = json.loads(raw)
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            out.append((message["headers"]["task"], args))
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class ProcessGroup:
    """A command in its own process group (so a kill takes its children too), logging to a
    file; stopped, or killed with -9, by its PID."""

    def __init__(self, argv: list[str], *, env: dict, log: Path):
        self.log = log
        self._log_file = open(log, "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            argv,
            cwd=BASE_DIR,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def await_ready(self, ready, what: str, timeout: float = 60, interval: float = 0.1) -> None:
        """Wait for ``ready()``; if the process exits or times out first, stop it and say why."""
        if (
            not wait_until(lambda: ready() or self.proc.poll() is not None, timeout, interval)
            or self.proc.poll() is not None
        ):
            self.stop()
            raise RuntimeError(f"{what} did not start:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        """kill -9, the whole process group."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        else:
            try:  # children may outlive a dead parent
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log_file.close()


class Worker(ProcessGroup):
    """``celery -A fibe_access worker`` in its own process group (so kill -9 takes its pool
    children too), logging to a file we poll for readiness."""

    def __init__(
        self,
        *,
        env: dict,
        log: Path,
        name: str,
        concurrency: int = 2,
        loglevel: str = "info",
        wait_ready: bool = True,
    ):
        super().__init__(
            [
                str(VENV_BIN / "celery"),
                "-A",
                "fibe_access",
                "worker",
                "-Q",
                "default,webhooks",
                "-c",
                str(concurrency),
                "-P",
                "prefork",
                "-n",
                f"{name}@%h",
                "-l",
                loglevel,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=env,
            log=log,
        )
        if wait_ready:
            self.await_ready(lambda: b" ready." in log.read_bytes(), "celery worker")
