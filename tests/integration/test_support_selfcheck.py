"""The integration test helpers do what they promise: a real apt repository and a fault-injecting proxy."""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from debian.changelog import Changelog
from debian.deb822 import Packages, Release

from tests.support.aptrepo import AptRepo, ChangelogEntry
from tests.support.faultproxy import FaultProxy

FIX = "  * Fix CVE-2026-1234: buffer overflow (Closes: #123456)"
INITIAL = ChangelogEntry("1.0-1", lines=["  * Initial release."])
DIST = "dists/bookworm-security"


def demo_repo(root: Path) -> AptRepo:
    repo = AptRepo(root)
    repo.add_package("demo", "1.0-1", changelog=[INITIAL], files={"/usr/bin/demo": b"#!/bin/sh\necho 1.0\n"})
    # Entries in any order: the changelog comes out newest first.
    repo.add_package(
        "demo",
        "1.1-1",
        changelog=[INITIAL, ChangelogEntry("1.1-1", urgency="high", lines=[FIX])],
        depends="libc6 (>= 2.36)",
        files={"/usr/bin/demo": b"#!/bin/sh\necho 1.1\n"},
    )
    repo.publish()
    return repo


def index(repo: AptRepo) -> list[Packages]:
    text = (repo.root / DIST / "main/binary-amd64/Packages").read_text(encoding="utf-8")
    return list(Packages.iter_paragraphs(text, use_apt_pkg=False))


def deb_member(deb: Path, member: str) -> bytes:
    tar_bytes = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        extracted = tar.extractfile(f"./{member}")
        assert extracted is not None
        return extracted.read()


def test_apt_repo_builds_and_indexes_both_versions(tmp_path: Path) -> None:
    repo = demo_repo(tmp_path / "apt")

    stanzas = index(repo)
    assert [(s["Package"], s["Version"]) for s in stanzas] == [("demo", "1.0-1"), ("demo", "1.1-1")]
    for stanza in stanzas:
        deb = repo.root / stanza["Filename"]
        assert stanza["Filename"] == f"pool/main/d/demo/demo_{stanza['Version']}_amd64.deb"
        assert hashlib.sha256(deb.read_bytes()).hexdigest() == stanza["SHA256"]
    assert stanzas[1]["Depends"] == "libc6 (>= 2.36)"

    packages = (repo.root / DIST / "main/binary-amd64/Packages").read_bytes()
    assert gzip.decompress((repo.root / DIST / "main/binary-amd64/Packages.gz").read_bytes()) == packages
    assert lzma.decompress((repo.root / DIST / "main/binary-amd64/Packages.xz").read_bytes()) == packages
    release = Release((repo.root / DIST / "Release").read_text(encoding="utf-8"))
    assert (release["Suite"], release["Architectures"], release["Components"]) == ("bookworm-security", "amd64", "main")
    for entry in release["SHA256"]:
        assert hashlib.sha256((repo.root / DIST / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]

    changelog = Changelog(
        gzip.decompress(deb_member(repo.root / stanzas[1]["Filename"], "usr/share/doc/demo/changelog.Debian.gz"))
    )
    assert [str(block.version) for block in changelog] == ["1.1-1", "1.0-1"]
    assert changelog[0].urgency == "high"
    assert FIX in changelog[0].changes()

    repo.remove_package("demo", "1.0-1")
    repo.publish()
    assert [s["Version"] for s in index(repo)] == ["1.1-1"]


def test_apt_repo_is_deterministic(tmp_path: Path) -> None:
    first, second = demo_repo(tmp_path / "one"), demo_repo(tmp_path / "two")
    for relative in (
        "pool/main/d/demo/demo_1.1-1_amd64.deb",
        f"{DIST}/main/binary-amd64/Packages.xz",
        f"{DIST}/Release",
    ):
        assert (first.root / relative).read_bytes() == (second.root / relative).read_bytes(), relative


def test_apt_repo_serves_with_validators_and_counts_hits(tmp_path: Path) -> None:
    with demo_repo(tmp_path / "apt") as repo:
        url = repo.serve()
        assert repo.sources_line() == f"deb [trusted=yes] {url} bookworm-security main"
        release = f"{url}{DIST}/Release"

        fresh = requests.get(release, timeout=5)
        assert fresh.status_code == 200
        assert fresh.content == (repo.root / DIST / "Release").read_bytes()
        etag, modified = fresh.headers["ETag"], fresh.headers["Last-Modified"]
        assert requests.get(release, headers={"If-None-Match": etag}, timeout=5).status_code == 304
        assert requests.get(release, headers={"If-Modified-Since": modified}, timeout=5).status_code == 304
        assert repo.hits[f"/{DIST}/Release"] == 3
        assert [status for _, _, status in repo.requests] == [200, 304, 304]

        # A publish in the same second must still look modified to both validators.
        repo.publish()
        assert requests.get(release, headers={"If-None-Match": etag}, timeout=5).status_code == 200
        assert requests.get(release, headers={"If-Modified-Since": modified}, timeout=5).status_code == 200
        assert requests.head(f"{url}pool/main/d/demo/nothing.deb", timeout=5).status_code == 404
        assert repo.hits[f"/{DIST}/Release"] == 5


class _Upstream(BaseHTTPRequestHandler):
    """/hello says hello, /moved redirects there by absolute URL, POST echoes its body."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/moved":
            # Built from Host, as registries do: the proxy must send the upstream's, then rewrite this.
            self._answer(302, b"", Location=f"http://{self.headers['Host']}/hello")
        else:
            self._answer(200, b"hello " * 100)

    do_HEAD = do_GET

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self._answer(201, body, **{"X-Echo": self.headers.get("X-Test", "")})


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    with FaultProxy(f"http://127.0.0.1:{server.server_address[1]}") as faulty:
        faulty.start()
        yield faulty
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_fault_proxy_fails_once_then_forwards(proxy: FaultProxy) -> None:
    proxy.fail(500, path_contains="/hello")
    with requests.Session() as session:
        assert session.get(f"{proxy.url}/hello", timeout=5).status_code == 500
        answer = session.get(f"{proxy.url}/hello", timeout=5)
    assert answer.status_code == 200
    assert answer.content == b"hello " * 100
    assert proxy.requests == [("GET", "/hello", 500), ("GET", "/hello", 200)]
    assert proxy.pending == 0


def test_fault_proxy_429_carries_retry_after_and_respects_method(proxy: FaultProxy) -> None:
    proxy.fail(429, method="GET", headers={"Retry-After": "1"})
    assert requests.head(f"{proxy.url}/hello", timeout=5).status_code == 200
    limited = requests.get(f"{proxy.url}/hello", timeout=5)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "1")
    assert requests.get(f"{proxy.url}/hello", timeout=5).status_code == 200


def test_fault_proxy_forwards_bodies_and_rewrites_location(proxy: FaultProxy) -> None:
    echoed = requests.post(f"{proxy.url}/echo", data=b"payload", headers={"X-Test": "yes"}, timeout=5)
    assert (echoed.status_code, echoed.content, echoed.headers["X-Echo"]) == (201, b"payload", "yes")
    moved = requests.get(f"{proxy.url}/moved", allow_redirects=False, timeout=5)
    assert moved.headers["Location"] == f"{proxy.url}/hello"


def test_fault_proxy_breaks_connections(proxy: FaultProxy) -> None:
    proxy.truncate()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(f"{proxy.url}/hello", timeout=5)
    proxy.drop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{proxy.url}/hello", timeout=5)
    proxy.stall(1.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{proxy.url}/hello", timeout=0.2)
    assert requests.get(f"{proxy.url}/hello", timeout=5).status_code == 200
