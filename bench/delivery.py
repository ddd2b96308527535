"""Webhook delivery benchmark: a private Redis, one Celery worker (prefork, concurrency 2) and a
loopback receiver in its own process.

1. 2000 events to one endpoint, queued before the worker starts: deliveries per second while
   the worker drains them, against a raw ``requests.Session`` POST loop in 2 processes to the
   same receiver, measured in the same run.
2. 200 events paced at 10/s: publish→receipt latency (p50, p99) when the worker keeps up.
3. One event fanned out to 500 endpoints: publish time (including commit and enqueue), its
   query count, and time until all 500 arrive.
4. Many endpoints, not one: the same 2000 deliveries shaped as 10 events fanned out to the 200
   endpoints of one account, published while the worker runs, timed from the first publish to
   the last receipt: three rounds, each right after a raw loop to the same 200 URLs in turn,
   best of each. The 200
   endpoints are 8 receiving hosts (8 loopback ports of the receiver process, so 8 connection
   pools) with 25 paths each: separate endpoints of one account usually mean a few services,
   each with many hooks.

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
MANY_EVENTS, MANY_HOSTS, MANY_PATHS = 10, 8, 25  # 10 events x 200 endpoints = 2000 deliveries
MANY_ROUNDS = int(os.environ.get("BENCH_MANY_ROUNDS", 3))
SECRET = "bench-secret"  # noqa: S105
SEQ = re.compile(rb'"id":(\d+)')


def receiver_main(port_file: str, log_path: str, ports: int = 1) -> None:
    """Answer 200 to every POST (keep-alive) and append "<seq> <monotonic time>" per request.
    ``ports`` servers in this one process (the first on the main thread); their ports are
    written to ``port_file``, space-separated."""
    import threading

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

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(max(1, ports))]
    for server in servers:
        server.daemon_threads = True
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    Path(port_file).write_text(" ".join(str(s.server_address[1]) for s in servers))
    servers[0].serve_forever()


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
    urls, seqs = args
    with requests.Session() as session:
        for seq in seqs:
            body = b'{"event":"playground.created","data":{"id":%d}}' % seq
            session.post(
                urls[seq % len(urls)],
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


def django_on(redis_url: str) -> None:
    """This process as the benchmarked app: the test settings on ``redis_url`` and the bench
    database (DATABASE_URL), migrated."""
    os.environ.update(
        {
            "REDIS_URL": redis_url,
            "WEBHOOKS_ALLOW_PRIVATE_TARGETS": "1",
            "DJANGO_SETTINGS_MODULE": "fibe_access.settings_test",
            "LOG_LEVEL": "WARNING",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


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
        django_on(redis.url)
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
        [sys.executable, __file__, "--receiver", str(port_file), str(log_path), str(MANY_HOSTS)]
    )
    procs.append(receiver)
    while not port_file.exists() or not port_file.read_text():
        time.sleep(0.05)
    ports = port_file.read_text().split()
    url = f"http://127.0.0.1:{ports[0]}/hook"

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
    raw, raw_cpu_ms = raw_loop(url, 30_000)
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

    base += FANOUT

    # 4. Many endpoints, not one: 10 events x 200 endpoints of one account, worker running,
    #    once the messages of the shapes before are consumed (the drain's 2000 one-delivery
    #    messages outlive its deliveries: each is a claim that finds nothing).
    queue_wait_empty(redis.url)
    many = many_endpoints(tag, ports, log_path, base, worker_pid=worker.proc.pid)

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
    rounds = "  ".join(f"{m:.0f}/{r:.0f}" for m, r in zip(many["rates"], many["raws"], strict=True))
    print(
        f"many    {MANY_EVENTS} events → {many['endpoints']} endpoints of one account "
        f"({MANY_HOSTS} hosts × {MANY_PATHS} paths) = {many['count']} deliveries, first publish "
        f"→ last receipt, {len(many['rates'])} rounds each beside a raw loop to the same URLs "
        f"(deliveries/s / POST/s): {rounds}; publishing took {1000 * many['publish']:.0f} ms; "
        f"worker {many['cpu_ms']:.1f} ms CPU per delivery"
    )
    best = max(many["rates"]) / max(many["raws"])
    print(f"ratio   many endpoints / raw = {best:.2f} (best of each)")


def raw_loop(url: str | list[str], first_seq: int, count: int = EVENTS) -> tuple[float, float]:
    """The baseline: ``count`` POSTs to ``url`` (or to each of a list of URLs in turn) by a
    bare ``requests.Session`` loop in 2 processes. Returns POST/s and the loop's CPU ms per
    POST."""
    urls = [url] if isinstance(url, str) else url
    seqs = list(range(first_seq, first_seq + count))
    started = time.monotonic()
    with Pool(2) as pool:
        cpu = pool.map(baseline_worker, [(urls, seqs[0::2]), (urls, seqs[1::2])])
    return count / (time.monotonic() - started), 1000 * sum(cpu) / count


def queue_wait_empty(redis_url: str, timeout: float = 120) -> None:
    """Until the worker has taken every message of the ``webhooks`` queue (the bench's own
    Redis)."""
    import redis as redis_py

    client = redis_py.Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout
    while client.llen("webhooks") and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the last ones taken, sent or found empty
    client.close()


def many_endpoints(
    tag: str, ports: list[str], log_path: Path, base: int, *, worker_pid: int
) -> dict:
    """Shape 4, in MANY_ROUNDS rounds, each right after a raw loop to the same URLs (so both see
    the same machine and the same receiver): MANY_EVENTS events, each fanned out to the
    MANY_HOSTS x MANY_PATHS endpoints of one account, published one transaction each while the
    worker runs; timed from the first publish to the last receipt. ``base``: receipts already
    in the log."""
    from django.db import transaction

    from fibe_access.accounts.models import User
    from webhooks.models import WebhookEndpoint
    from webhooks.publish import publish_event

    owner = User.objects.create(email=f"{tag}-many@example.com")
    endpoints = [
        WebhookEndpoint(
            owner=owner,
            url=f"http://127.0.0.1:{ports[host % len(ports)]}/hooks/{host}/{path}",
            events=["playground.created"],
            secret=SECRET,
        )
        for host in range(MANY_HOSTS)
        for path in range(MANY_PATHS)
    ]
    WebhookEndpoint.objects.bulk_create(endpoints)
    count = MANY_EVENTS * len(endpoints)
    out = {"count": count, "endpoints": len(endpoints), "rates": [], "raws": [], "publish": 0}
    cpu = 0.0
    # The baseline sends the same shape: the same 200 URLs in turn, over the same 8 ports, so
    # the ratio is what the engine costs, not what 8 ports and 200 paths cost the receiver.
    urls = [e.url for e in endpoints]
    for round_ in range(MANY_ROUNDS):
        out["raws"].append(raw_loop(urls, 60_000 + round_ * EVENTS)[0])
        base += EVENTS
        wait_receipts(log_path, base, 60)
        cpu_before, started = cpu_seconds(worker_pid), time.monotonic()
        for seq in range(50_000 + round_ * 100, 50_000 + round_ * 100 + MANY_EVENTS):
            with transaction.atomic():
                publish_event(
                    owner=owner,
                    event="playground.created",
                    data={"id": seq, "name": "many", "status": "running"},
                )
        out["publish"] = max(out["publish"], time.monotonic() - started)
        got = wait_receipts(log_path, base + count, 300)[base:]
        cpu += cpu_seconds(worker_pid) - cpu_before
        out["rates"].append(count / (max(at for _, at in got) - started))
        base += count
    out["cpu_ms"] = 1000 * cpu / (count * MANY_ROUNDS)
    return out


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "--receiver":
        receiver_main(sys.argv[2], sys.argv[3], *map(int, sys.argv[4:]))
    else:
        main()
