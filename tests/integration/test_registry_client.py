"""The registry client against the real registry, directly and through a fault-injecting proxy.

A registry (or whoever answers for it) is not trusted: a slow drip ends at the deadline, an oversize body
is not read to its end, and neither a `Link` nor a token realm takes the credentials to another host.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from builder.core.errors import RegistryError
from builder.upstream.registry import ACCEPT, MAX_MANIFEST, RegistryClient
from builder.upstream.registry_errors import (
    RegistryAuthError,
    RegistryDeadlineExceeded,
    RegistryNotFound,
    RegistryOffsite,
    RegistryTooLarge,
)
from builder.upstream.registry_origins import check_token_realm, next_page_url
from tests.support.faultproxy import FaultProxy
from tests.support.recorder import RecordingServer
from tests.support.trickle import TLS_RECORD, Trickle

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
    with RecordingServer({"token": "t0ken"}) as tokens:
        realm = tokens.url_for("127.0.0.1", "/token")
        challenge = f'Bearer realm="{realm}",service="registry.test",scope="repository:library/debian:pull"'
        proxy.fail(401, times=1, path_contains="/manifests/", headers={"WWW-Authenticate": challenge})
        assert quick_client().digest(f"{through(proxy)}/{SEED}").startswith("sha256:")
    assert [request.path for request in tokens.requests] == [
        "/token?service=registry.test&scope=repository%3Alibrary%2Fdebian%3Apull"
    ]


# -- what a registry is not trusted with ------------------------------------------------------------------
CREDENTIALS = ("builder", "s3cret")
MANIFEST_PATH = "/v2/library/debian/manifests/bookworm-slim"


def ended_within(seconds: float, call: Callable[[], object]) -> tuple[BaseException | None, float]:
    """Run `call` in a thread; fail unless it ends within `seconds`. Its exception (or None), and how long it took."""
    caught: list[BaseException] = []
    start = time.monotonic()

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # handed back to the test
            caught.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still waiting for an answer after {seconds} s"
    return (caught[0] if caught else None), time.monotonic() - start


def written(proxy: FaultProxy, expected: int) -> list[int]:
    """Body bytes the proxy got out per streamed answer; waits a moment for the last one to be logged."""
    deadline = time.monotonic() + 5.0
    while len(proxy.written) < expected and time.monotonic() < deadline:
        time.sleep(0.02)
    return [count for _, count in proxy.written]


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "headers-and-body"])
def test_a_slow_drip_ends_at_the_deadline(proxy: FaultProxy, registry: str, headers_too: bool) -> None:
    """Each read gets a byte well within the read timeout; the deadline still ends each attempt."""
    size = len(requests.get(f"http://{registry}{MANIFEST_PATH}", timeout=5, headers={"Accept": ACCEPT}).content)
    client = quick_client(timeout=2.0, deadline=1.0, retries=1)
    client.digest(f"{through(proxy)}/{SEED}")  # the first drip comes on a connection kept alive from here
    # 20 bytes a second: the whole answer would take half a minute
    proxy.drip(0.05, times=2, path_contains="/manifests/", headers_too=headers_too)
    error, elapsed = ended_within(6.0, lambda: client.manifest(f"{through(proxy)}/{SEED}"))
    assert isinstance(error, RegistryDeadlineExceeded)
    assert str(error) == (
        f"GET {proxy.url}{MANIFEST_PATH}: no complete answer within the 1 s deadline, "
        "2 attempts (the registry, or the network to it, stalls or is too slow: retry later)"
    )
    assert 2.0 <= elapsed < 4.0
    sent = written(proxy, 2)
    assert len(sent) == 2
    assert all(0 < count < size // 4 for count in sent), (sent, size)


def test_the_drip_really_delivers_the_whole_answer_to_a_patient_reader(proxy: FaultProxy, registry: str) -> None:
    """The fixture itself: without a deadline the dripped answer is complete, just slow."""
    whole = requests.get(f"http://{registry}{MANIFEST_PATH}", timeout=5, headers={"Accept": ACCEPT})
    proxy.drip(0.001, path_contains="/manifests/")
    proxy.drip(0.001, path_contains="/manifests/", headers_too=True)
    for _ in range(2):
        dripped = requests.get(f"{proxy.url}{MANIFEST_PATH}", timeout=5, headers={"Accept": ACCEPT})
        assert dripped.content == whole.content
        assert dripped.headers["Docker-Content-Digest"] == whole.headers["Docker-Content-Digest"]
    body, headers_and_body = written(proxy, 2)
    assert body == len(whole.content)
    assert headers_and_body > body + 100


def test_a_token_service_that_trickles_its_tls_handshake_ends_at_the_deadline(proxy: FaultProxy) -> None:
    """The deadline also holds before any HTTP: in the TLS handshake with an https realm."""
    with Trickle(TLS_RECORD, seconds=0.05) as trickle:
        realm = f"https://localhost:{trickle.port}/token"
        proxy.fail(401, path_contains="/manifests/", headers=bearer(realm))
        # CPython bounds a whole TLS handshake by the socket timeout: keep that out of reach
        client = quick_client(credentials=lambda _host: CREDENTIALS, timeout=5.0, deadline=1.0)
        error, elapsed = ended_within(4.0, lambda: client.digest(f"{through(proxy)}/{SEED}"))
    assert isinstance(error, RegistryDeadlineExceeded)
    assert str(error) == (
        f"{through(proxy)}: token service {realm!r}: no complete answer within the 1 s "
        "deadline (it stalls or is too slow: retry later)"
    )
    assert 1.0 <= elapsed < 2.5
    assert trickle.connections == 1


@pytest.mark.parametrize("declare", [False, True], ids=["chunked", "content-length"])
def test_an_oversize_manifest_is_not_read_to_its_end(proxy: FaultProxy, declare: bool) -> None:
    size = 64 * 2**20
    proxy.inflate(size, path_contains="/manifests/", declare=declare)
    error, _ = ended_within(20.0, lambda: quick_client().manifest(f"{through(proxy)}/{SEED}"))
    assert isinstance(error, RegistryTooLarge)
    assert str(error) == (
        f"GET {proxy.url}{MANIFEST_PATH}: a manifest larger than {MAX_MANIFEST} bytes, "
        "reading stopped (no registry sends that much for it: check the reference and what "
        "answers for the registry)"
    )
    # What got out is at most the limit plus what the two sockets' buffers hold: far from all of it.
    [sent] = written(proxy, 1)
    assert sent < size // 4, sent
    if not declare:
        assert sent > MAX_MANIFEST  # the client counted the bytes it read, no header told it


def test_the_inflated_body_really_reaches_a_reader_that_reads_it_all(proxy: FaultProxy) -> None:
    """The fixture itself: the proxy's count is what left it, and it sends everything when it is read."""
    proxy.inflate(8 * 2**20, path_contains="/manifests/")
    answer = requests.get(f"{proxy.url}{MANIFEST_PATH}", timeout=5, headers={"Accept": ACCEPT})
    assert len(answer.content) == 8 * 2**20
    json.loads(answer.content)  # padded JSON is still JSON: only the size limit refuses it
    assert written(proxy, 1) == [8 * 2**20]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_next_page_link_off_the_registry_is_not_followed(proxy: FaultProxy, host: str) -> None:
    with RecordingServer({"name": "library/debian", "tags": ["from-elsewhere"]}) as elsewhere:
        link = elsewhere.url_for(host, "/v2/library/debian/tags/list?n=1&last=trixie-slim")
        # The proxy asks for credentials, so that every page request carries them.
        proxy.fail(401, path_contains="/tags/list", headers={"WWW-Authenticate": 'Basic realm="registry"'})
        proxy.add_headers({"Link": f'<{link}>; rel="next"'}, times=5, path_contains="/tags/list")
        client = quick_client(credentials=lambda _host: CREDENTIALS)
        with pytest.raises(RegistryOffsite) as caught:
            client.tags(f"{through(proxy)}/library/debian", page_size=1)
    assert str(caught.value) == (
        f"{through(proxy)}/library/debian: the registry's link to the next page of tags, {link!r}, leaves the "
        f"registry http://127.0.0.1:{proxy.url.rsplit(':', 1)[1]}; only links on the registry itself are "
        "followed (the registry's Link header is broken or hostile)"
    )
    assert elsewhere.requests == []
    assert [status for _, path, status in proxy.requests if "/tags/list" in path] == [401, 200]


