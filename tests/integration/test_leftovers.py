"""A test run leaves no image tag behind: the check at the end of a session sees one that is left."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
import requests

from builder.image.engine import Engine
from tests.support import cleanup

pytest_plugins = ["pytester"]
REPO = Path(__file__).resolve().parents[2]


def test_a_tag_left_behind_fails_the_session(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, engine: Engine, registry: str
) -> None:
    # The inner session gets a run id of its own and the non-CI rule (only its own names count): other
    # workers of this run tag images meanwhile, which the CI rule (every new tag) would also report.
    inner_run = secrets.token_hex(6)
    name = f"leak-{inner_run}"
    cleanup.CREATED.add(name)
    left = f"{registry}/{name}/debian"
    pytester.makeconftest("from tests.conftest import pytest_sessionfinish, pytest_sessionstart  # noqa: F401\n")
    pytester.makepyfile(
        test_leak=f"""
from builder.image.docker_engine import DockerEngine

def test_leaks():
    DockerEngine.connect().tag("{registry}/library/debian:bookworm-slim", "{left}", "left")
"""
    )
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("BUILDER_TEST_RUN", inner_run)
    monkeypatch.delenv("CI", raising=False)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:randomly")
    assert engine.tags().count(f"{left}:left") == 1
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert f"the test run left 1 image tag(s) in the engine: {left}:left" in result.outlines
    assert "1 passed" in result.outlines[-1]


def test_removal_takes_our_names_only(engine: Engine, registry: str) -> None:
    # A stand-in upstream tagged from a seed and pushed: removed locally and in the registry; the seed stays.
    name = cleanup.scratch("up")
    seed = f"{registry}/library/debian:bookworm-slim"
    engine.tag(seed, f"{registry}/{name}/debian", "bookworm-slim")
    engine.push(f"{registry}/{name}/debian", "bookworm-slim")
    cleanup.remove([(registry, None)], {name})
    assert [tag for tag in engine.tags() if name in tag] == []
    assert seed in engine.tags()
    assert requests.get(f"http://{registry}/v2/{name}/debian/tags/list", timeout=10).json().get("tags") in (None, [])


def test_removal_takes_our_names_behind_other_loopback_ports(engine: Engine, registry: str) -> None:
    # Pushed through a test's own server in front of the registry: tagged with that server's port.
    name, other = cleanup.scratch("proxied"), "library/debian"
    seed = f"{registry}/library/debian:bookworm-slim"
    engine.tag(seed, f"127.0.0.1:39711/{name}/app", "candidate")
    engine.tag(seed, f"127.0.0.1:39711/{other}", "kept")
    cleanup.remove([(registry, None)], {name})
    assert [tag for tag in engine.tags() if name in tag] == []
    assert f"127.0.0.1:39711/{other}:kept" in engine.tags()
    engine.remove(f"127.0.0.1:39711/{other}:kept")
