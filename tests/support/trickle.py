"""A TCP server on 127.0.0.1 that answers every connection with a few bytes, then one byte at a time.

It stands for a peer that never finishes and never falls silent long enough for a read timeout, at any stage
of a request: `prefix` chooses the stage. The prefix of a TLS handshake record makes a TLS client wait in its
handshake; an HTTP status line makes an HTTP client wait in the headers.

    with Trickle(b"\\x16\\x03\\x03\\x40\\x00", seconds=0.05) as trickle:
        ...  # connect to https://127.0.0.1:{trickle.port}/
        assert trickle.connections == 1
"""

from __future__ import annotations

import contextlib
import socketserver
import threading
import types
from http.server import ThreadingHTTPServer
from typing import Self

from tests.support.serving import BackgroundServer

# The header of a TLS handshake record announcing 16 KiB: a TLS client reads on until it has them all.
TLS_RECORD = b"\x16\x03\x03\x40\x00"


class Trickle:
    def __init__(self, prefix: bytes, seconds: float) -> None:
        self.prefix = prefix
        self.seconds = seconds
        self.connections = 0
        self.closing = threading.Event()
        self._lock = threading.Lock()
        self._serving: BackgroundServer[_Server] = BackgroundServer("trickle")

    @property
    def port(self) -> int:
        return self._serving.port

    def counted(self) -> None:
        with self._lock:
            self.connections += 1

    def __enter__(self) -> Self:
        self.closing.clear()
        self._serving.start(lambda address: _Server(address, self))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: types.TracebackType | None
    ) -> None:
        self.closing.set()
        self._serving.stop()


class _Server(ThreadingHTTPServer):
    # ThreadingHTTPServer only for the shared lifecycle (BackgroundServer): the handler speaks no HTTP.
    def __init__(self, address: tuple[str, int], owner: Trickle) -> None:
        super().__init__(address, _Handler)
        self.owner = owner


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        owner = self.server.owner
        owner.counted()
        with contextlib.suppress(OSError):  # the client hung up: what a trickle waits for
            self.request.sendall(owner.prefix)
            while not owner.closing.wait(owner.seconds):
                self.request.sendall(b"\x00")
