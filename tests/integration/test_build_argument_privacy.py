"""A consumer's build argument stays out of its build log: the SHELL a child image inherits does not trace.

The parent is the seeded Debian with the SHELL line of the committed debian-base Dockerfile (what the
channel ships); the child, as a consumer writes it, uses a secret build argument in a RUN. The same
build on a parent whose SHELL adds xtrace does print the secret: the check can fail.
"""

from __future__ import annotations

import io
import json
import tarfile
import uuid
from pathlib import Path

import docker
import pytest

from builder.image.docker_engine import DockerEngine

REPO = Path(__file__).resolve().parents[2]
TOKEN = "tok-" + uuid.uuid4().hex  # a value nothing else in the log could contain


def shipped_shell() -> list[str]:
    text = (REPO / "base-images" / "debian-base" / "Dockerfile").read_text(encoding="utf-8")
    (line,) = [line for line in text.splitlines() if line.startswith("SHELL ")]
    return list(json.loads(line.removeprefix("SHELL ")))


def build_log(api: docker.APIClient, dockerfile: str, tag: str, buildargs: dict[str, str]) -> str:
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as archive:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile.encode())
        archive.addfile(info, io.BytesIO(dockerfile.encode()))
    context.seek(0)
    lines = []
    for item in api.build(
        fileobj=context,
        custom_context=True,
        tag=tag,
        rm=True,
        forcerm=True,
        nocache=True,
        network_mode="host",
        decode=True,
        buildargs=buildargs,
    ):
        assert "error" not in item, item
        lines.append(str(item.get("stream", "")))
    return "".join(lines)


@pytest.mark.parametrize("traced", [False, True], ids=["as shipped", "hostile: xtrace added"])
def test_a_child_build_argument_does_not_reach_the_build_log(engine: DockerEngine, registry: str, traced: bool) -> None:
    shell = shipped_shell()
    assert "xtrace" not in shell
    if traced:
        shell[1:1] = ["-o", "xtrace"]
    api = docker.from_env().api
    parent, child = (f"builder-test/xtrace-{name}:{uuid.uuid4().hex[:8]}" for name in ("parent", "child"))
    try:
        build_log(api, f"FROM {registry}/library/debian:bookworm-slim\nSHELL {json.dumps(shell)}\n", parent, {})
        log = build_log(
            api, f'FROM {parent}\nARG API_TOKEN\nRUN test -n "${{API_TOKEN}}"\n', child, {"API_TOKEN": TOKEN}
        )
    finally:
        for image in (child, parent):
            engine.remove(image)
    assert (TOKEN in log) is traced
