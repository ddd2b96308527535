"""Per-request deadlines for sends made in threads, where SIGALRM cannot reach.

Each sending thread registers the connection it is using and when its attempt budget ends;
the thread that started the senders calls ``sweep`` while it waits, and shuts down the socket
of any request past its deadline, so a receiver dribbling its headers or body one byte per
read timeout is cut off on time. The pools below are the urllib3 ones with that registration
added; ``install`` puts them into a requests session."""

from __future__ import annotations

import socket
import threading
import time

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_local = threading.local()
_inflight: dict[int, tuple[float, object]] = {}  # thread id -> (deadline, connection)
_cut: set[int] = set()  # threads whose current request was cut off


def _register(connection) -> None:
    deadline = getattr(_local, "deadline", None)
    if deadline is not None:
        _inflight[threading.get_ident()] = (deadline, connection)


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


def install(session) -> None:
    for adapter in session.adapters.values():
        adapter.poolmanager.pool_classes_by_scheme = {
            "http": _TrackedHTTPPool,
            "https": _TrackedHTTPSPool,
        }


class Deadline:
    """``with Deadline(seconds) as d:`` around one request in a sending thread; ``d.cut`` says
    afterwards whether ``sweep`` cut it off."""

    def __init__(self, seconds: float):
        self.seconds, self.cut = seconds, False

    def __enter__(self):
        _local.deadline = time.monotonic() + self.seconds if self.seconds > 0 else None
        return self

    def __exit__(self, *exc):
        ident = threading.get_ident()
        _local.deadline = None
        _inflight.pop(ident, None)
        self.cut = ident in _cut
        _cut.discard(ident)
        return False


def sweep() -> int:
    """Shut down the sockets of requests past their deadline; returns how many."""
    now, count = time.monotonic(), 0
    for ident, (deadline, connection) in list(_inflight.items()):
        if now < deadline or ident in _cut:
            continue
        _cut.add(ident)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        count += 1
    return count
