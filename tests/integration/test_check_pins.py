"""check-pins against real services: a catalog served over http on 127.0.0.1, and `--fix` against the real
registry (a catalog naming a digest the registry lacks writes nothing; a correct one is written)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from builder.cli import main as cli
from builder.image.docker_engine import DockerEngine
from builder.release import catalog_fetch
from tests.support import cleanup
from tests.support.serving import BackgroundServer
from tests.support.trickle import Trickle
from tests.unit.test_check_pins import INDEX, NEW, REPO, entry, index, version

ABSENT = "sha256:" + "d" * 64
FIX = "pass --catalog PATH or an https URL of the channel's index.json"


class CatalogServer(BaseHTTPRequestHandler):
    """GET /index.json: the catalog `body`; /moved: a redirect to `location`; anything else 404."""

    body = b""
    location = ""

    def do_GET(self) -> None:
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", self.location)
            self.send_header("Content-Length", "0")
        elif self.path == "/index.json":
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.body)))
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
        self.end_headers()
        if self.path == "/index.json":
            self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served() -> Iterator[str]:
    """The base URL of a server on 127.0.0.1 that serves INDEX as /index.json."""
    serving: BackgroundServer[ThreadingHTTPServer] = BackgroundServer("catalog-server")
    CatalogServer.body, CatalogServer.location = json.dumps(INDEX).encode(), ""
    serving.start(lambda address: ThreadingHTTPServer(address, CatalogServer))
    yield f"http://127.0.0.1:{serving.port}"
    serving.stop()


def test_a_catalog_served_over_http_is_read(tmp_path: Path, served: str, capsys: pytest.CaptureFixture[str]) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM {REPO}:1.0.0\n")
    assert cli.main(["check-pins", "--catalog", f"{served}/index.json", str(dockerfile)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{dockerfile}:1: {REPO}:1.0.0: 1.0.0 is outdated: 1.0.1 is the newest 1.x -> {REPO}:1.0.1@{NEW}",
        "1 outdated pin(s)",
    ]


@pytest.mark.parametrize(
    ("path", "location", "limit", "message"),
    [
        ("/nope.json", "", None, "{url}: cannot fetch the channel catalog (HTTP 404); " + FIX),
        (
            "/moved",
            "http://localhost/index.json",
            None,
            "http://localhost/index.json: the catalog URL must be https (plain http only on 127.0.0.1); " + FIX,
        ),
        ("/moved", "/moved", None, "{url}: cannot fetch the channel catalog (more than 5 redirects); " + FIX),
        (
            "/index.json",
            "",
            100,
            "{url}: cannot fetch the channel catalog (larger than 100 bytes, reading stopped); " + FIX,
        ),
    ],
)
def test_a_catalog_url_that_fails_is_a_clear_error(
    tmp_path: Path,
    served: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    path: str,
    location: str,
    limit: int | None,
    message: str,
) -> None:
    CatalogServer.location = location
    if limit is not None:
        monkeypatch.setattr(catalog_fetch, "MAX_CATALOG", limit)
    (tmp_path / "Dockerfile").write_text(f"FROM {REPO}:1\n")
    assert cli.main(["check-pins", "--catalog", served + path, str(tmp_path / "Dockerfile")]) == 2
    assert capsys.readouterr().err.strip() == "error: " + message.format(url=served + path)


def test_a_catalog_server_that_trickles_or_is_not_there_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {REPO}:1\n")
    monkeypatch.setattr(catalog_fetch, "DEADLINE", 1.0)
    with Trickle(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", seconds=0.05) as trickle:
        url = f"http://127.0.0.1:{trickle.port}/index.json"
        assert cli.main(["check-pins", "--catalog", url, str(tmp_path / "Dockerfile")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {url}: cannot fetch the channel catalog (no complete answer within 1 s); {FIX}"
    )
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{closed.getsockname()[1]}/index.json"
    closed.close()  # nothing listens there now
    assert cli.main(["check-pins", "--catalog", url, str(tmp_path / "Dockerfile")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {url}: cannot fetch the channel catalog (cannot connect); {FIX}"


def test_a_served_catalog_that_is_not_one_names_its_url(
    tmp_path: Path, served: str, capsys: pytest.CaptureFixture[str]
) -> None:
    CatalogServer.body = b'{"schema_version": 1, "registry": "r", "namespace": "n", "images": [{}]}'
    (tmp_path / "Dockerfile").write_text(f"FROM {REPO}:1\n")
    assert cli.main(["check-pins", "--catalog", f"{served}/index.json", str(tmp_path / "Dockerfile")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {served}/index.json: not a channel catalog (images[0].image: Field required); "
        "pass --catalog PATH to the channel's base-images/index.json"
    )


def push_tiny_image(engine: DockerEngine, repository: str, tag: str) -> str:
    """A one-file image pushed as REPOSITORY:TAG; its digest."""
    engine.build(
        "FROM scratch\nCOPY marker /marker\n",
        f"{repository}:{tag}",
        {},
        False,
        lambda _line: None,
        files={"marker": (tag.encode(), 0o644)},
    )
    return engine.push(repository, tag)


def test_fix_writes_only_digests_the_registry_has(
    tmp_path: Path, engine: DockerEngine, registry: str, capsys: pytest.CaptureFixture[str]
) -> None:
    namespace = cleanup.scratch("pins")
    repository = f"{registry}/{namespace}/app"
    old, new = (push_tiny_image(engine, repository, tag) for tag in ("1.0.0", "1.0.1"))
    dockerfile = tmp_path / "Dockerfile"
    text = f"ARG BASE={repository}:1.0.0@{old}\nFROM ${{BASE}}\n"
    dockerfile.write_text(text)

    def catalog_naming(digest: str) -> str:
        path = tmp_path / "index.json"
        path.write_text(
            json.dumps(
                index(
                    entry(
                        "app",
                        None,
                        {"1.0.0": old, "1.0.1": digest, "1": digest},
                        version("1.0.1", digest),
                        version("1.0.0", old),
                        repository=repository,
                    )
                )
            )
        )
        return str(path)

    # The catalog says 1.0.1 is a digest the registry never had: nothing is written, and it still reports.
    assert cli.main(["check-pins", "--catalog", catalog_naming(ABSENT), str(dockerfile), "--fix"]) == 20
    assert capsys.readouterr().err.splitlines()[0] == (
        f"{dockerfile}:1: {repository}:1.0.0@{old}: the catalog proposes {repository}:1.0.1@{ABSENT}, but the "
        f"registry has no manifest {ABSENT} (nothing was written; the catalog and the registry disagree: retry "
        "once the channel's release is pushed, or tell its maintainers)"
    )
    assert dockerfile.read_text() == text
    assert cli.main(["check-pins", "--catalog", catalog_naming(ABSENT), str(dockerfile)]) == 1

    assert cli.main(["check-pins", "--catalog", catalog_naming(new), str(dockerfile), "--fix"]) == 0
    assert dockerfile.read_text() == f"ARG BASE={repository}:1.0.1@{new}\nFROM ${{BASE}}\n"
    capsys.readouterr()
    assert cli.main(["check-pins", "--catalog", catalog_naming(new), str(dockerfile)]) == 0
    assert capsys.readouterr().out.strip() == "0 outdated pin(s)"
