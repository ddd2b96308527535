"""The per-attempt deadline, in whatever thread sends (SIGALRM would reach only the main thread).

A sending thread wraps its request in ``Deadline(seconds)``; the connection registers itself
when it sends the request; one watchdog thread per process shuts down the socket of any
request past its deadline, so a receiver dribbling its headers or body one byte per read
timeout is cut off on time and the blocked read returns at once. The pools below are urllib3's
with that registration added; ``install`` puts them into a requests adapter."""

from __future__ import annotations

import math
import os
import socket
import threading
import time

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_local = threading.local()
_state = threading.Condition()  # guards what follows; notified of a deadline earlier than due
_inflight: dict[int, tuple[float, object]] = {}  # thread id -> (deadline, connection)
_cut: set[int] = set()  # threads whose current request was cut off
_watchdog_pid: int | None = None
_wakes_at = math.inf  # when the watchdog wakes next (monotonic)


def _register(connection) -> None:
    deadline = getattr(_local, "deadline", None)
    if deadline is None:
        return
    with _state:
        _inflight[threading.get_ident()] = (deadline, connection)
        _start_watchdog()
        if deadline < _wakes_at:  # else it wakes in time anyway: no thread switch per request
            _state.notify()


def _start_watchdog() -> None:
    """One per process, started on first use (after a prefork worker forks its child)."""
    global _watchdog_pid
    if _watchdog_pid != os.getpid():
        _watchdog_pid = os.getpid()
        threading.Thread(target=_watch, name="webhook-deadline", daemon=True).start()


def _watch() -> None:
    global _wakes_at
    with _state:
        while True:
            now, waits = time.monotonic(), []
            for ident, (deadline, connection) in list(_inflight.items()):
                if ident in _cut:
                    continue
                if now < deadline:
                    waits.append(deadline - now)
                    continue
                _cut.add(ident)
                sock = getattr(connection, "sock", None)
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            _wakes_at = now + min(waits) if waits else math.inf
            _state.wait(min(waits) if waits else None)


def _after_fork_in_child() -> None:
    # A fork may have copied the condition's lock held by the parent's watchdog.
    global _state, _watchdog_pid, _wakes_at
    _state, _watchdog_pid, _wakes_at = threading.Condition(), None, math.inf
    _inflight.clear()
    _cut.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


class _TrackedHTTPConnection(HTTPConnection):
    def request(self, *args, **kwargs):
        _register(self)
        return super().request(*args, **kwargs)


class _TrackedHTTPSConnection(HTTPSConnection):
    def request(self, *args, **kwargs):
        _register(self)
        return super().request(*args, **kwargs)


class _TrackedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection


class _TrackedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection


def install(adapter) -> None:
    adapter.poolmanager.pool_classes_by_scheme = {
        "http": _TrackedHTTPPool,
        "https": _TrackedHTTPSPool,
    }


class Deadline:
    """``with Deadline(seconds) as d:`` around one request, in any thread; ``d.cut`` says
    afterwards whether the watchdog cut it off. ``seconds`` <= 0: no deadline."""

    def __init__(self, seconds: float):
        self.seconds, self.cut = seconds, False

    def __enter__(self):
        _local.deadline = time.monotonic() + self.seconds if self.seconds > 0 else None
        return self

    def __exit__(self, *exc):
        ident = threading.get_ident()
        _local.deadline = None
        with _state:
            _inflight.pop(ident, None)
            self.cut = ident in _cut
            _cut.discard(ident)
        return False
