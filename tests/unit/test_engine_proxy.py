"""The build proxy (BUILDER_BUILD_PROXY): passed to every build as Docker's predefined build arguments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from builder.core.errors import EngineError
from builder.image.docker_engine import DockerEngine


class FakeClient:
    """Records the keyword arguments of build() and answers with one image id."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def build(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        self.calls.append(kwargs)
        return iter([{"stream": "Step 1/1 : FROM scratch\n"}, {"aux": {"ID": "sha256:" + "1" * 64}}])


def build_args(proxy: str) -> Any:
    client = FakeClient()
    lines: list[str] = []
    DockerEngine(client, proxy).build("FROM scratch\n", "t:1", {}, pull=False, on_line=lines.append)
    return client.calls[0]["buildargs"]


def test_the_proxy_goes_to_the_build_with_loopback_bypassing_it() -> None:
    assert build_args("http://127.0.0.1:3142") == {
        "http_proxy": "http://127.0.0.1:3142",
        "no_proxy": "127.0.0.1,localhost,::1",
    }


def test_no_proxy_no_build_arguments() -> None:
    assert build_args("") == {}


HINT = "is not http://HOST:PORT (an HTTP proxy such as apt-cacher-ng, e.g. http://127.0.0.1:3142)"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("127.0.0.1:3142", f"BUILDER_BUILD_PROXY: '127.0.0.1:3142' {HINT}"),
        ("https://cache:3142", f"BUILDER_BUILD_PROXY: 'https://cache:3142' {HINT}"),
        ("http://user:pw@cache:3142", f"BUILDER_BUILD_PROXY: 'http://user:pw@cache:3142' {HINT}"),
        ("http://cache:3142/\nX: y", f"BUILDER_BUILD_PROXY: 'http://cache:3142/\\nX: y' {HINT}"),
        ("http://cache:3142 --network=x", f"BUILDER_BUILD_PROXY: 'http://cache:3142 --network=x' {HINT}"),
    ],
)
def test_a_malformed_proxy_is_refused_before_connecting(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    monkeypatch.setenv("BUILDER_BUILD_PROXY", value)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(EngineError) as caught:
        DockerEngine.connect()
    assert caught.value.message == message
