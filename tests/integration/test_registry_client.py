"""The registry client against the real registry, directly and through a fault-injecting proxy."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator

import pytest

from builder.errors import RegistryError
from builder.registry import RegistryAuthError, RegistryClient, RegistryNotFound
from tests.integration.faultproxy import FaultProxy

SEED = "library/debian:bookworm-slim"


@pytest.fixture
def proxy(registry: str) -> Iterator[FaultProxy]:
    with FaultProxy(f"http://{registry}") as fault:
        fault.start()
        yield fault


def through(proxy: FaultProxy) -> str:
    return proxy.url.removeprefix("http://")


def quick_client(**kwargs: object) -> RegistryClient:
    return RegistryClient(timeout=kwargs.pop("timeout", 2.0), backoff=0.05, **kwargs)  # type: ignore[arg-type]


def test_digest_manifest_and_tags(registry: str) -> None:
    client = quick_client()
    digest = client.digest(f"{registry}/{SEED}")
    assert digest.startswith("sha256:")
    manifest = client.manifest(f"{registry}/library/debian@{digest}")
    assert manifest.digest == digest
    assert not manifest.is_index
    assert client.platform_digests(f"{registry}/{SEED}") == {}
    assert sorted(client.tags(f"{registry}/library/debian", page_size=1)) == ["bookworm-slim", "trixie-slim"]


def test_missing_things_are_typed_errors(registry: str) -> None:
    client = quick_client()
    with pytest.raises(RegistryNotFound):
        client.digest(f"{registry}/library/debian:no-such-tag")
    with pytest.raises(RegistryNotFound):
        client.tags(f"{registry}/no/such-repo")


def test_retries_500s_and_honours_retry_after(proxy: FaultProxy) -> None:
    client = quick_client()
    proxy.fail(500, times=2, path_contains="/manifests/")
    assert client.digest(f"{through(proxy)}/{SEED}").startswith("sha256:")
    proxy.fail(429, times=1, path_contains="/manifests/", headers={"Retry-After": "1"})
    start = time.monotonic()
    assert client.digest(f"{through(proxy)}/{SEED}").startswith("sha256:")
    assert time.monotonic() - start >= 1.0
    assert manifest_statuses(proxy) == [500, 500, 200, 429, 200]


def manifest_statuses(proxy: FaultProxy, expected: int = 5) -> list[int]:
    """The proxy logs a request just after answering it: give the last one a moment."""
    deadline = time.monotonic() + 2.0
    while True:
        statuses = [status for _, path, status in proxy.requests if "/manifests/" in path]
        if len(statuses) >= expected or time.monotonic() > deadline:
            return statuses
        time.sleep(0.02)


def test_stalls_truncations_and_drops_are_retried(proxy: FaultProxy) -> None:
    client = quick_client(timeout=0.5)
    proxy.stall(2.0, times=1, path_contains="/manifests/")
    proxy.truncate(times=1, path_contains="/manifests/")
    proxy.drop(times=1, path_contains="/manifests/")
    manifest = client.manifest(f"{through(proxy)}/{SEED}")
    assert manifest.digest.startswith("sha256:")


def test_persistent_failure_gives_up_with_a_clear_error(proxy: FaultProxy) -> None:
    client = quick_client()
    proxy.fail(503, times=10, path_contains="/manifests/")
    with pytest.raises(RegistryError, match=r"HTTP 503 after 5 attempts"):
        client.digest(f"{through(proxy)}/{SEED}")


def test_basic_auth(auth_registry: str, registry: str) -> None:
    anonymous = quick_client()
    with pytest.raises(RegistryAuthError, match="wants credentials"):
        anonymous.tags(f"{auth_registry}/library/debian")
    wrong = quick_client(credentials=lambda _host: ("builder", "wrong"))
    with pytest.raises(RegistryAuthError, match="HTTP 401"):
        wrong.tags(f"{auth_registry}/library/debian")
    right = quick_client(credentials=lambda _host: ("builder", "builder-secret"))
    with pytest.raises(RegistryNotFound):  # authenticated; that repository just isn't there
        right.tags(f"{auth_registry}/library/nothing-here")


def test_bearer_token_flow(proxy: FaultProxy) -> None:
    """The WWW-Authenticate Bearer dance of Docker Hub and GHCR, against a token service of our own."""
    seen: list[str] = []

    class Tokens(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = json.dumps({"token": "t0ken"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Tokens)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        realm = f"http://127.0.0.1:{server.server_address[1]}/token"
        challenge = f'Bearer realm="{realm}",service="registry.test",scope="repository:library/debian:pull"'
        proxy.fail(401, times=1, path_contains="/manifests/", headers={"WWW-Authenticate": challenge})
        assert quick_client().digest(f"{through(proxy)}/{SEED}").startswith("sha256:")
        assert seen == ["/token?service=registry.test&scope=repository%3Alibrary%2Fdebian%3Apull"]
    finally:
        server.shutdown()
