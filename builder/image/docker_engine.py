"""The Docker Engine implementation of `engine.Engine`, over docker-py's low-level API. The only
module that imports `docker`.

docker-py reports some failures inside a 200 response stream (build and push errors):
every stream is read to its end and any `error` item raises.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tarfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import docker
import docker.errors
import requests

from builder.core.errors import BuildError, EngineError, RegistryError
from builder.core.runtime import TMPFS_OPTIONS, Confinement
from builder.image.engine import Auth, ImageDetails, RunResult

TAIL_LINES = 25
# BUILDER_BUILD_PROXY: an HTTP proxy for the package manager of every build (an apt cache).
_PROXY = re.compile(r"http://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/?")


class DockerEngine:
    def __init__(self, client: Any, build_proxy: str = "") -> None:
        self._api = client
        self._build_args = _proxy_args(build_proxy)

    @classmethod
    def connect(cls, timeout: int = 600) -> DockerEngine:
        proxy = os.environ.get("BUILDER_BUILD_PROXY", "")
        if proxy and not _PROXY.fullmatch(proxy):
            raise EngineError(
                f"BUILDER_BUILD_PROXY: {proxy!r} is not http://HOST:PORT "
                "(an HTTP proxy such as apt-cacher-ng, e.g. http://127.0.0.1:3142)"
            )
        try:
            client = docker.APIClient(base_url=_base_url(), timeout=timeout)
            client.ping()
        except (docker.errors.DockerException, requests.RequestException) as exc:
            raise EngineError(
                f"cannot reach Docker Engine at {_base_url()}: {_short(exc)} "
                "(start it, e.g. `bash .ci/local-env`, or set DOCKER_HOST)"
            ) from None
        return cls(client, proxy)

    # -- registry side -----------------------------------------------------------------
    def resolve_digest(self, reference: str, auth: Auth | None = None) -> str:
        """The registry's current digest for a tag, without pulling."""
        try:
            data = self._api.inspect_distribution(reference, auth_config=auth)
        except docker.errors.APIError as exc:
            raise RegistryError(f"cannot resolve {reference}: {_short(exc)}") from None
        digest = str(data.get("Descriptor", {}).get("digest", ""))
        if not digest.startswith("sha256:"):
            raise RegistryError(f"cannot resolve {reference}: the registry sent no digest")
        return digest

    def push(self, repository: str, tag: str, auth: Auth | None = None) -> str:
        """Push and return the manifest digest the registry reported."""
        try:
            stream = self._api.push(repository, tag=tag, stream=True, decode=True, auth_config=auth)
            digest = ""
            for item in stream:
                if "error" in item:
                    detail = item.get("errorDetail", {}).get("message") or item["error"]
                    raise RegistryError(f"push of {repository}:{tag} failed: {detail}")
                aux = item.get("aux") or {}
                if "Digest" in aux:
                    digest = str(aux["Digest"])
        except docker.errors.APIError as exc:
            raise RegistryError(f"push of {repository}:{tag} failed: {_short(exc)}") from None
        if not digest:
            raise RegistryError(f"push of {repository}:{tag} finished without a digest")
        return digest

    def pull(self, reference: str, auth: Auth | None = None) -> str:
        """Pull by tag or digest; return the local image id."""
        repository, _, digest = reference.partition("@")
        try:
            stream = self._api.pull(repository, tag=digest or None, stream=True, decode=True, auth_config=auth)
            for item in stream:
                if "error" in item:
                    raise RegistryError(f"pull of {reference} failed: {item['error']}")
        except docker.errors.APIError as exc:
            raise RegistryError(f"pull of {reference} failed: {_short(exc)}") from None
        return self.inspect(reference).id

    def tags(self) -> list[str]:
        return [tag for image in self._api.images() for tag in image.get("RepoTags") or []]

    def remove(self, image: str) -> None:
        with contextlib.suppress(docker.errors.NotFound):
            self._api.remove_image(image, force=True)

    # -- images ------------------------------------------------------------------------
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
        """Build from a context holding only the Dockerfile and `files` (path: bytes and mode).

        Host networking, so the package manager reaches its mirror without a bridge; no
        build cache, so a package layer is never reused from an older index. The build proxy
        goes in as Docker's predefined build arguments: RUN sees it, the image does not.
        """
        context = _context_tar(dockerfile, files or {})
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        image_id = ""
        try:
            stream = self._api.build(
                fileobj=context,
                custom_context=True,
                encoding=None,
                tag=tag,
                labels=dict(labels),
                nocache=True,
                pull=pull,
                rm=True,
                forcerm=True,
                network_mode="host",
                decode=True,
                buildargs=self._build_args,
            )
            for item in stream:
                if "error" in item:
                    detail = item.get("errorDetail", {}).get("message") or item["error"]
                    tail.append(str(detail).rstrip())
                    raise BuildError(f"build of {tag} failed: {str(detail).strip()}", list(tail))
                text = str(item.get("stream", ""))
                for line in text.splitlines():
                    if line.strip():
                        tail.append(line.rstrip())
                        on_line(line.rstrip())
                aux = item.get("aux") or {}
                if "ID" in aux:
                    image_id = str(aux["ID"])
        except docker.errors.APIError as exc:
            raise BuildError(f"build of {tag} failed: {_short(exc)}", list(tail)) from None
        if not image_id:
            raise BuildError(f"build of {tag} produced no image", list(tail))
        return image_id

    def inspect(self, image: str) -> ImageDetails:
        try:
            return _details(self._api.inspect_image(image))
        except docker.errors.APIError as exc:
            raise EngineError(f"cannot inspect {image}: {_short(exc)}") from None

    def tag(self, image: str, repository: str, tag: str) -> None:
        try:
            self._api.tag(image, repository, tag=tag)
        except docker.errors.APIError as exc:
            raise EngineError(f"cannot tag {image} as {repository}:{tag}: {_short(exc)}") from None

    def files(self, image: str) -> Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]:
        """Every entry of the image's filesystem, streamed from an exported container.

        Works on images without a shell or any tools at all: nothing runs inside.
        """
        try:
            container = self._api.create_container(image, entrypoint=["/nonexistent"], network_disabled=True)["Id"]
        except docker.errors.APIError as exc:
            raise EngineError(f"cannot read the files of {image}: {_short(exc)}") from None
        try:
            stream = _ChunkReader(self._api.export(container))
            with tarfile.open(fileobj=stream, mode="r|") as archive:
                for member in archive:
                    yield member, archive
        except (docker.errors.APIError, tarfile.TarError) as exc:
            raise EngineError(f"cannot read the files of {image}: {_short(exc)}") from None
        finally:
            with contextlib.suppress(docker.errors.APIError):
                self._api.remove_container(container, force=True)

    def run(
        self, image: str, argv: list[str], timeout: int = 120, *, confinement: Confinement | None = None
    ) -> RunResult:
        """Run argv in the image with the network off; the image's own user and workdir.

        With `confinement`: also no capabilities, no new privileges, a read-only root with
        tmpfs mounts, and the given user.
        """
        strict: dict[str, Any] = {}
        if confinement is not None:
            strict = {
                "read_only": confinement.read_only,
                "cap_drop": ["ALL"],
                "security_opt": ["no-new-privileges"],
                "tmpfs": dict.fromkeys(confinement.tmpfs, TMPFS_OPTIONS),
            }
        host = self._api.create_host_config(network_mode="none", auto_remove=False, **strict)
        user = confinement.user if confinement is not None else None
        try:
            container = self._api.create_container(
                image, entrypoint=argv[:1], command=argv[1:], host_config=host, network_disabled=True, user=user
            )["Id"]
        except docker.errors.APIError as exc:
            raise EngineError(f"cannot run {argv[0]} in {image}: {_short(exc)}") from None
        try:
            self._api.start(container)
            try:
                status = self._api.wait(container, timeout=timeout)
            except requests.exceptions.ReadTimeout:
                return RunResult(124, "", f"timed out after {timeout} s")
            out = self._api.logs(container, stdout=True, stderr=False).decode(errors="replace")
            err = self._api.logs(container, stdout=False, stderr=True).decode(errors="replace")
            return RunResult(int(status.get("StatusCode", -1)), out, err)
        except docker.errors.APIError as exc:
            return RunResult(127, "", _short(exc))
        finally:
            with contextlib.suppress(docker.errors.APIError):
                self._api.remove_container(container, force=True)


