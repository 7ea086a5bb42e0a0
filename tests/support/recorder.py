"""An HTTP server on 127.0.0.1 that answers every request with one JSON body and records what it was sent.

It stands for "another host" in tests of where credentials go (a token service, a next-page link):

    with RecordingServer({"token": "t0ken"}) as server:
        realm = server.url_for("localhost", "/token")    # another host name for the same listener
        ...
        assert [request.headers.get("Authorization") for request in server.requests] == [None]
"""

from __future__ import annotations

import json
import threading
import types
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from tests.support.serving import BackgroundServer


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]


class RecordingServer:
    def __init__(self, answer: object) -> None:
        self.body = json.dumps(answer).encode()
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._serving: BackgroundServer[_Server] = BackgroundServer("recorder")

    def url_for(self, host: str, path: str) -> str:
        """This server's URL for `path` under the name `host` (127.0.0.1 or localhost)."""
        return f"http://{host}:{self._serving.port}{path}"

    def record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def __enter__(self) -> Self:
        self._serving.start(lambda address: _Server(address, self))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: types.TracebackType | None
    ) -> None:
        self._serving.stop()


class _Server(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], owner: RecordingServer) -> None:
        super().__init__(address, _Handler)
        self.owner = owner


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.server.owner
        owner.record(Recorded(self.command, self.path, dict(self.headers.items())))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(owner.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(owner.body)

    do_HEAD = do_GET