def test_a_next_page_link_on_the_registry_is_followed(proxy: FaultProxy) -> None:
    """The registry's own (relative) links still page through every tag, credentials and all."""
    proxy.fail(401, path_contains="/tags/list", headers={"WWW-Authenticate": 'Basic realm="registry"'})
    client = quick_client(credentials=lambda _host: CREDENTIALS)
    assert sorted(client.tags(f"{through(proxy)}/library/debian", page_size=1)) == ["bookworm-slim", "trixie-slim"]


def bearer(realm: str) -> dict[str, str]:
    return {"WWW-Authenticate": f'Bearer realm="{realm}",service="registry.test",scope="repository:x:pull"'}


def test_credentials_never_reach_a_token_realm_on_another_host_over_http(proxy: FaultProxy) -> None:
    with RecordingServer({"token": "t0ken"}) as tokens:
        realm = tokens.url_for("localhost", "/token")
        proxy.fail(401, path_contains="/manifests/", headers=bearer(realm))
        client = quick_client(credentials=lambda _host: CREDENTIALS)
        with pytest.raises(RegistryOffsite) as caught:
            client.digest(f"{through(proxy)}/{SEED}")
    assert str(caught.value) == (
        f"{through(proxy)}: credentials not sent to the token service {realm!r}: plain http on another host "
        "than 127.0.0.1 (a token service must use https, or be on the registry's own host)"
    )
    assert tokens.requests == []


