"""A fault-injecting HTTP reverse proxy on 127.0.0.1, for tests of retries, timeouts and broken transfers.

    with FaultProxy("http://127.0.0.1:5000") as proxy:
        base = proxy.start()                   # http://127.0.0.1:PORT
        proxy.fail(500, path_contains="/manifests/")
        proxy.fail(429, headers={"Retry-After": "1"})
        proxy.stall(2.0)                       # answer late: client read timeouts
        proxy.truncate()                       # full Content-Length, half the body, then close
        proxy.drop()                           # close without answering
        proxy.drip(0.1)                        # the body one byte at a time: each read is quick, the answer never ends
        proxy.inflate(64 * 2**20)              # the body padded to 64 MiB, chunked; `written` says what got out
        proxy.add_headers({"Link": "<...>; rel=next"})

Rules are queued: a request fires the first rule that matches it, and a rule fires `times` times. Requests
that match no rule are forwarded untouched (apart from hop-by-hop headers and upstream `Location`s).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import socket
import threading
import types
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self, cast

from tests.support.serving import BackgroundServer

# RFC 9110 section 7.6.1: meaningful for one connection only, never forwarded. Expect is answered here
# (the stdlib sends 100 Continue) and the body is forwarded whole, so it goes too.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "expect",
    }
)

Kind = Literal["fail", "stall", "truncate", "drop", "drip", "inflate", "headers"]
BLOCK = 64 * 1024


@dataclass
class Rule:
    kind: Kind
    times: int
    path_contains: str = ""
    method: str | None = None
    status: int = 0
    headers: dict[str, str] | None = None
    seconds: float = 0.0
    size: int = 0
    declare: bool = False  # inflate: send the true Content-Length; drip: drip the headers too

    def matches(self, method: str, path: str) -> bool:
        return self.path_contains in path and (self.method is None or self.method.upper() == method)


@dataclass
class Upstream:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


class FaultProxy:
    """Forwards to `upstream` (e.g. "http://127.0.0.1:5000"), injecting the faults queued with the methods below."""

    def __init__(self, upstream: str, timeout: float = 60.0) -> None:
        parts = urllib.parse.urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, not {upstream!r}")
        self.upstream = upstream.rstrip("/")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._netloc = parts.netloc
        self._prefix = parts.path.rstrip("/")
        self.timeout = timeout
        # (method, path, status sent) per request, in the order answered; status 0 means dropped unanswered.
        self.requests: list[tuple[str, str, int]] = []
        # (path, body bytes written) per dripped or inflated answer, once it ended or the client hung up.
        self.written: list[tuple[str, int]] = []
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self._serving: BackgroundServer[_ProxyServer] = BackgroundServer("faultproxy")

    # -- faults -----------------------------------------------------------------------------------

    def fail(
        self,
        status: int,
        times: int = 1,
        path_contains: str = "",
        method: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer `status` (with `headers`, e.g. Retry-After) instead of forwarding."""
        self._add(Rule("fail", times, path_contains, method, status=status, headers=headers))

    def stall(self, seconds: float, times: int = 1, path_contains: str = "") -> None:
        """Wait `seconds` before forwarding, so that clients with a shorter timeout give up."""
        self._add(Rule("stall", times, path_contains, seconds=seconds))

    def truncate(self, times: int = 1, path_contains: str = "") -> None:
        """Send the upstream's headers, full Content-Length included, then half the body, then close."""
        self._add(Rule("truncate", times, path_contains))

    def drop(self, times: int = 1, path_contains: str = "") -> None:
        """Close the connection without answering (the upstream is not contacted)."""
        self._add(Rule("drop", times, path_contains))

    def drip(self, seconds: float, times: int = 1, path_contains: str = "", headers_too: bool = False) -> None:
        """Forward, then send the upstream's headers (full Content-Length) and the body one byte every `seconds`;
        the status line and headers too if `headers_too`."""
        self._add(Rule("drip", times, path_contains, seconds=seconds, declare=headers_too))

    def inflate(self, size: int, times: int = 1, path_contains: str = "", declare: bool = False) -> None:
        """Forward, then send the upstream's body padded with spaces to `size` bytes (JSON stays JSON), chunked
        without a Content-Length, or with the true one if `declare`."""
        self._add(Rule("inflate", times, path_contains, size=size, declare=declare))

    def add_headers(self, headers: dict[str, str], times: int = 1, path_contains: str = "") -> None:
        """Forward, adding (or replacing) `headers` in the upstream's answer."""
        self._add(Rule("headers", times, path_contains, headers=headers))

    def clear(self) -> None:
        """Forget the faults that have not fired yet."""
        with self._lock:
            self._rules.clear()

    @property
    def pending(self) -> int:
        """How many more times queued faults will fire: 0 once every fault has been used."""
        with self._lock:
            return sum(rule.times for rule in self._rules)

    def _add(self, rule: Rule) -> None:
        if rule.times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._rules.append(rule)

    def _take(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.times -= 1
                    if rule.times == 0:
                        self._rules.remove(rule)
                    return rule
        return None

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> str:
        """Listen on 127.0.0.1 (a free port) in a background thread; return the proxy's base URL."""
        if not self._serving.running:
            self._closing.clear()
            self._serving.start(lambda address: _ProxyServer(address, self))
        return self.url

    @property
    def url(self) -> str:
        if not self._serving.running:
            raise RuntimeError("the proxy is not running: call start() first")
        return f"http://127.0.0.1:{self._serving.port}"

    def close(self) -> None:
        self._closing.set()  # wakes stalled handlers
        self._serving.stop()
        # Keep-alive connections outlive serve_forever(): cut them so no request is forwarded after close().
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: types.TracebackType | None
    ) -> None:
        self.close()

    # -- forwarding -------------------------------------------------------------------------------

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests.append((method, path, status))

    def _track(self, connection: socket.socket, active: bool) -> None:
        with self._lock:
            if active:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _forward(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes | None) -> Upstream:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        try:
            # putrequest/putheader rather than request(): repeated headers (several Accept lines, as the
            # Docker client sends) survive, and nothing is added behind the caller's back.
            connection.putrequest(method, self._prefix + path, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", self._netloc)
            for name, value in headers:
                connection.putheader(name, value)
            if body is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            # http.client undoes chunked transfer coding but leaves Content-Encoding alone: bytes stay as sent.
            return Upstream(response.status, response.reason, response.getheaders(), response.read())
        finally:
            connection.close()

    def _rewrite_location(self, value: str) -> str:
        if self._serving.running and value.startswith(self.upstream):
            return self.url + value[len(self.upstream) :]
        return value


class _ProxyServer(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], proxy: FaultProxy) -> None:
        super().__init__(address, _ProxyHandler)
        self.proxy = proxy


