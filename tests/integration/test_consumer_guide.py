"""docs/consumers.md, run: its Python Dockerfile built on the python line, served hardened, debugged.

The guide's Dockerfile is taken from the guide itself, its FROM lines pointed at the -dev and
distroless images this channel just built. The application answers over HTTP on 127.0.0.1 (host
networking) with a read-only root, no capabilities and no new privileges. The debug companion that
joins its namespaces sees its process and reaches its port; started alone, it sees neither.
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import requests
from docker.models.containers import Container

from builder.cli import main as cli
from builder.image.engine import Engine
from tests.support.channel import REPO, make_channel, pushed

GUIDE = REPO / "docs" / "consumers.md"
APP = {
    "requirements.txt": "# the application's dependencies: none, so that the build needs no index\n",
    "hello/__init__.py": "",
    "hello/__main__.py": (
        "import os, sys\n"
        "from http.server import BaseHTTPRequestHandler, HTTPServer\n\n\n"
        "class Hello(BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        body = f'hello from {os.getuid()}'.encode()\n"
        "        self.send_response(200)\n"
        "        self.send_header('Content-Length', str(len(body)))\n"
        "        self.end_headers()\n"
        "        self.wfile.write(body)\n\n\n"
        "HTTPServer(('127.0.0.1', int(sys.argv[1])), Hello).serve_forever()\n"
    ),
}


def guide_block(heading: str) -> str:
    """The first ```dockerfile block under `heading` in the guide."""
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index(f"## {heading}\n") :]
    found = re.search(r"```dockerfile\n(.*?)```", section, re.DOTALL)
    assert found is not None, f"no dockerfile block under {heading!r}"
    return found.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory, engine: Engine, registry: str) -> Iterator[Path]:
    recipes = {
        name: (REPO / "recipes" / f"{name}.yaml").read_text(encoding="utf-8") for name in ("debian-base", "python")
    }
    with pytest.MonkeyPatch.context() as patch:
        root = make_channel(tmp_path_factory.mktemp("consumer"), registry, patch, recipes)
        assert cli.main(["--root", str(root), "build", "--push", "--jobs", "2"]) == 0
        yield root


@pytest.fixture(scope="module")
def app_image(channel: Path, engine: Engine) -> Iterator[str]:
    dockerfile = guide_block("A Python application on distroless")
    for form in ("dev", "distroless"):
        reference, _ = pushed(channel, f"python/{form}")
        dockerfile, count = re.subn(rf"\$\{{CHANNEL\}}/python:[0-9.]+-{form}\b", reference, dockerfile)
        assert count == 1, f"the guide's Dockerfile names python/{form} once"
    tag = f"builder-test/consumer-app:{uuid.uuid4().hex[:8]}"
    engine.build(
        dockerfile,
        tag,
        {},
        False,
        lambda _line: None,
        files={path: (text.encode("utf-8"), 0o644) for path, text in APP.items()},
    )
    yield tag
    engine.remove(tag)


@pytest.fixture
def served(app_image: str) -> Iterator[tuple[Container, int]]:
    port = free_port()
    client = docker.from_env()
    app = client.containers.run(
        app_image,
        [str(port)],
        detach=True,
        network_mode="host",
        read_only=True,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        tmpfs={"/tmp": "rw,noexec,nosuid,nodev"},
        name=f"app-{uuid.uuid4().hex[:8]}",
    )
    try:
        yield app, port
    finally:
        app.remove(force=True)


def answer(port: int) -> str:
    """The application's answer, waiting for it to listen (it stops waiting when it exits)."""
    for _ in range(120):
        try:
            return requests.get(f"http://127.0.0.1:{port}/", timeout=5).text
        except requests.ConnectionError:
            time.sleep(0.5)
    raise AssertionError(f"nothing answers on 127.0.0.1:{port}")


def test_the_guide_app_answers_as_non_root_under_the_strict_profile(served: tuple[Container, int]) -> None:
    app, port = served
    assert answer(port) == "hello from 65532"
    app.reload()
    host = app.attrs["HostConfig"]
    assert (host["ReadonlyRootfs"], host["CapDrop"], host["SecurityOpt"]) == (True, ["ALL"], ["no-new-privileges"])


@pytest.mark.parametrize("joined", [True, False], ids=["joins the app's namespaces", "hostile: alone"])
def test_the_debug_companion_sees_the_running_app_only_when_it_joins_it(
    channel: Path, served: tuple[Container, int], joined: bool
) -> None:
    app, port = served
    assert answer(port) == "hello from 65532"
    debug, _ = pushed(channel, "python/distroless-debug")
    where = (
        {"pid_mode": f"container:{app.id}", "network_mode": f"container:{app.id}"}
        if joined
        else {"network_mode": "none"}
    )
    client = docker.from_env()
    # As the guide says: the image's entrypoint is python3, so the shell is named with --entrypoint.
    probe = client.containers.run(
        debug,
        ["-c", f"ps; wget -qO- http://127.0.0.1:{port}/ || true"],
        entrypoint=["/busybox/sh"],
        detach=True,
        **where,
    )
    try:
        probe.wait(timeout=60)
        output = probe.logs().decode("utf-8", "replace")
    finally:
        probe.remove(force=True)
    assert ("-m hello" in output) is joined
    assert ("hello from 65532" in output) is joined
