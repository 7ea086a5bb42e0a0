"""Shared fixtures. Unit tests get a guard that fails any unexpected process or network use."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent


# The slowest tests start first, so that parallel workers (-n) finish together rather than
# waiting for one long test collected last. Seconds measured on a 2-core machine.
SLOW_FIRST = ("test_schedule.py", "test_build.py", "test_overlay.py", "test_release.py", "test_loop.py",
              "test_watch.py", "test_build_faults.py")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_subprocess: the unit test may start processes")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(SLOW_FIRST)}

    def position(item: pytest.Item) -> int:
        if item.path.parent.name != "integration":
            return len(SLOW_FIRST)
        return rank.get(item.path.name, len(SLOW_FIRST))

    items.sort(key=position)  # stable: the order within a file stays


@pytest.fixture(autouse=True)
def _not_in_github_actions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests assert on plain output; the annotations GitHub Actions gets are tested on purpose."""
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_REPOSITORY", "GITHUB_API_URL", "GITHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Unit tests touch nothing outside the process unless they say so."""
    if "integration" in request.keywords:
        yield
        return
    if "allow_subprocess" not in request.keywords:
        def no_process(*args: Any, **kwargs: Any) -> Any:
            raise AssertionError(f"unexpected subprocess in a unit test: {args[:1]}")

        monkeypatch.setattr(subprocess, "Popen", no_process)

    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"unexpected network connection in a unit test: {args[1:]}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    yield


@pytest.fixture
def channel_copy(tmp_path: Path) -> Path:
    """A copy of the repository's channel (settings, recipes, base-images) to change freely."""
    root = tmp_path / "channel"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(REPO / "recipes", root / "recipes")
    shutil.copytree(REPO / "base-images", root / "base-images")
    return root
