"""An http.server on 127.0.0.1 (a free port), served in a background thread: the test servers' shared lifecycle.

serving: BackgroundServer[ThreadingHTTPServer] = BackgroundServer("myserver")
server = serving.start(lambda address: ThreadingHTTPServer(address, Handler))
url = f"http://127.0.0.1:{serving.port}/"
...
serving.stop()
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import HTTPServer
from typing import Generic, TypeVar

HOST = "127.0.0.1"
# A short poll interval keeps stop() (which waits for the serve loop to notice) fast.
POLL_INTERVAL = 0.05

ServerT = TypeVar("ServerT", bound=HTTPServer)


class BackgroundServer(Generic[ServerT]):
    """At most one server at a time, run by `serve_forever` in a daemon thread called `name`.

    `stop()` may be called any number of times, and `start()` again after it (on a new port).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._server: ServerT | None = None
        self._thread: threading.Thread | None = None

    def start(self, server_factory: Callable[[tuple[str, int]], ServerT]) -> ServerT:
        """Bind `server_factory((HOST, 0))` and serve it in the background; return the server."""
        if self._server is not None:
            raise RuntimeError(f"{self.name} is already running")
        server = server_factory((HOST, 0))
        thread = threading.Thread(target=server.serve_forever, args=(POLL_INTERVAL,), name=self.name, daemon=True)
        try:
            thread.start()
        except BaseException:
            # shutdown() would wait forever for a serve loop that never ran: just release the port.
            server.server_close()
            raise
        self._server, self._thread = server, thread
        return server

    @property
    def server(self) -> ServerT | None:
        return self._server

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self.name} is not running")
        return int(self._server.server_address[1])

    def stop(self, after_close: Callable[[ServerT], None] | None = None) -> None:
        """Stop serving and close the listening socket, then call `after_close(server)` if it was running.

        `after_close` is the place to cut connections the server still holds: handler threads outlive
        the serve loop.
        """
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
            if after_close is not None:
                after_close(server)
        if thread is not None:
            thread.join(timeout=5)
