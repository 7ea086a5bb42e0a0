"""Shared fixtures. Unit tests get a guard that fails any unexpected process or network use."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import cleanup

REPO = Path(__file__).resolve().parent.parent


# The slowest integration files, slowest first. With -n N, pytest-xdist hands each worker a unit of
# work (a test, or the tests of an xdist_group) and keeps up to three tests queued per worker: the
# N slowest units start at once, each followed by a quick unit test rather than by another slow
# one, so that no slow test waits behind another.
SLOW_FIRST = (
    "test_schedule.py",
    "test_overlay.py",
    "test_build.py",
    "test_hostile.py",
    "test_loop.py",
    "test_release.py",
    "test_runtime_profile.py",
    "test_build_faults.py",
    "test_build_jobs.py",
    "test_watch.py",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_subprocess: the unit test may start processes")


_TAGS_AT_START = pytest.StashKey[set[str] | None]()


def pytest_sessionstart(session: pytest.Session) -> None:
    # The controller's view (or the single process's): workers share the engine and the run's id.
    if not hasattr(session.config, "workerinput"):
        session.config.stash[_TAGS_AT_START] = cleanup.local_tags()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A run leaves no image tag behind: each test removes what it tagged and pushed."""
    before = session.config.stash.get(_TAGS_AT_START, None)
    after = cleanup.local_tags() if before is not None else None
    if before is None or after is None:
        return
    left = cleanup.leftovers(before, after, strict=os.environ.get("CI") == "true")
    if left:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"the test run left {len(left)} image tag(s) in the engine: {', '.join(left)}", red=True
            )


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        # The tests of a module that share a module-scoped fixture (a channel built once) run on
        # one worker, or each worker would build it again.
        if _group(item) is None and _uses_a_module_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    rank = {name: index for index, name in enumerate(SLOW_FIRST)}

    def position(item: pytest.Item) -> int:
        if item.path.parent.name != "integration":
            return len(SLOW_FIRST)
        return rank.get(item.path.name, len(SLOW_FIRST))

    ordered = sorted(items, key=position)  # stable: the order within a file stays
    slow = [item for item in ordered if position(item) < len(SLOW_FIRST)]
    quick = [item for item in ordered if item.path.parent.name != "integration"]
    rest = [item for item in ordered if position(item) == len(SLOW_FIRST) and item.path.parent.name == "integration"]
    units: dict[str, list[pytest.Item]] = {}  # what xdist hands out at once: a test, or a group's tests
    for item in slow:
        units.setdefault(_group(item) or item.nodeid, []).append(item)
    workers = int(getattr(config, "workerinput", {}).get("workercount", 0))
    first = [item for unit in list(units.values())[:workers] for item in unit]
    later = [item for unit in list(units.values())[workers:] for item in unit]
    items[:] = first + quick[:workers] + later + rest + quick[workers:]


def _uses_a_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    return info is not None and any(
        definition.scope == "module" for definitions in info.name2fixturedefs.values() for definition in definitions
    )


def _group(item: pytest.Item) -> str | None:
    mark = item.get_closest_marker("xdist_group")
    if mark is None:
        return None
    return str(mark.args[0] if mark.args else mark.kwargs.get("name"))


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