@pytest.mark.parametrize(
    ("host", "credentials", "authorization"),
    [
        ("127.0.0.1", CREDENTIALS, "Basic YnVpbGRlcjpzM2NyZXQ="),  # the registry's own host, another port
        ("localhost", None, None),  # another host, but nothing secret to send
    ],
    ids=["same-host-with-credentials", "other-host-anonymous"],
)
def test_token_realms_that_may_be_asked(
    proxy: FaultProxy, host: str, credentials: tuple[str, str] | None, authorization: str | None
) -> None:
    with RecordingServer({"token": "t0ken"}) as tokens:
        proxy.fail(401, path_contains="/manifests/", headers=bearer(tokens.url_for(host, "/token")))
        client = quick_client(credentials=lambda _host: credentials)
        assert client.digest(f"{through(proxy)}/{SEED}").startswith("sha256:")
    assert [request.headers.get("Authorization") for request in tokens.requests] == [authorization]


PAGE = "http://127.0.0.1:5000/v2/library/debian/tags/list?n=1"
LEAVES = (
    "r/x: the registry's link to the next page of tags, {!r}, leaves the registry http://127.0.0.1:5000; "
    "only links on the registry itself are followed (the registry's Link header is broken or hostile)"
)
NOT_PLAIN = (
    "r/x: the registry's link to the next page of tags, {!r}, is not a plain URL; the listing stopped "
    "(the registry's Link header is broken or hostile)"
)


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("/v2/library/debian/tags/list?last=a&n=1", "http://127.0.0.1:5000/v2/library/debian/tags/list?last=a&n=1"),
        ("http://127.0.0.1:5000/v2/x/tags/list?last=a", "http://127.0.0.1:5000/v2/x/tags/list?last=a"),
        ("HTTP://127.0.0.1:5000/v2/x", "http://127.0.0.1:5000/v2/x"),
        ("?last=a", "http://127.0.0.1:5000/v2/library/debian/tags/list?last=a"),
    ],
)
def test_next_page_links_on_the_registry(link: str, expected: str) -> None:
    assert next_page_url("r/x", PAGE, link).lower() == expected.lower()


