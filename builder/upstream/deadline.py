"""Bounds on one HTTP request made with requests: an overall deadline, and a size limit on its body.

The per-read timeout alone lets a server that sends a byte at a time hold a request forever: when the
deadline passes, the sockets the request uses are shut down, so that whatever read is under way ends.
Mount `DeadlineAdapter` on a session and make each request inside `with Deadline(seconds):`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import threading
from typing import Any

import requests
import requests.adapters

_current = threading.local()


class Deadline:
    """When the time is up, shut down the sockets this thread's request uses, so a read that bytes keep
    trickling into ends too. Each socket is watched through its own duplicate descriptor: that one stays
    valid (and is no other socket) however the connection is closed or wrapped in TLS meanwhile."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._seconds = seconds
        self._guards: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        _current.deadline = None
        with self._lock:
            guards, self._guards = self._guards, []
        for guard in guards:
            guard.close()

    def watch(self, sock: socket.socket) -> None:
        guard = socket.socket(fileno=os.dup(sock.fileno()))
        with self._lock:
            self._guards.append(guard)
            expired = self.expired
        if expired:
            _cut(guard)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            guards = list(self._guards)
        for guard in guards:
            _cut(guard)


def _cut(guard: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the peer closed it first
        guard.shutdown(socket.SHUT_RDWR)


def _watch(sock: socket.socket | None) -> None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None and sock is not None:
        deadline.watch(sock)


class _WatchedConnection:
    """Mixed into urllib3's connection classes: new sockets, and reused ones at each request, are watched."""

    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)
        super().request(*args, **kwargs)  # type: ignore[misc]


@functools.cache
def _watched_pool(pool: type[Any]) -> type[Any]:
    if issubclass(pool.ConnectionCls, _WatchedConnection):
        return pool
    connection = type(f"Watched{pool.ConnectionCls.__name__}", (_WatchedConnection, pool.ConnectionCls), {})
    return type(f"Watched{pool.__name__}", (pool,), {"ConnectionCls": connection})


def _watch_pools(manager: Any) -> Any:
    manager.pool_classes_by_scheme = {
        scheme: _watched_pool(pool) for scheme, pool in manager.pool_classes_by_scheme.items()
    }
    return manager


class DeadlineAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter whose connections (direct or through a proxy) a `Deadline` can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _watch_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        return _watch_pools(super().proxy_manager_for(proxy, **kwargs))


def read_limited(response: requests.Response, limit: int) -> bytes | None:
    """The body, read as it arrives; None as soon as it is longer than `limit` (then closing the response
    closes the connection: the rest is never read)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