def _details(data: Mapping[str, Any]) -> ImageDetails:
    """The typed answer of `inspect`, from the engine's image document (missing fields: empty)."""
    config: Mapping[str, Any] = data.get("Config") or {}
    env = dict(item.split("=", 1) for item in config.get("Env") or [] if "=" in item)
    return ImageDetails(
        id=str(data.get("Id") or ""),
        size=int(data.get("Size") or 0),
        user=str(config.get("User") or ""),
        env=env,
        labels={str(k): str(v) for k, v in (config.get("Labels") or {}).items()},
        entrypoint=tuple(str(a) for a in config.get("Entrypoint") or ()),
        cmd=tuple(str(a) for a in config.get("Cmd") or ()),
        working_dir=str(config.get("WorkingDir") or ""),
    )


def _proxy_args(proxy: str) -> dict[str, str]:
    """http_proxy and no_proxy are predefined build arguments: RUN gets them as variables, and
    unless the Dockerfile declares them (ours never do) they stay out of the image's config and
    history. Repositories on loopback (the tests', an organization's mirror) bypass the proxy."""
    return {"http_proxy": proxy, "no_proxy": "127.0.0.1,localhost,::1"} if proxy else {}


def _base_url() -> str:
    return os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")


def _short(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    text = str(explanation or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _context_tar(dockerfile: str, files: Mapping[str, tuple[bytes, int]]) -> io.BytesIO:
    """The build context: the committed files the Dockerfile COPYs, by repository path, then it.

    COPY keeps the mode each file has here: the classic builder has no `COPY --chmod`.
    """
    if "Dockerfile" in files:
        raise ValueError("a committed file may not be called Dockerfile in the build context")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, (data, mode) in {**files, "Dockerfile": (dockerfile.encode("utf-8"), 0o644)}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            archive.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


class _ChunkReader(io.RawIOBase):
    """A file object over an iterator of byte chunks, for tarfile's streaming mode."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size
