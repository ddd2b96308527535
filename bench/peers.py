"""This project's Bearer-key read beside the DRF peers (../shared/peers), served the same way and
loaded in one interleaved run: GET one playground by id as JSON.

    .venv/bin/python bench/peers.py [-n 3000] [-r 5] [-c 4]

Sets up the DRF peer in its own virtualenv on PostgreSQL (peers/drf_apikey/setup.sh with
PEER_DB=postgres), serves it with peers/serve_drf.sh, and this project with gunicorn, 2 sync
workers, DEBUG off, on a bench database (DATABASE_URL's name + "_peers", never a test one) and
REDIS_URL; then peers/loadgen.py (wrk when installed) runs drf-noauth, drf-apikey and
fibe-bearer in rounds. Prints the req/s of each and the two ratios. Every process started here
is stopped by its PID.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PEERS = Path(os.environ.get("FIBE_PEERS_DIR", ROOT.parent / "shared" / "peers"))
BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/fibe_bench"
TARGETS = ("drf-noauth", "drf-apikey", "fibe-bearer")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env() -> dict:
    """Production settings (fibe_access.settings), DEBUG off, on the bench database."""
    url = urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    name = url.path.lstrip("/") or "fibe_bench"
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "fibe_access.settings",
        "FIBE_ENV_FILE": "",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-not-for-production",
        "API_KEY_ENCRYPTION_KEY": "YmVuY2gtb25seS1hZ2VudC1rZXktZW5jcnlwdGlvbi0w",
        "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback, like the peer
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": urlunsplit(url._replace(path=f"/{name}_peers")),
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        "LOG_LEVEL": "WARNING",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


SEED = """
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
from fibe_access.resources.models import Playground
from fibe_access.accounts.models import User
from tests.support.factories import UserFactory, api_key_make, resource_make
email = "peers-bench@example.com"
user = User.objects.filter(email=email).first() or UserFactory(email=email)
pg = resource_make(Playground, user, status=Playground.Status.RUNNING)
_, token = api_key_make(user, "playgrounds:read", rate_limit_per_minute=10**9)
print(json.dumps({"id": pg.pk, "token": token}))
"""


def ensure_database(env: dict) -> None:
    import psycopg

    url = urlsplit(env["DATABASE_URL"])
    name = url.path.lstrip("/")
    admin = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def seed(env: dict) -> dict:
    ensure_database(env)
    out = subprocess.run(
        [sys.executable, "-c", SEED], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise SystemExit(f"seeding the bench database failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def wait_until_up(url: str, proc: subprocess.Popen | None, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - loopback, our own server
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def start_fibe(env: dict, port: int, log: Path) -> subprocess.Popen:
    cmd = [
        str(BIN / "gunicorn"),
        "fibe_access.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        "--workers=2",
        "--worker-class=sync",
        "--log-level=warning",
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    wait_until_up(f"http://127.0.0.1:{port}/api/v1/me", proc)
    return proc


def stop(pid: int) -> None:
    """SIGTERM to one gunicorn master (it stops its workers), then wait for it to go."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
        try:  # our own child: reap it so it does not linger as a zombie
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    os.kill(pid, signal.SIGKILL)


def peer_env() -> dict:
    """The peer's own settings: none of ours (bench/run.py exports DJANGO_SETTINGS_MODULE)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")}
    return {**env, "PEER_DB": "postgres"}


def start_drf(port: int) -> int:
    subprocess.run(["bash", str(PEERS / "drf_apikey" / "setup.sh")], env=peer_env(), check=True)
    out = subprocess.run(
        ["bash", str(PEERS / "serve_drf.sh"), str(port)],
        env=peer_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def targets(drf_port: int, fibe_port: int, fibe: dict) -> list[dict]:
    state = Path(os.environ.get("PEER_STATE_DIR") or Path(tempfile.gettempdir()) / "peer_drf")
    peer = json.loads((state / "postgres.json").read_text())
    drf = f"http://127.0.0.1:{drf_port}"
    return [
        {"name": "drf-noauth", "url": drf + peer["paths"]["noauth"], "headers": []},
        {
            "name": "drf-apikey",
            "url": drf + peer["paths"]["apikey"],
            "headers": [peer["headers"]["apikey"]],
        },
        {
            "name": "fibe-bearer",
            "url": f"http://127.0.0.1:{fibe_port}/api/v1/playgrounds/{fibe['id']}",
            "headers": [f"Authorization: Bearer {fibe['token']}"],
        },
    ]


def report(summary: list[dict]) -> None:
    rps = {row["target"]: row["rps"] for row in summary}
    bad = sum(row["non200"] + row["errors"] for row in summary)
    print("\nreq/s (median of rounds): " + ", ".join(f"{t} {rps[t]:.0f}" for t in TARGETS))
    vs_apikey = rps["fibe-bearer"] / rps["drf-apikey"]
    vs_noauth = rps["fibe-bearer"] / rps["drf-noauth"]
    print(f"fibe-bearer / drf-apikey = {vs_apikey:.3f} (target >= 1.25)")
    print(f"fibe-bearer / drf-noauth = {vs_noauth:.3f} (target >= 1.0)")
    print(f"non-200 or failed responses: {bad}")
    print("PASS" if vs_apikey >= 1.25 and vs_noauth >= 1.0 and not bad else "MISS")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--requests", type=int, default=3000)
    parser.add_argument("-r", "--rounds", type=int, default=5)
    parser.add_argument("-c", "--connections", type=int, default=4)
    args = parser.parse_args()
    if not (PEERS / "loadgen.py").exists():
        print(f"no peers at {PEERS} (set FIBE_PEERS_DIR): skipped")
        return 0
    work = Path(tempfile.mkdtemp(prefix="fibe-peers-"))
    env = server_env()
    fibe = seed(env)
    pids: list[int] = []
    try:
        drf_port, fibe_port = free_port(), free_port()
        pids.append(start_drf(drf_port))
        pids.append(start_fibe(env, fibe_port, work / "gunicorn.log").pid)
        (work / "targets.json").write_text(json.dumps(targets(drf_port, fibe_port, fibe)))
        loadgen = [
            sys.executable,
            str(PEERS / "loadgen.py"),
            "--targets-file",
            str(work / "targets.json"),
            "--baseline",
            "drf-noauth",
            f"-n{args.requests}",
            f"-r{args.rounds}",
            f"-c{args.connections}",
            "--json",
            str(work / "runs.json"),
        ]
        subprocess.run(loadgen, check=False)
        report(json.loads((work / "runs.json").read_text())["summary"])
    finally:
        for pid in pids:
            stop(pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