@pytest.mark.parametrize(
    ("link", "message"),
    [
        ("http://127.0.0.1:5001/v2/x/tags/list", LEAVES),  # another port
        ("http://localhost:5000/v2/x/tags/list", LEAVES),  # another name for the same address
        ("https://127.0.0.1:5000/v2/x/tags/list", LEAVES),  # another scheme
        ("//evil.example/v2/x/tags/list", LEAVES),  # scheme-relative
        ("http://127.0.0.1:5000@evil.example/v2/x", LEAVES),  # user info that looks like the registry
        ("http://127.0.0.1:5000.evil.example/v2/x", LEAVES),
        ("http://127.0.0.1:99999/v2/x", LEAVES),  # no port at all
        ("/v2/x/tags/list?last=\x1b[2J", NOT_PLAIN),
        ("/v2/x/tags/list?last=a b", NOT_PLAIN),
        ("/v2/x/tags/list?last=\u202e", NOT_PLAIN),
    ],
)
def test_next_page_links_off_the_registry_are_refused(link: str, message: str) -> None:
    with pytest.raises(RegistryOffsite) as caught:
        next_page_url("r/x", PAGE, link)
    assert str(caught.value) == message.format(link)
    assert str(caught.value).isprintable()


HTTP_REGISTRY = "http://127.0.0.1:5000/v2/x/manifests/1"
HTTPS_REGISTRY = "https://registry.example/v2/x/manifests/1"


@pytest.mark.parametrize(
    ("url", "realm", "with_credentials"),
    [
        (HTTP_REGISTRY, "http://127.0.0.1:5001/token", True),  # the registry's host, another port
        (HTTP_REGISTRY, "HTTP://127.0.0.1/token", True),
        (HTTP_REGISTRY, "https://auth.example/token", True),  # any host over https
        (HTTPS_REGISTRY, "https://auth.example/token", True),
        (HTTP_REGISTRY, "http://auth.example/token", False),  # nothing secret to send
    ],
)
def test_token_realms_that_may_have_the_credentials(url: str, realm: str, with_credentials: bool) -> None:
    check_token_realm("reg", url, realm, with_credentials)


OTHER_HOST = (
    "reg: credentials not sent to the token service {!r}: plain http on another host than 127.0.0.1 "
    "(a token service must use https, or be on the registry's own host)"
)
DOWNGRADE = (
    "reg: credentials not sent to the token service {!r}: plain http, although the registry itself is "
    "https (a token service must use https)"
)
NOT_HTTP = "reg: the token service {!r} is not an http(s) URL (the registry's WWW-Authenticate header is broken)"


@pytest.mark.parametrize(
    ("url", "realm", "error", "message"),
    [
        (HTTP_REGISTRY, "http://localhost:5001/token", RegistryOffsite, OTHER_HOST),
        (HTTP_REGISTRY, "http://127.0.0.1.evil.example/token", RegistryOffsite, OTHER_HOST),
        (HTTP_REGISTRY, "http://127.0.0.1@evil.example/token", RegistryOffsite, OTHER_HOST),
        (HTTP_REGISTRY, "http://evil.example#@127.0.0.1/token", RegistryOffsite, OTHER_HOST),
        (HTTP_REGISTRY, "http://[::1]:5001/token", RegistryOffsite, OTHER_HOST),
        (HTTPS_REGISTRY, "http://registry.example/token", RegistryOffsite, DOWNGRADE),
        (HTTP_REGISTRY, "ftp://127.0.0.1/token", RegistryAuthError, NOT_HTTP),
        (HTTP_REGISTRY, "file:///etc/passwd", RegistryAuthError, NOT_HTTP),
        (HTTP_REGISTRY, "https:///token", RegistryAuthError, NOT_HTTP),
        (HTTP_REGISTRY, "https://auth.example/token\n::warning::x", RegistryAuthError, NOT_HTTP),
        (HTTP_REGISTRY, "https://auth.example/\x1b]8;;x\x07token", RegistryAuthError, NOT_HTTP),
    ],
)
def test_token_realms_that_may_not_have_the_credentials(
    url: str, realm: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        check_token_realm("reg", url, realm, with_credentials=True)
    assert type(caught.value) is error
    assert str(caught.value) == message.format(realm)
    assert str(caught.value).isprintable()
