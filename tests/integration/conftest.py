"""Integration fixtures: the real Docker Engine and registries that .ci/local-env starts.

Outside CI a missing service skips these tests with the reason; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
import requests

from builder.core.errors import EngineError
from builder.image.docker_engine import DockerEngine
from tests.support import cleanup
from tests.support.aptrepo import AptRepo, ChangelogEntry, SigningKey

REGISTRY = os.environ.get("BUILDER_TEST_REGISTRY", "127.0.0.1:5000")
AUTH_REGISTRY = os.environ.get("BUILDER_TEST_AUTH_REGISTRY", "127.0.0.1:5001")
AUTH = (
    os.environ.get("BUILDER_TEST_REGISTRY_USER", "builder"),
    os.environ.get("BUILDER_TEST_REGISTRY_PASSWORD", "builder-secret"),
)
APT_CACHE = "http://127.0.0.1:3142"  # .ci/local-env's apt-cacher-ng


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: integration tests never skip; run .ci/local-env)")
    pytest.skip(f"{reason}; start it with `bash .ci/local-env`")


@pytest.fixture(scope="session")
def engine() -> Iterator[DockerEngine]:
    try:
        connected = DockerEngine.connect()
    except EngineError as exc:
        _unavailable(exc.message)
        raise
    yield connected
    # Tests push to throw-away names: drop what this process created, locally and in the registries.
    cleanup.remove([(REGISTRY, None), (AUTH_REGISTRY, AUTH)], cleanup.CREATED)


@pytest.fixture(scope="session")
def registry() -> str:
    try:
        requests.get(f"http://{REGISTRY}/v2/", timeout=5)
    except requests.RequestException:
        _unavailable(f"no registry at {REGISTRY}")
    probe = requests.head(
        f"http://{REGISTRY}/v2/library/debian/manifests/bookworm-slim",
        timeout=5,
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
    )
    if probe.status_code != 200:
        _unavailable(f"{REGISTRY} has no seeded library/debian:bookworm-slim")
    return REGISTRY


@pytest.fixture(scope="session")
def auth_registry() -> str:
    try:
        answer = requests.get(f"http://{AUTH_REGISTRY}/v2/", timeout=5)
    except requests.RequestException:
        _unavailable(f"no authenticating registry at {AUTH_REGISTRY}")
    if answer.status_code != 401:
        _unavailable(f"{AUTH_REGISTRY} does not ask for credentials")
    return AUTH_REGISTRY


@pytest.fixture(scope="session")
def build_proxy() -> str:
    """The apt cache the tests' builds go through: BUILDER_BUILD_PROXY, else the one
    .ci/local-env starts when it answers ("" when there is none).

    Builds side by side refresh the same InRelease at once: .ci/local-env configures the cache
    so that they share the download (ResponseFreezeDetectTime; see there).
    """
    proxy = os.environ.get("BUILDER_BUILD_PROXY", "")
    if not proxy:
        try:
            page = requests.get(f"{APT_CACHE}/acng-report.html", timeout=3)
            proxy = APT_CACHE if "Apt-Cacher NG" in page.text else ""
        except requests.RequestException:
            proxy = ""
    return proxy


@pytest.fixture(scope="session", autouse=True)
def _builds_fetch_through_the_apt_cache(build_proxy: str) -> Iterator[None]:
    """Every build of the session (each makes its own engine client) gets the apt cache, if any."""
    if not build_proxy or os.environ.get("BUILDER_BUILD_PROXY"):
        yield
        return
    os.environ["BUILDER_BUILD_PROXY"] = build_proxy
    yield
    os.environ.pop("BUILDER_BUILD_PROXY", None)


@pytest.fixture
def apt_cache(build_proxy: str) -> str:
    """The build proxy, for the tests about it: without one they fail in CI and skip elsewhere."""
    if not build_proxy:
        _unavailable("no apt cache: set BUILDER_BUILD_PROXY or start the one of .ci/local-env")
    return build_proxy


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[AptRepo]:
    """A real apt repository on 127.0.0.1 (suite bookworm-security) holding demo 1.0-1."""
    with AptRepo(tmp_path / "apt", suite="bookworm-security") as apt:
        apt.add_package("demo", "1.0-1", changelog=[ChangelogEntry("1.0-1", lines=["Initial release."])])
        apt.publish()
        apt.serve()
        yield apt


@pytest.fixture
def signed_repo(tmp_path: Path) -> Iterator[tuple[AptRepo, SigningKey]]:
    """The same repository, signed: InRelease, which recipes check with `signed_by`."""
    with SigningKey() as key, AptRepo(tmp_path / "apt", suite="bookworm-security", signing_key=key) as apt:
        apt.add_package("demo", "1.0-1", changelog=[ChangelogEntry("1.0-1", lines=["Initial release."])])
        apt.publish()
        apt.serve()
        yield apt, key
