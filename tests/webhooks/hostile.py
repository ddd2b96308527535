"""A raw-socket webhook receiver on loopback that can answer anything, in its own thread: the
receivers a delivery engine must survive. Each accepted connection reads one request (headers
and Content-Length body), counts it, then plays the chosen ``mode``."""

from __future__ import annotations

import functools
import socket
import threading
import time
import zlib

OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"


def _answer(body: bytes, head: bytes = OK_HEAD) -> bytes:
    return head + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body


# mode -> what is sent back (bytes), or a callable(conn) that plays it out.
CANNED = {
    "nul_body": _answer(b"ok\x00done"),
    "invalid_utf8": _answer(b"ok \xff\xfe\xc3\x28 \xed\xa0\x80"),
    "nul_header": _answer(b"ok", OK_HEAD + b"X-Weird: a\x00b\x01c\r\n"),
    "oversize": _answer(b"x" * (200 * 1024)),
    "cut_short": OK_HEAD + b"Content-Length: 5000\r\nConnection: close\r\n\r\nonly this",
    "garbage_status": b"HELLO THERE \xff\x00\r\n\r\n",
    "retry_after_huge": _answer(
        b"busy", b"HTTP/1.1 503 Busy\r\nRetry-After: 99999999999999999999999999999\r\n"
    ),
    "retry_after_arabic": _answer(
        b"busy", b"HTTP/1.1 503 Busy\r\nRetry-After: \xd9\xa3\xd9\xa0\r\n"
    ),
    "retry_after_date": _answer(
        b"busy", b"HTTP/1.1 429 Slow\r\nRetry-After: Fri, 31 Dec 99999 23:59:59 GMT\r\n"
    ),
    "bad_gzip": _answer(b"this is not gzip at all", OK_HEAD + b"Content-Encoding: gzip\r\n"),
}
BOMB_SIZE = 256 * 1024 * 1024  # what the nested gzip bomb expands to
BOMB_BYTE = b"A"


@functools.cache
def gzip_bomb() -> bytes:
    """BOMB_SIZE bytes of "A", gzipped, then gzipped again (``Content-Encoding: gzip, gzip``):
    a few kilobytes on the wire. Built once, in chunks (never BOMB_SIZE in memory)."""
    inner = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # fast; still ~1:100000
    outer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk, wire = BOMB_BYTE * (1024 * 1024), []
    for _ in range(BOMB_SIZE // len(chunk)):
        wire.append(outer.compress(inner.compress(chunk)))
    wire.append(outer.compress(inner.flush()))
    wire.append(outer.flush())
    return _answer(b"".join(wire), OK_HEAD + b"Content-Encoding: gzip, gzip\r\n")


BUILT = {"gzip_bomb": gzip_bomb}  # answers built on first use (they take a moment)
STALLING = ("dribble_headers", "dribble_body", "silent")
MODES = (*CANNED, *BUILT, *STALLING)


class HostileReceiver:
    def __init__(self, mode: str, *, dribble_every: float = 0.3):
        assert mode in MODES, mode
        self.mode, self.dribble_every = mode, dribble_every
        if mode in BUILT:
            BUILT[mode]()  # built now, not while a sender waits for its answer
        self.requests: list[bytes] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _read_request(self, conn) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        return head

    def _handle(self, conn) -> None:
        conn.settimeout(60)
        try:
            head = self._read_request(conn)
            if head is None:
                return
            with self._lock:
                self.requests.append(head)
            if self.mode in CANNED:
                conn.sendall(CANNED[self.mode])
            elif self.mode in BUILT:
                conn.sendall(BUILT[self.mode]())
            elif self.mode == "dribble_headers":
                conn.sendall(b"HTTP/1.1 200 OK\r\n")
                self._dribble(conn, b"X-Slow: " + b"a" * 100000)
            elif self.mode == "dribble_body":
                conn.sendall(OK_HEAD + b"Content-Length: 100000\r\n\r\n")
                self._dribble(conn, b"b" * 100000)
            else:  # silent: never answer, until the client goes
                while not self._stop.is_set() and conn.recv(1):
                    pass
        except OSError:
            pass
        finally:
            conn.close()

    def _dribble(self, conn, payload: bytes) -> None:
        for byte in payload:
            if self._stop.is_set():
                return
            conn.sendall(bytes([byte]))
            time.sleep(self.dribble_every)

    def stop(self) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(5)
