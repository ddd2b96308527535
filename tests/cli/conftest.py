"""The CLI as a user runs it: the installed console script (``.venv/bin/fibe``) in a
subprocess, against the project under gunicorn on a free loopback port (a real server process
on the test database and a private Redis), with HOME and XDG_CONFIG_HOME in a temporary folder
and an environment that holds nothing of this machine's but PATH. Keys are real keys, made
through ``keys.services.key_create``."""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.appserver import AppServer, server_env
from tests.support.factories import UserFactory, api_key_make
from tests.support.servers import VENV_BIN

FIBE = VENV_BIN / "fibe"
# The checkout under test, first on the CLI's path: the console script's installed package may
# be another checkout's (a virtualenv shared between worktrees).
ROOT = Path(__file__).resolve().parents[2]
TRACEBACK = "Traceback (most recent call last)"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture(scope="package")
def cli_server(django_db_setup, django_db_blocker, redis_server, tmp_path_factory):
    """One gunicorn for the CLI tests, stopped after them; each test's rows are committed
    (transactional_db) and every request opens its own database connection."""
    with django_db_blocker.unblock():
        env = server_env(redis_server.url, DATABASE_CONN_MAX_AGE_SECONDS=0, API_KEY_CACHE_SECONDS=0)
    server = AppServer(
        env=env, log=tmp_path_factory.mktemp("cli") / "gunicorn.log", workers=1, threads=4
    )
    yield server
    server.stop()


@pytest.fixture
def owner(transactional_db):
    return UserFactory()


@pytest.fixture
def make_token(owner):
    """Factory: the token of a new real key of ``owner`` (or of ``for_user``)."""

    def make(*scope_names: str, for_user=None, **kwargs) -> str:
        return api_key_make(for_user or owner, *scope_names, **kwargs)[1]

    return make


class Fibe:
    """Runs `fibe` with a clean environment: HOME and XDG_CONFIG_HOME under ``home``."""

    def __init__(self, home: Path, url: str):
        self.home = home
        self.config = home / "xdg" / "fibe" / "config.json"
        self.env = {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(ROOT),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "xdg"),
            "FIBE_API_URL": url,
            "LANG": "C.UTF-8",
        }

    def __call__(self, *args: str, input: str | bytes | None = None, env=None, umask=None):
        run_env = {**self.env, **(env or {})}
        run_env = {k: v for k, v in run_env.items() if v is not None}
        proc = subprocess.run(
            [str(FIBE), *args],
            input=input.encode() if isinstance(input, str) else input,
            capture_output=True,
            env=run_env,
            timeout=60,
            preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,  # noqa: PLW1509
        )
        return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    def login(self, token: str) -> Result:
        return self("auth", "login", "--with-token", input=token + "\n")

    def terminal(self, *args: str, env=None, answer: tuple[str, str] | None = None) -> Result:
        """Run in a pseudo-terminal (200 columns): stdin, stdout and stderr are its tty. With
        ``answer=(prompt, text)``, type ``text`` once ``prompt`` appears. ``out`` is all the
        terminal showed."""
        run_env = {**self.env, "TERM": "xterm-256color", **(env or {})}
        run_env = {k: v for k, v in run_env.items() if v is not None}
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        proc = subprocess.Popen(
            [str(FIBE), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=run_env,
            start_new_session=True,
        )
        os.close(slave)
        shown, deadline = b"", time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.2)
                if ready:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:  # EIO: the child closed the terminal
                        break
                    if not chunk:
                        break
                    shown += chunk
                if answer and answer[0].encode() in shown:
                    os.write(master, answer[1].encode() + b"\n")
                    answer = None
                if proc.poll() is not None and not ready:
                    break
            else:
                os.killpg(proc.pid, signal.SIGKILL)
            code = proc.wait(10)
        finally:
            os.close(master)
        return Result(code, shown.decode(errors="replace"), "")


@pytest.fixture
def fibe(cli_server, tmp_path) -> Fibe:
    home = tmp_path / "home"
    home.mkdir()
    return Fibe(home, cli_server.url)


def assert_clean_failure(result: Result, code: int, *secrets: str) -> None:
    """A failure as the CLI promises it: its exit code, a message on stderr, no traceback,
    nothing on stdout, and none of ``secrets`` anywhere."""
    assert result.code == code, result
    assert result.err.strip(), result
    assert result.out == "", result
    assert TRACEBACK not in result.text
    for secret in secrets:
        assert secret not in result.text
        assert secret[:-4] not in result.text


@pytest.fixture
def offline_fibe(tmp_path) -> Fibe:
    """`fibe` for commands that need no server (nothing listens on port 9)."""
    home = tmp_path / "home"
    home.mkdir()
    return Fibe(home, "http://127.0.0.1:9")
