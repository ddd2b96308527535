"""Per-key activity, recorded off the request path (issue 24).

The REST and MCP faces call ``record`` once an operation has answered: it appends a tuple to
this process's buffer under a lock (no I/O, well under a microsecond) and returns. A background
thread writes the buffer to the database in batches, every API_ACTIVITY_FLUSH_SECONDS or as soon
as API_ACTIVITY_FLUSH_BATCH entries wait, and once more when the process exits. A full buffer
(API_ACTIVITY_BUFFER entries, e.g. while the database is unreachable) never blocks a request: the
entry is dropped and counted, in this process (``recorder.dropped``) and, at the next flush, in
the shared counter every process adds to (``dropped_total``). Rows older than
API_ACTIVITY_RETENTION are trimmed by beat in bounded batches (``activity_trim``).

Without the background thread (API_ACTIVITY_BACKGROUND off: the test process, whose database
work happens inside each test's transaction) entries wait until ``recorder.flush()`` is called.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from .activity_model import KeyActivity, KeyActivityHour

log = logging.getLogger(__name__)
Door = KeyActivity.Door
CLI_AGENT = "fibe-cli/"  # fibe_cli.client.USER_AGENT
DROPPED = "fibe:activity:dropped"
INSERT_CHUNK = 500
LOCK_WAIT_MS = 500  # below PostgreSQL's deadlock_timeout (1 s): the writer gives way first

# (key id, epoch seconds, door, operation, kind, record id, status, duration ms, ip)
Entry = tuple[int, float, str, str, str, int | None, int, int, str | None]


def door_for(*, mcp: bool, user_agent: str) -> str:
    """MCP for tool calls; CLI when the `fibe` command line sent the request; REST otherwise."""
    if mcp:
        return Door.MCP
    return Door.CLI if user_agent.startswith(CLI_AGENT) else Door.REST


def record_id_of(value) -> int | None:
    """An operation's record id from a path parameter or an answer, when it is one."""
    if isinstance(value, dict):
        value = value.get("id")
    else:
        value = getattr(value, "pk", value)
    # ASCII digits only: "²".isdigit() is true, and int() refuses it
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        value = int(value)
    return value if type(value) is int and 0 < value < 2**63 else None


class Recorder:
    """This process's buffer of activity entries and the thread that writes them."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: list[Entry] = []
        self.dropped = 0  # entries this process dropped since it started
        self._unreported = 0  # dropped, not yet added to the shared counter
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None

    def record(self, entry: Entry) -> None:
        """Buffer one entry; never blocks on I/O. A full buffer drops the entry and counts it."""
        with self.lock:
            if len(self.pending) >= settings.API_ACTIVITY_BUFFER:
                self.dropped += 1
                self._unreported += 1
                return
            self.pending.append(entry)
            due = len(self.pending) >= settings.API_ACTIVITY_FLUSH_BATCH
        if self.thread is None and settings.API_ACTIVITY_BACKGROUND:
            self._start()
        if due:
            self.wake.set()

    def discard(self) -> None:
        """Forget what is buffered (tests start from an empty buffer)."""
        with self.lock:
            self.pending, self.dropped, self._unreported = [], 0, 0

    def flush(self) -> int:
        """Write everything buffered; returns how many rows were written. A batch the database
        refuses is dropped and counted, so a broken database cannot fill memory."""
        with self.lock:
            batch, self.pending = self.pending, []
            unreported, self._unreported = self._unreported, 0
        written = 0
        try:
            for start in range(0, len(batch), INSERT_CHUNK):
                chunk = batch[start : start + INSERT_CHUNK]
                try:
                    with transaction.atomic():
                        _lock_wait_bounded()
                        values_write(_values(chunk))
                except DatabaseError as exc:
                    log.warning("activity: %d entries dropped: %s", len(chunk), type(exc).__name__)
                    with self.lock:
                        self.dropped += len(chunk)
                    unreported += len(chunk)
                    continue
                written += len(chunk)
        finally:
            if unreported:
                _count_dropped(unreported)
        return written

    def _start(self) -> None:
        with self.lock:
            if self.thread is not None:
                return
            self.thread = threading.Thread(target=self._run, name="key-activity", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            self.wake.wait(settings.API_ACTIVITY_FLUSH_SECONDS)
            self.wake.clear()
            try:
                self.flush()
            except Exception:  # the thread must outlive any one failure
                log.exception("activity: flush failed")
            finally:
                connection.close()  # this thread's own: it holds none between flushes

    def after_fork(self) -> None:
        """In a forked child: the parent's buffer is the parent's to write; start afresh."""
        self.lock = threading.Lock()
        self.pending, self._unreported, self.dropped = [], 0, 0
        self.wake = threading.Event()
        self.thread = None


def _lock_wait_bounded() -> None:
    """A batch waits at most LOCK_WAIT for a lock, then is dropped and counted like any batch
    the database refuses: activity must never queue behind a long lock (a migration, a
    TRUNCATE), holding the lock it took on the rows table while it waits for the hourly one."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT_MS}ms'")


