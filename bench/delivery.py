"""Webhook delivery benchmark: a private Redis, one Celery worker (prefork, concurrency 2) and a
loopback receiver in its own process.

1. 2000 events to one endpoint, queued before the worker starts: deliveries per second while
   the worker drains them, against a raw ``requests.Session`` POST loop in 2 processes to the
   same receiver, measured in the same run.
2. 200 events paced at 10/s: publish→receipt latency (p50, p99) when the worker keeps up.
3. One event fanned out to 500 endpoints: publish time (including commit and enqueue), its
   query count, and time until all 500 arrive.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fibe_bench .venv/bin/python bench/delivery.py
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing import Pool
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

EVENTS = int(os.environ.get("BENCH_EVENTS", 2000))
FANOUT, PACED, PACE = 500, 200, 0.1
SECRET = "bench-secret"  # noqa: S105
SEQ = re.compile(rb'"id":(\d+)')


def receiver_main(port_file: str, log_path: str) -> None:
    """Answer 200 to every POST (keep-alive) and append "<seq> <monotonic time>" per request."""
    log = open(log_path, "a", buffering=1)  # noqa: SIM115

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 65536  # one write per response: no Nagle / delayed-ACK stalls on keep-alive

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            now = time.monotonic()
            match = SEQ.search(body)
            log.write(f"{match.group(1).decode() if match else -1} {now}\n")
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    Path(port_file).write_text(str(server.server_address[1]))
    server.serve_forever()


def receipts(log_path: Path) -> list[tuple[int, float]]:
    out = []
    for line in log_path.read_text().splitlines():
        seq, at = line.split()
        out.append((int(seq), float(at)))
    return out


def wait_receipts(log_path: Path, count: int, timeout: float) -> list[tuple[int, float]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = receipts(log_path)
        if len(got) >= count:
            return got
        time.sleep(0.02)
    raise SystemExit(f"only {len(receipts(log_path))} of {count} receipts in {timeout} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its live children (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    total = 0.0
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def baseline_worker(args) -> float:
    import requests

    started = time.process_time()
    url, seqs = args
    with requests.Session() as session:
        for seq in seqs:
            body = b'{"event":"playground.created","data":{"id":%d}}' % seq
            session.post(
                url,
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=(5, 15),
                allow_redirects=False,
            ).close()
    return time.process_time() - started


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname=%s", [name]).fetchone():
            conn.execute(f'create database "{name}"')


def main() -> None:
    import subprocess

    from tests.support.servers import RedisServer, Worker

    tmp = Path(tempfile.mkdtemp(prefix="fibe-bench-"))
    print(f"logs in {tmp}")
    database_url = os.environ.setdefault(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fibe_bench"
    )
    ensure_database(database_url)
    redis = RedisServer(tmp)
    procs = []
    try:
        os.environ.update(
            {
                "REDIS_URL": redis.url,
                "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1",
                "DJANGO_SETTINGS_MODULE": "fibe_access.settings_test",
                "LOG_LEVEL": "WARNING",
            }
        )
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        run(tmp, procs, redis, Worker, subprocess)
    finally:
        for proc in procs:
            stop = getattr(proc, "stop", None)
            if stop:
                stop()
            else:
                proc.terminate()
                proc.wait(10)
        redis.stop()


def run(tmp, procs, redis, Worker, subprocess) -> None:  # noqa: N803
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from fibe_access.accounts.models import User
    from webhooks.models import WebhookEndpoint
    from webhooks.publish import publish_event

    log_path, port_file = tmp / "receipts.log", tmp / "port"
    log_path.touch()
    receiver = subprocess.Popen(
        [sys.executable, __file__, "--receiver", str(port_file), str(log_path)]
    )
    procs.append(receiver)
    while not port_file.exists() or not port_file.read_text():
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port_file.read_text()}/hook"

    # Rows of this run only (others may bench against the same database at the same time).
    tag = f"bench-{os.getpid()}-{int(time.time())}"
    owner = User.objects.create(email=f"{tag}-one@example.com")
    WebhookEndpoint.objects.create(
        owner=owner, url=url, events=["playground.created"], secret=SECRET
    )

    def publish(seq: int, who=owner) -> float:
        started = time.monotonic()
        with transaction.atomic():
            publish_event(
                owner=who,
                event="playground.created",
                data={"id": seq, "name": "bench", "status": "running"},
            )
        return started

    # 1. 2000 events to one endpoint, all queued before the worker starts, so the drain rate
    #    measures delivery alone (this process publishing would compete for the same CPUs).
    started = time.monotonic()
    for seq in range(EVENTS):
        publish(seq)
    publish_rate = EVENTS / (time.monotonic() - started)
    env = {**os.environ, "DATABASE_CONN_MAX_AGE_SECONDS": "600"}
    worker = Worker(
        env=env,
        log=tmp / "worker.log",
        name="bench",
        concurrency=2,
        loglevel=os.environ.get("BENCH_WORKER_LOGLEVEL", "warning"),
        wait_ready=False,
    )
    procs.append(worker)
    wait_receipts(log_path, 1, 120)
    cpu_before = cpu_seconds(worker.proc.pid)
    got = wait_receipts(log_path, EVENTS, 600)
    worker_cpu_ms = 1000 * (cpu_seconds(worker.proc.pid) - cpu_before) / (EVENTS - 1)
    times = sorted(at for _, at in got)
    ours = (EVENTS - 1) / (times[-1] - times[0])
    base = len(got)

    # 2. Paced, the worker idle between events: publish→receipt latency.
    paced = {}
    for seq in range(20_000, 20_000 + PACED):
        paced[seq] = publish(seq)
        time.sleep(PACE)
    got = wait_receipts(log_path, base + PACED, 120)[base:]
    paced_lat = [(at - paced[seq]) * 1000 for seq, at in got if seq in paced]
    base += PACED

    # Baseline: raw requests.Session loop, same receiver, 2 processes.
    seqs = list(range(30_000, 30_000 + EVENTS))
    started = time.monotonic()
    with Pool(2) as pool:
        raw_cpu = pool.map(baseline_worker, [(url, seqs[0::2]), (url, seqs[1::2])])
    raw = EVENTS / (time.monotonic() - started)
    raw_cpu_ms = 1000 * sum(raw_cpu) / EVENTS
    wait_receipts(log_path, base + EVENTS, 60)
    base += EVENTS

    # 3. Fan-out: one event to 500 endpoints.
    fan_owner = User.objects.create(email=f"{tag}-fan@example.com")
    WebhookEndpoint.objects.bulk_create(
        [
            WebhookEndpoint(
                owner=fan_owner, url=f"{url}/{i}", events=["playground.created"], secret=SECRET
            )
            for i in range(FANOUT)
        ]
    )
    with CaptureQueriesContext(connection) as queries:
        started = time.monotonic()
        with transaction.atomic():
            publish_event(
                owner=fan_owner,
                event="playground.created",
                data={"id": 40_000, "name": "fan", "status": "running"},
            )
            in_txn = time.monotonic()
        committed = time.monotonic()
    got = wait_receipts(log_path, base + FANOUT, 300)[base:]
    fan_all = max(at for _, at in got) - started

    User.objects.filter(email__startswith=tag).delete()  # cascades to endpoints and logs

    print(
        f"drain   {EVENTS} queued events → 1 endpoint, worker -c 2: {ours:7.0f} deliveries/s "
        f"(publishing them ran at {publish_rate:.0f} events/s in one process)"
    )
    print(f"raw     requests.Session loop, 2 processes: {raw:7.0f} POST/s")
    print(
        f"cpu     worker (main + pool) {worker_cpu_ms:.1f} ms per delivery, raw loop "
        f"{raw_cpu_ms:.1f} ms per POST (PostgreSQL and Redis not counted)"
    )
    print(f"ratio   ours / raw = {ours / raw:.2f}")
    print(
        f"paced   {PACED} events at {1 / PACE:.0f}/s: publish→receipt p50 "
        f"{pct(paced_lat, 50):.1f} ms  p99 {pct(paced_lat, 99):.1f} ms  "
        f"mean {statistics.mean(paced_lat):.1f} ms"
    )
    print(
        f"fan-out 1 event → {FANOUT} endpoints: publish {1000 * (in_txn - started):.1f} ms "
        f"in the transaction, {1000 * (committed - started):.1f} ms with commit and enqueue; "
        f"{len(queries.captured_queries)} queries; all {FANOUT} received after {fan_all:.2f} s"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--receiver":
        receiver_main(sys.argv[2], sys.argv[3])
    else:
        main()
