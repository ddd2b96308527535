"""A TCP proxy on loopback for tests that need a network that misbehaves without closing
anything: ``stall()`` black-holes every byte, both ways, on every connection old and new (as a
dropped route or a silent firewall does), and no connection is ever closed by it."""

from __future__ import annotations

import contextlib
import socket
import threading


class StallingProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stalled = threading.Event()
        self.sockets: list[socket.socket] = [self.listener]
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def stall(self) -> None:
        self.stalled.set()

    def stop(self) -> None:
        with self._lock:
            for sock in self.sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    def _keep(self, *socks: socket.socket) -> None:
        with self._lock:
            self.sockets.extend(socks)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # stopped
            self._keep(client)
            if self.stalled.is_set():  # a new connection opens, and nothing ever comes back
                threading.Thread(target=self._pump, args=(client, None), daemon=True).start()
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            self._keep(upstream)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket | None) -> None:
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                return
            if not data:
                if not self.stalled.is_set() and dst is not None:
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)
                return
            if self.stalled.is_set() or dst is None:
                continue  # black hole: read and dropped, never answered, never closed
            try:
                dst.sendall(data)
            except OSError:
                return
