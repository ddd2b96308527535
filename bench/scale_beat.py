"""bench/scale.py's engine side: the drain of bench/delivery.py at a given table size, the purge
of a day of expired history while a drain runs, and each beat task's time and query plans."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bench import delivery

DRAIN_EVENTS = 2000
BIG_TABLES = (
    "webhooks_delivery",
    "webhooks_attempt",
    "webhooks_event",
    "accounts_securityevent",
    "keys_keyactivity",
    "keys_apikey",
)


class Drains:
    """One loopback receiver (bench/delivery.py's) and a private Redis for every drain; each
    drain starts its own worker once its deliveries are queued, as bench/delivery.py does."""

    def __init__(self, tmp: Path, redis, env: dict):
        self.tmp, self.redis, self.env = tmp, redis, env
        self.log, port_file = tmp / "receipts.log", tmp / "port"
        self.log.touch()
        self.receiver = subprocess.Popen(
            [sys.executable, delivery.__file__, "--receiver", str(port_file), str(self.log)]
        )
        while not port_file.exists() or not port_file.read_text():
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port_file.read_text()}/hook"
        self.seen = 0
        self.runs = 0

    def stop(self) -> None:
        self.receiver.terminate()
        self.receiver.wait(10)

    def drain(self, n: int = DRAIN_EVENTS, during=None, database_url: str = "") -> dict:
        """Queue ``n`` deliveries to a new endpoint, start a worker, and time the receipts
        from the first to the last. ``during`` runs in a thread from the first receipt on.
        ``database_url``: another database (the empty twin), published to by a subprocess."""
        from tests.support.servers import Worker, wait_until
        from webhooks.models import Delivery

        self.runs += 1
        env = {**self.env, "DATABASE_URL": database_url} if database_url else self.env
        email = f"drain{self.runs}@scale.example"
        if database_url:
            subprocess.run(
                [sys.executable, "-c", PUBLISH, email, self.url, str(n)],
                env={**env, "PYTHONPATH": str(REPO)},
                cwd=REPO,
                check=True,
            )
        else:
            publish(email, self.url, n)
        worker = Worker(
            env={**env, "DATABASE_CONN_MAX_AGE": "600"},
            log=self.tmp / f"worker{self.runs}.log",
            name=f"scale{self.runs}",
            concurrency=2,
            loglevel="warning",
            wait_ready=False,
        )
        result: dict = {}
        try:
            delivery.wait_receipts(self.log, self.seen + 1, 120)
            cpu_before = delivery.cpu_seconds(worker.proc.pid)
            thread = None
            if during:
                thread = threading.Thread(target=lambda: result.update(during()))
                thread.start()
            got = delivery.wait_receipts(self.log, self.seen + n, 600)[self.seen :]
            # The worker's own CPU per delivery: steadier than the rate on a shared machine.
            result["cpu_ms"] = 1000 * (delivery.cpu_seconds(worker.proc.pid) - cpu_before) / n
            drained_at = time.monotonic()
            if thread:
                thread.join()
            # The last sends are recorded after their receipt: let them commit, so that beat
            # finds nothing lost later.
            if database_url:
                time.sleep(1)
            else:
                in_flight = Delivery.objects.filter(
                    endpoint__owner__email=email, in_flight_since__isnull=False
                )
                wait_until(lambda: not in_flight.exists(), timeout=30)
        finally:
            worker.stop()
        self.seen += n
        times = sorted(at for _, at in got)
        result["rate"] = (n - 1) / (times[-1] - times[0])
        if "purge_started" in result:  # the rate while the purge ran, on the receiver's clock
            window = [t for t in times if result["purge_started"] <= t <= result["purge_ended"]]
            if len(window) > 1:
                result["rate_in_purge"] = (len(window) - 1) / (window[-1] - window[0])
        result["drain_s"] = times[-1] - times[0]
        result["drained_at"] = drained_at
        if "purge_started" in result:  # receipts carry the receiver's monotonic clock
            both = min(result["purge_ended"], times[-1]) - max(result["purge_started"], times[0])
            result["overlap"] = max(0.0, both) / (times[-1] - times[0])
        return result


def publish(email: str, url: str, n: int) -> None:
    """A new account with one endpoint at ``url``, and ``n`` events published to it."""
    from tests.support.factories import UserFactory
    from webhooks.models import WebhookEndpoint
    from webhooks.publish import publish_event

    owner = UserFactory(email=email)
    WebhookEndpoint.objects.create(
        owner=owner, url=url, events=["playground.created"], secret=delivery.SECRET
    )
    for seq in range(n):
        with transaction.atomic():
            publish_event(
                owner=owner,
                event="playground.created",
                data={"id": seq, "name": "drain", "status": "running"},
            )


REPO = Path(__file__).resolve().parent.parent
PUBLISH = """
import sys, django
django.setup()
from bench.scale_beat import publish
publish(sys.argv[1], sys.argv[2], int(sys.argv[3]))
"""


def purge_timed(events: int) -> dict:
    """One run of the purge (beat's task) bounded to ``events`` events (one expired day),
    every statement timed on this thread's connection."""
    from webhooks.engine.upkeep import PURGE_BATCH, deliveries_purge_old

    statements: list[tuple[float, str]] = []

    def timed(execute, sql, params, many, context):
        started = time.monotonic()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((time.monotonic() - started, sql))

    started = time.monotonic()
    try:
        with connection.execute_wrapper(timed):
            events = deliveries_purge_old(max_batches=-(-events // PURGE_BATCH))
    finally:
        connection.close()
    ended = time.monotonic()
    on_deliveries = [d for d, sql in statements if "webhooks_delivery" in sql]
    return {
        "purged_events": events,
        "purge_s": ended - started,
        "purge_started": started,
        "purge_ended": ended,
        "statements": len(statements),
        "longest_s": max((d for d, _ in statements), default=0.0),
        "longest_sql": " ".join(max(statements, default=(0, ""))[1].split())[:120],
        "longest_on_deliveries_s": max(on_deliveries, default=0.0),
    }


def beat_tasks() -> list[tuple[str, object]]:
    from fibe_access.accounts.securitylog import security_log_trim
    from keys.activity import activity_trim
    from keys.expiry import keys_lifecycle
    from webhooks.engine.scan import deliveries_close_lost, deliveries_enqueue_due
    from webhooks.engine.upkeep import deliveries_purge_old, endpoints_disable_failing

    return [
        ("enqueue due", deliveries_enqueue_due),
        ("close lost", deliveries_close_lost),
        ("disable failing", endpoints_disable_failing),
        ("purge old", deliveries_purge_old),
        ("trim security log", security_log_trim),
        ("trim key activity", activity_trim),
        ("keys lifecycle", keys_lifecycle),
    ]


def explain(sql: str) -> str:
    with connection.cursor() as cur:
        cur.execute("EXPLAIN " + sql)
        return "\n".join(row[0] for row in cur.fetchall())


def measure_beat(runs: int = 5) -> dict:
    """Each task once to clear what the seed left due (shown), then ``runs`` more: the median
    is the steady state, with the plan of every distinct statement of one run."""
    figures = {}
    for name, task in beat_tasks():
        started = time.monotonic()
        task()
        first_ms = 1000 * (time.monotonic() - started)
        times = []
        for _ in range(runs):
            with CaptureQueriesContext(connection) as captured:
                started = time.monotonic()
                task()
                times.append(1000 * (time.monotonic() - started))
        ms = statistics.median(times)
        print(
            f"\n--- beat task: {name}: {ms:.1f} ms a run (first run {first_ms:.0f} ms), "
            f"{len(captured.captured_queries)} statements"
        )
        seq_scans = 0
        seen = set()
        for query in captured.captured_queries:
            sql = query["sql"]
            verb = sql.lstrip().split(None, 1)[0].upper()
            shape = re.sub(r"'[^']*'|\d+", "?", sql)  # one plan per statement shape
            if shape in seen or verb not in ("SELECT", "UPDATE", "DELETE"):
                continue
            seen.add(shape)
            plan = explain(sql)
            big_seq = [t for t in BIG_TABLES if f"Seq Scan on {t} " in plan + " "]
            seq_scans += len(big_seq)
            print("  " + " ".join(sql.split())[:200])
            print("    " + plan.replace("\n", "\n    "))
        figures[name] = {"ms": ms, "first_ms": first_ms, "seq_scans": seq_scans}
    return figures
