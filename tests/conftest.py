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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_subprocess: the unit test may start processes")


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