# the columns an entry fills, in the order ``values_write`` takes them
COLUMNS = ("key_id", "at", "door", "operation", "kind", "record_id", "status", "duration_ms", "ip")


def _values(chunk: list[Entry]) -> list[tuple]:
    return [(entry[0], datetime.fromtimestamp(entry[1], UTC), *entry[2:]) for entry in chunk]


def rows_write(rows: list[KeyActivity]) -> None:
    """Write unsaved ``KeyActivity`` rows (tests and benchmarks make them) through
    ``values_write``."""
    values_write([tuple(getattr(row, name) for name in COLUMNS) for row in rows])


def values_write(values: list[tuple]) -> None:
    """Write activity rows, each a tuple in COLUMNS order, and add them to their keys' hourly
    counts (call inside a transaction, so both or neither land). The one way activity is
    written. On PostgreSQL the rows go in with one COPY: the writer thread shares its process's
    CPU with the requests it records, and building a model instance per row cost it about
    30 ms per 500 rows (bench/auth.py); elsewhere (SQLite) with one bulk INSERT per 1000."""
    if not values:
        return
    if connection.vendor == "postgresql":
        copy_sql = f"COPY {KeyActivity._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN"
        with connection.cursor() as cursor, connection.wrap_database_errors:
            with cursor.cursor.copy(copy_sql) as copy:
                for row in values:
                    copy.write_row(row)
    else:
        KeyActivity.objects.bulk_create(
            [KeyActivity(**dict(zip(COLUMNS, row, strict=True))) for row in values],
            batch_size=1000,
        )
    totals: Counter = Counter()
    failures: Counter = Counter()
    for key_id, at, *_, status, _duration, _ip in values:
        slot = (key_id, at.astimezone(UTC).replace(minute=0, second=0, microsecond=0))
        totals[slot] += 1
        failures[slot] += status >= 400
    table = connection.ops.quote_name(KeyActivityHour._meta.db_table)
    placeholders = ", ".join(["(%s, %s, %s, %s)"] * len(totals))
    params = [p for slot, n in totals.items() for p in (*slot, n, failures[slot])]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key_id, hour, total, failed) VALUES {placeholders} "  # noqa: S608 - names are ours
            f"ON CONFLICT (key_id, hour) DO UPDATE SET total = {table}.total + excluded.total, "
            f"failed = {table}.failed + excluded.failed",
            params,
        )


def _count_dropped(n: int) -> None:
    try:
        cache.add(DROPPED, 0, timeout=None)
        cache.incr(DROPPED, n)
    except Exception as exc:  # noqa: BLE001 - a counter must not fail the flush
        log.warning("activity: %d dropped entries not counted: %s", n, type(exc).__name__)


def dropped_total() -> int:
    """Entries dropped by every process sharing the cache, as far as they have reported."""
    return int(cache.get(DROPPED) or 0)


recorder = Recorder()
os.register_at_fork(after_in_child=recorder.after_fork)


def _flush_at_exit() -> None:
    if not settings.API_ACTIVITY_BACKGROUND:  # entries wait for an explicit flush
        return
    if recorder.pending or recorder._unreported:
        try:
            recorder.flush()
        except Exception:  # noqa: BLE001 - the process is leaving either way
            log.exception("activity: flush at exit failed")


atexit.register(_flush_at_exit)


def record(
    *,
    key_id: int,
    door: str,
    operation: str,
    kind: str,
    record_id: int | None,
    status: int,
    started: float,
    duration: float,
    ip: str | None,
) -> None:
    """Buffer what one operation did; ``started`` in epoch seconds, ``duration`` in seconds."""
    if settings.API_ACTIVITY_ENABLED:
        recorder.record(
            (key_id, started, door, operation, kind, record_id, status, int(duration * 1000), ip)
        )


def activity_trim(*, batch: int | None = None, max_batches: int = 100) -> int:
    """Delete rows older than API_ACTIVITY_RETENTION, ``batch`` rows per statement, at most
    ``max_batches`` statements a run (the next run takes the rest). Returns how many."""
    batch = batch or settings.API_ACTIVITY_TRIM_BATCH
    cutoff = timezone.now() - settings.API_ACTIVITY_RETENTION
    total = 0
    for _ in range(max_batches):
        ids = list(
            KeyActivity.objects.filter(at__lt=cutoff)
            .order_by("at")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        deleted, _ = KeyActivity.objects.filter(pk__in=ids).delete()
        total += deleted
        if len(ids) < batch:
            break
    # the hourly counts of the same hours (at most 24 a key a day: one statement)
    KeyActivityHour.objects.filter(hour__lt=cutoff - timedelta(hours=1)).delete()
    return total