class _ProxyHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive as registry clients expect; every answer carries a Content-Length.
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def setup(self) -> None:
        super().setup()
        self.server.proxy._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.proxy._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = self.headers.get("Content-Length")
        return self.rfile.read(int(length)) if length is not None else None

    def _handle(self) -> None:
        proxy = self.server.proxy
        method, path = self.command, self.path
        # Read the whole request first: a keep-alive connection must not be left mid-body, whatever happens.
        body = self._read_body()
        rule = proxy._take(method, path)
        if rule is not None and rule.kind == "drop":
            self.close_connection = True
            proxy._record(method, path, 0)
            return
        if rule is not None and rule.kind == "fail":
            self._send_fault(rule)
            proxy._record(method, path, rule.status)
            return
        if rule is not None and rule.kind == "stall" and proxy._closing.wait(rule.seconds):
            self.close_connection = True
            return

        connection_tokens = {token.strip().lower() for token in self.headers.get("Connection", "").split(",")}
        headers = [
            (name, value)
            for name, value in self.headers.items()
            if name.lower() not in HOP_BY_HOP | connection_tokens | {"host", "content-length"}
        ]
        try:
            upstream = proxy._forward(method, path, headers, body)
        except OSError as exc:
            self._send_simple(502, f"fault proxy: upstream {proxy.upstream} failed: {exc}\n".encode())
            proxy._record(method, path, 502)
            return
        try:
            self._send_upstream(upstream, rule)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a stall outlasting its timeout): nothing left to answer.
            self.close_connection = True
        proxy._record(method, path, upstream.status)

    def _send_upstream(self, upstream: Upstream, rule: Rule | None) -> None:
        proxy = self.server.proxy
        kind = rule.kind if rule is not None else None
        extra = (rule.headers or {}) if rule is not None and kind == "headers" else {}
        replaced = {name.lower() for name in extra}
        connection_tokens = {
            token.strip().lower()
            for name, value in upstream.headers
            if name.lower() == "connection"
            for token in value.split(",")
        }
        # HEAD, 1xx, 204 and 304 carry no body: their Content-Length describes the resource, keep it.
        bodiless = self.command == "HEAD" or upstream.status < 200 or upstream.status in (204, 304)
        chunked = rule is not None and kind == "inflate" and not rule.declare and not bodiless
        size = max(rule.size, len(upstream.body)) if rule is not None and kind == "inflate" else len(upstream.body)
        self.send_response_only(upstream.status, upstream.reason)
        for name, value in upstream.headers:
            lower = name.lower()
            if (
                lower in HOP_BY_HOP
                or lower in connection_tokens
                or lower in replaced
                or (lower == "content-length" and not bodiless)
            ):
                continue
            self.send_header(name, proxy._rewrite_location(value) if lower == "location" else value)
        for name, value in extra.items():
            self.send_header(name, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif not bodiless:
            self.send_header("Content-Length", str(size))
        if kind in ("truncate", "drip", "inflate"):
            # No "Connection: close" warning: a transfer cut mid-body gives the client no notice either.
            self.close_connection = True
        if rule is not None and kind == "drip":
            self._drip(b"" if bodiless else upstream.body, rule)
            return
        self.end_headers()
        if bodiless:
            return
        if rule is not None and kind == "inflate":
            self._inflate(upstream.body, size, chunked)
            return
        self.wfile.write(upstream.body[: len(upstream.body) // 2] if kind == "truncate" else upstream.body)
        self.wfile.flush()

    def _drip(self, body: bytes, rule: Rule) -> None:
        """Send the buffered headers (dripped too if the rule says so) and the body a byte at a time."""
        proxy = self.server.proxy
        out = self.wfile
        drip = _DripWriter(out, rule.seconds, proxy._closing)
        try:
            if rule.declare:
                self.wfile = cast(io.BufferedIOBase, drip)  # end_headers() writes the headers through it
            self.end_headers()
            drip.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.wfile = out
            with proxy._lock:
                proxy.written.append((self.path, drip.count))

    def _inflate(self, body: bytes, size: int, chunked: bool) -> None:
        """Send `body` padded to `size`; record how much of it got out before the end or a hang-up."""
        proxy = self.server.proxy
        written = 0
        try:
            while written < size and not proxy._closing.is_set():
                block = body[written : written + BLOCK] if written < len(body) else b""
                block += b" " * (min(BLOCK, size - written) - len(block))
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
                written += len(block)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            with proxy._lock:
                proxy.written.append((self.path, written))

    def _send_fault(self, rule: Rule) -> None:
        body = f"fault proxy: injected {rule.status}\n".encode()
        self._send_simple(rule.status, body, rule.headers or {})

    def _send_simple(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class _DripWriter:
    """Writes one byte every `seconds` (a file-like `wfile` stand-in); stops once `closing` is set."""

    def __init__(self, out: io.BufferedIOBase, seconds: float, closing: threading.Event) -> None:
        self.out = out
        self.seconds = seconds
        self.closing = closing
        self.count = 0

    def write(self, data: bytes) -> int:
        for offset in range(len(data)):
            self.out.write(data[offset : offset + 1])
            self.out.flush()
            self.count += 1
            if self.closing.wait(self.seconds):
                raise BrokenPipeError("the fault proxy is closing")
        return len(data)

    def flush(self) -> None:
        self.out.flush()
