"""`fibe listen` latency benchmark (issue 25): from an API write's commit to the local receiver.

A private Redis, the project under gunicorn (gthread), one Celery worker (prefork,
concurrency 2), two loopback receivers in their own processes (bench/delivery.py's), and
`fibe listen --forward-to <receiver 1>` as a subprocess (the console script, this checkout's
fibe_cli). The account also has an endpoint registered to <receiver 2> for the same event, so
each write is received twice: through the listen session (long-poll, then the CLI's forward)
and through the delivery engine (the worker's POST), the baseline measured in the same run.

N API writes (`POST /api/v1/playspecs`, a key with playspecs:write), paced with jitter; for
each, the time from just before the request was sent (the commit happens before the answer,
so this bounds commit→receipt from above) to each receiver's clock (time.monotonic(), one
clock for every process of the machine).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fibe_bench .venv/bin/python bench/listen.py
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

WRITES = int(os.environ.get("BENCH_LISTEN_WRITES", 60))
PACE = (0.25, 0.55)  # seconds between writes, uniform: no phase lock with the poll's rhythm


def receiver(tmp: Path, name: str, procs: list) -> tuple[str, Path]:
    """bench/delivery.py's receiver (200 to every POST, "<id> <time>" per request)."""
    log_path, port_file = tmp / f"{name}.log", tmp / f"{name}.port"
    log_path.touch()
    proc = subprocess.Popen(
        [sys.executable, str(BASE_DIR / "bench" / "delivery.py"), "--receiver"]
        + [str(port_file), str(log_path)]
    )
    procs.append(proc)
    while not port_file.exists() or not port_file.read_text():
        time.sleep(0.05)
    return f"http://127.0.0.1:{port_file.read_text()}/hook", log_path


def main() -> None:
    from bench.delivery import django_on, ensure_database
    from tests.support.servers import RedisServer

    tmp = Path(tempfile.mkdtemp(prefix="fibe-bench-listen-"))
    print(f"logs in {tmp}")
    database_url = os.environ.setdefault(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fibe_bench"
    )
    ensure_database(database_url)
    redis = RedisServer(tmp)
    procs: list = []
    try:
        django_on(redis.url)
        run(tmp, procs, redis)
    finally:
        for proc in reversed(procs):
            stop = getattr(proc, "stop", None)
            if stop:
                stop()
            elif proc.poll() is None:
                proc.terminate()
                proc.wait(10)
        redis.stop()


def run(tmp: Path, procs: list, redis) -> None:
    import requests

    from bench.delivery import pct, receipts, wait_receipts
    from fibe_access.accounts.actor import Actor, Source
    from fibe_access.accounts.models import User
    from keys.services import key_create
    from tests.support.appserver import AppServer, server_env
    from tests.support.servers import VENV_BIN, Worker
    from webhooks.models import ListenDelivery, WebhookEndpoint

    listen_url, listen_log = receiver(tmp, "listen", procs)
    endpoint_url, endpoint_log = receiver(tmp, "endpoint", procs)

    tag = f"bench-listen-{os.getpid()}-{int(time.time())}"
    owner = User.objects.create(email=f"{tag}@example.com")
    _, token = key_create(
        actor=Actor(user=None, source=Source.CLI),
        owner=owner,
        label="bench listen",
        scope_names=["webhooks:read", "playspecs:write"],
        rate_limit_per_minute=100_000,
    )
    WebhookEndpoint.objects.create(
        owner=owner,
        url=endpoint_url,
        events=["playspec.created"],
        secret="bench-secret",  # noqa: S106
    )

    env = server_env(redis.url, DATABASE_CONN_MAX_AGE_SECONDS=600)
    server = AppServer(env=env, log=tmp / "gunicorn.log", workers=2, threads=8)
    procs.append(server)
    worker = Worker(env=env, log=tmp / "worker.log", name=f"bench-listen-{os.getpid()}")
    procs.append(worker)

    home = tmp / "home"
    home.mkdir()
    cli_out = open(tmp / "listen.out", "w")  # noqa: SIM115 - closed with the process
    cli = subprocess.Popen(
        [str(VENV_BIN / "fibe"), "listen", "--forward-to", listen_url]
        + ["--events", "playspec.created", "--json"],
        stdout=cli_out,
        stderr=subprocess.STDOUT,
        env={
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(BASE_DIR),
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "xdg"),
            "FIBE_API_URL": server.url,
            "FIBE_API_KEY": token,
        },
    )
    procs.append(cli)
    deadline = time.monotonic() + 60
    while '"session"' not in (tmp / "listen.out").read_text():
        if cli.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"fibe listen did not start: {(tmp / 'listen.out').read_text()}")
        time.sleep(0.05)

    sent: dict[int, tuple[float, float]] = {}  # playspec id -> (before the request, answered)
    http = requests.Session()
    http.trust_env = False
    headers = {"Authorization": f"Bearer {token}"}
    for n in range(WRITES):
        before = time.monotonic()
        answer = http.post(
            server.url + "/api/v1/playspecs",
            json={"name": f"bench {n}", "config": {"image": "python:3.11"}},
            headers=headers,
            timeout=30,
        )
        after = time.monotonic()
        if answer.status_code != 201:
            raise SystemExit(f"write {n}: {answer.status_code} {answer.text[:300]}")
        sent[answer.json()["id"]] = (before, after)
        time.sleep(random.uniform(*PACE))
    wait_receipts(listen_log, WRITES, 60)
    wait_receipts(endpoint_log, WRITES, 60)

    def latencies(log: Path) -> tuple[list[float], list[float]]:
        got = {seq: at for seq, at in receipts(log) if seq in sent}
        upper = [(got[s] - sent[s][0]) * 1000 for s in sent]
        lower = [(got[s] - sent[s][1]) * 1000 for s in sent]
        return upper, lower

    listen_up, listen_low = latencies(listen_log)
    endpoint_up, endpoint_low = latencies(endpoint_log)
    write_ms = [(b - a) * 1000 for a, b in sent.values()]

    cli.send_signal(signal.SIGINT)  # Ctrl-C: reports flushed, the session ended
    code = cli.wait(30)
    logged = ListenDelivery.objects.filter(owner=owner, status="succeeded").count()
    User.objects.filter(email__startswith=tag).delete()

    def line(name: str, up: list[float], low: list[float]) -> str:
        return (
            f"{name:<9} commit→receipt p50 {pct(up, 50):7.1f} ms  p95 {pct(up, 95):7.1f} ms  "
            f"max {max(up):7.1f} ms  (from the write's answer: p50 {pct(low, 50):.1f} ms)"
        )

    print(
        f"writes    {WRITES} API writes (POST /api/v1/playspecs), each answered in p50 "
        f"{pct(write_ms, 50):.1f} ms, mean {statistics.mean(write_ms):.1f} ms"
    )
    print(line("listen", listen_up, listen_low) + " — fibe listen → loopback receiver")
    print(line("endpoint", endpoint_up, endpoint_low) + " — engine → registered endpoint")
    print(f"ratio     listen / endpoint p50 = {pct(listen_up, 50) / pct(endpoint_up, 50):.2f}")
    print(
        f"log       {logged} of {WRITES} forwards in the CLI delivery log as succeeded; "
        f"fibe listen exited {code} on Ctrl-C"
    )


if __name__ == "__main__":
    main()
