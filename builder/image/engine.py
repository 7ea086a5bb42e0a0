"""The container engine behind a small interface: what build, checks and tests ask of it.

`docker_engine.DockerEngine` is the implementation over Docker Engine (the only module that
imports `docker`); unit tests use a fake. Answers are typed: no engine's own documents pass
this boundary.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from builder.core.runtime import Confinement

Auth = dict[str, str]  # registry credentials as the engine takes them (username, password, serveraddress)


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class ImageDetails:
    """What the engine says about a local image: its id, size in bytes and run configuration."""

    id: str
    size: int
    user: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    working_dir: str = ""


def credentials(registry: str, environ: Mapping[str, str] | None = None) -> Auth | None:
    """Registry credentials from BUILDER_REGISTRY_USERNAME/PASSWORD, if set.

    Otherwise the engine's client reads the standard Docker config (~/.docker/config.json
    or $DOCKER_CONFIG), including credential helpers. Never printed.
    """
    env = os.environ if environ is None else environ
    user, password = env.get("BUILDER_REGISTRY_USERNAME"), env.get("BUILDER_REGISTRY_PASSWORD")
    if user and password:
        return {"username": user, "password": password, "serveraddress": registry}
    return None


class Engine(Protocol):
    """A container engine. Failures raise `EngineError`, `BuildError` or `RegistryError`."""

    def resolve_digest(self, reference: str, auth: Auth | None = None) -> str:
        """The registry's current digest for a tag, without pulling."""
        ...

    def push(self, repository: str, tag: str, auth: Auth | None = None) -> str:
        """Push and return the manifest digest the registry reported."""
        ...

    def pull(self, reference: str, auth: Auth | None = None) -> str:
        """Pull by tag or digest; return the local image id."""
        ...

    def tags(self) -> list[str]:
        """Every local image tag."""
        ...

    def remove(self, image: str) -> None:
        """Remove a local image; nothing when it is not there."""
        ...

    def build(
        self,
        dockerfile: str,
        tag: str,
        labels: Mapping[str, str],
        pull: bool,
        on_line: Callable[[str], None],
        *,
        files: Mapping[str, tuple[bytes, int]] | None = None,
    ) -> str:
        """Build from a context holding only the Dockerfile and `files` (path: bytes and mode); the image id.

        `on_line` gets each line of build output; a failure raises `BuildError` with its last lines.
        """
        ...

    def inspect(self, image: str) -> ImageDetails: ...

    def tag(self, image: str, repository: str, tag: str) -> None: ...

    def files(self, image: str) -> Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]:
        """Every entry of the image's filesystem, without running anything inside it."""
        ...

    def run(
        self, image: str, argv: list[str], timeout: int = 120, *, confinement: Confinement | None = None
    ) -> RunResult:
        """Run argv in the image with the network off (exit code 124 on timeout)."""
        ...
