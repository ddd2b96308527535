"""The embedded default, started the way a new user starts it: ``make run`` with no database or
broker in the environment, its env file, SQLite file and embedded Redis in a temp folder, web
on a free port. A "second terminal" (a process with nothing but the env file's path) creates
the account and the key, and asks the worker for a pong; then a burst of concurrent API writes,
each publishing a webhook to a loopback receiver. Figures are printed (run with ``-s``)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
from pathlib import Path

import psutil
import pytest
import requests

from tests.reliability import burst
from tests.support.servers import BASE_DIR, VENV_BIN, ProcessGroup, Receiver, free_port, wait_until

pytestmark = pytest.mark.reliability
CLIENTS, WRITES = 8, 40
EMAIL = "ops@example.com"


def terminal_env(env_file: Path) -> dict:
    """A new terminal: no exported configuration, only where this checkout's env file is."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "FIBE_ENV_FILE": str(env_file),
    }


def second_terminal(env_file: Path, *argv: str, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv,
        cwd=BASE_DIR,
        env={**terminal_env(env_file), **extra},
        capture_output=True,
        text=True,
        timeout=120,
    )


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def named(processes) -> list[str]:
    names = []
    for process in processes:
        try:
            names.append(f"{process.pid} {' '.join(process.cmdline())}")
        except psutil.Error:
            names.append(f"{process.pid} (gone)")
    return names


@pytest.fixture
def make_run(tmp_path):
    """``make run`` in its own process group; yields it with its URL, stops it with SIGTERM
    (as honcho's Ctrl-C does) and checks that every process it started is gone."""
    env_file, var_dir, port = tmp_path / "local.env", tmp_path / "var", free_port()
    env = {**terminal_env(env_file), "FIBE_VAR_DIR": str(var_dir), "WEB_PORT": str(port)}
    app = ProcessGroup(["make", "--no-print-directory", "run"], env=env, log=tmp_path / "run.log")
    app.url, app.env_file, app.var_dir = f"http://127.0.0.1:{port}", env_file, var_dir

    def ready() -> bool:
        log = app.log.read_bytes()
        if b" ready." not in log or b"beat: Starting" not in log:
            return False
        try:
            return requests.get(app.url + "/api/v1/openapi.json", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    app.await_ready(ready, "make run", timeout=180, interval=0.3)
    app.processes = psutil.Process(app.proc.pid).children(recursive=True)
    yield app
    app.stop()
    gone = wait_until(lambda: not any(alive(p) for p in app.processes), 30, 0.2)
    leftovers = [p for p in app.processes if alive(p)]
    for process in leftovers:
        with contextlib.suppress(psutil.Error):
            process.kill()  # never leave one behind, even when the check below fails
    assert gone, f"left behind: {named(leftovers)}\n{app.log.read_text()[-3000:]}"


def test_make_run_holds_a_burst_of_writes_and_webhooks(make_run):
    env_file = make_run.env_file
    names = named(make_run.processes)
    for role in ("redis-server", "honcho", "runserver", "celery -A fibe_access worker", "beat"):
        assert any(role in name for name in names), f"no {role} among {names}"
    written = env_file.read_text()
    assert "DJANGO_DEBUG=1" in written and "DJANGO_SECRET_KEY=" in written
    assert f"DATABASE_URL=sqlite:///{make_run.var_dir / 'db.sqlite3'}" in written
    assert f"REDIS_URL=unix://{make_run.var_dir / 'redis' / 'redis.sock'}" in written
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"

    made = second_terminal(
        env_file,
        str(VENV_BIN / "python"),
        "manage.py",
        "createsuperuser",
        "--noinput",
        "--email",
        EMAIL,
        DJANGO_SUPERUSER_PASSWORD="a long and unusual passphrase 42",
    )
    assert made.returncode == 0, made.stderr
    key = second_terminal(
        env_file,
        *(str(VENV_BIN / "python"), "manage.py", "createapikey", EMAIL, "--label", "burst"),
        *("--scope", "playrooms:write", "--scope", "webhooks:write"),
    )
    assert key.returncode == 0, key.stderr
    token = key.stdout.strip()
    assert token.startswith("fibe_")
    pong = second_terminal(
        env_file, str(VENV_BIN / "celery"), "-A", "fibe_access", "inspect", "ping", "--timeout", "5"
    )
    assert pong.returncode == 0 and "pong" in pong.stdout, pong.stdout + pong.stderr

    receiver = Receiver()
    try:
        result = burst.run(
            make_run.url, token, clients=CLIENTS, writes=WRITES, receiver=receiver, wait=120
        )
    finally:
        receiver.stop()
    log = make_run.log.read_text(errors="replace")
    print(f"\nmake run burst, {CLIENTS} clients x {WRITES} writes: {result.summary()}")

    assert result.ok == CLIENTS * WRITES, (result.summary(), result.errors[:5])
    assert not result.missing and not result.duplicated, result.summary()
    assert set(result.events) == set(result.created)
    assert all(alive(p) for p in make_run.processes), named(
        p for p in make_run.processes if not alive(p)
    )
    assert make_run.proc.poll() is None
    assert "database is locked" not in log
    assert "Unrecoverable error" not in log
    with sqlite3.connect(make_run.var_dir / "db.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    def recorded() -> int:  # the key's activity, written by runserver's own writer thread
        with sqlite3.connect(make_run.var_dir / "db.sqlite3") as db:
            return db.execute(
                "SELECT coalesce(sum(total), 0), (SELECT count(*) FROM keys_keyactivity "
                "WHERE operation = 'playrooms.create' AND status = 201) "
                "FROM keys_keyactivityhour"
            ).fetchone()

    assert wait_until(lambda: recorded()[1] == CLIENTS * WRITES, timeout=30), recorded()
    assert recorded()[0] >= CLIENTS * WRITES + 1  # the hourly counts, the webhook's create too
