"""A container engine in memory (`builder.image.engine.Engine`), for unit tests of build and release.

A build "runs" the Dockerfile's USER, ENV and LABEL instructions into the image config and gives the
image the file system in `filesystem` (by default a clean Debian image for uid 65532) plus the files
the build context COPYs; nothing else of the Dockerfile is executed. What the build was asked is kept
in `builds`; `fail_builds` makes builds whose tag starts with a key fail with that message. A push puts
a manifest for the image into the `registry` (a `FakeRegistry`), so that what the build pushed is what
a release then reads; `fail_pushes` makes pushes of a repository fail. `run` answers from `answers`
(argv -> RunResult; exit 0 with no output otherwise) and records each call in `runs`. `load` puts a
ready-made image (its file system as tar entries) under a tag, for the checks alone.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from dockerfile_parse import DockerfileParser

from builder.core.errors import BuildError, EngineError, RegistryError
from builder.core.runtime import Confinement
from builder.image.engine import Auth, ImageDetails, RunResult
from tests.support.fake_registry import FakeRegistry

Entry = tuple[tarfile.TarInfo, bytes]
DPKG_STATUS = (
    "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u9\n"
    "Source: glibc\n\nPackage: tzdata\nStatus: install ok installed\nArchitecture: all\n"
    "Version: 2024a-0+deb12u1\n"
)
OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'
SOURCES = "deb http://deb.debian.org/debian bookworm main\n"


def entry(
    name: str,
    kind: bytes = tarfile.REGTYPE,
    mode: int = 0o644,
    uid: int = 0,
    gid: int = 0,
    data: bytes = b"",
    link: str = "",
    pax: dict[str, str] | None = None,
    device: tuple[int, int] = (0, 0),
) -> Entry:
    """One member of an image's file system, as `docker export` streams it."""
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.linkname = kind, mode, uid, gid, link
    info.devmajor, info.devminor = device
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    info.pax_headers = pax or {}
    return info, data


def clean_debian(uid: int = 65532, sources: str = SOURCES) -> list[Entry]:
    """A file system every image check passes for a Debian recipe whose user is `uid` with home /home/nonroot;
    `sources`: its /etc/apt/sources.list."""
    return [
        entry("etc", tarfile.DIRTYPE, 0o755),
        entry(
            "etc/passwd",
            data=f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
            f"nonroot:x:{uid}:{uid}::/home/nonroot:/usr/sbin/nologin\n".encode(),
        ),
        entry("etc/group", data=f"root:x:0:\nnonroot:x:{uid}:\n".encode()),
        entry("etc/shadow", mode=0o640, gid=42, data=b"root:*:19000:0:99999:7:::\n"),
        entry("etc/os-release", data=OS_RELEASE.encode()),
        entry("etc/apt/sources.list", data=sources.encode()),
        entry("tmp", tarfile.DIRTYPE, 0o1777),
        entry("var/lib/dpkg/status", data=DPKG_STATUS.encode()),
        entry("home/nonroot", tarfile.DIRTYPE, 0o750, uid=uid, gid=uid),
    ]


def archive(members: list[Entry]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass(frozen=True)
class Build:
    dockerfile: str
    tag: str
    labels: Mapping[str, str]
    pull: bool
    files: Mapping[str, tuple[bytes, int]]


@dataclass
class FakeEngine:
    filesystem: list[Entry] = field(default_factory=clean_debian)
    registry: FakeRegistry = field(default_factory=FakeRegistry)
    fail_builds: dict[str, str] = field(default_factory=dict)  # tag prefix -> the build's error
    fail_pushes: dict[str, str] = field(default_factory=dict)  # repository -> the push's error
    answers: dict[tuple[str, ...], RunResult] = field(default_factory=dict)
    builds: list[Build] = field(default_factory=list)
    pushes: list[tuple[str, str, Auth | None]] = field(default_factory=list)
    runs: list[tuple[str, tuple[str, ...], Confinement | None]] = field(default_factory=list)
    images: dict[str, tuple[ImageDetails, bytes]] = field(default_factory=dict)  # id or tag -> config, files
    _tags: dict[str, str] = field(default_factory=dict)  # repository:tag -> image id

    # -- registry side -----------------------------------------------------------------
    def resolve_digest(self, reference: str, auth: Auth | None = None) -> str:  # noqa: ARG002
        repository, _, tag = reference.rpartition(":")
        digest = self.registry.tag(repository, tag)
        if digest is None:
            raise RegistryError(f"cannot resolve {reference}: manifest unknown")
        return digest

    def push(self, repository: str, tag: str, auth: Auth | None = None) -> str:
        self.pushes.append((repository, tag, auth))
        if repository in self.fail_pushes:
            raise RegistryError(f"push of {repository}:{tag} failed: {self.fail_pushes[repository]}")
        image_id = self._tags.get(f"{repository}:{tag}")
        if image_id is None:
            raise RegistryError(f"push of {repository}:{tag} failed: no such local image")
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": image_id, "size": 2},
                "layers": [],
            }
        ).encode()
        return self.registry.put(repository, tag, manifest)

    def pull(self, reference: str, auth: Auth | None = None) -> str:  # noqa: ARG002
        raise RegistryError(f"pull of {reference} failed: the fake engine pulls nothing")

    def tags(self) -> list[str]:
        return sorted(self._tags)

    def remove(self, image: str) -> None:
        self._tags.pop(image, None)

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
        self.builds.append(Build(dockerfile, tag, dict(labels), pull, dict(files or {})))
        parser = _parsed(dockerfile)
        steps = [f"{i['instruction']} {i['value']}" for i in parser.structure if i["instruction"] != "COMMENT"]
        for number, line in enumerate(steps, 1):
            on_line(f"Step {number}/{len(steps)} : {line}")
        for prefix, message in self.fail_builds.items():
            if tag.startswith(prefix):
                raise BuildError(f"build of {tag} failed: {message}", [*steps[-2:], message])
        data = archive(self.filesystem + _copied(parser, files or {}))
        image_id = "sha256:" + hashlib.sha256(dockerfile.encode() + data).hexdigest()
        details = ImageDetails(
            id=image_id, size=len(data), user=_user(parser), env=dict(parser.envs), labels={**parser.labels, **labels}
        )
        self.images[image_id] = (details, data)
        self._tags[tag] = image_id
        return image_id

    def load(self, tag: str, members: list[Entry], user: str = "") -> str:
        """An image as `docker load` would give it: `members` as its file system; its id."""
        data = archive(members)
        image_id = "sha256:" + hashlib.sha256(data).hexdigest()
        self.images[image_id] = (ImageDetails(id=image_id, size=len(data), user=user), data)
        self._tags[tag] = image_id
        return image_id

    def inspect(self, image: str) -> ImageDetails:
        return self._image(image)[0]

    def tag(self, image: str, repository: str, tag: str) -> None:
        self._tags[f"{repository}:{tag}"] = self._image(image)[0].id

    def files(self, image: str) -> Iterator[tuple[tarfile.TarInfo, tarfile.TarFile]]:
        with tarfile.open(fileobj=io.BytesIO(self._image(image)[1]), mode="r|") as tar:
            for member in tar:
                yield member, tar

    def run(
        self,
        image: str,
        argv: list[str],
        timeout: int = 120,  # noqa: ARG002
        *,
        confinement: Confinement | None = None,
    ) -> RunResult:
        self.runs.append((image, tuple(argv), confinement))
        return self.answers.get(tuple(argv), RunResult(0, "", ""))

    def _image(self, image: str) -> tuple[ImageDetails, bytes]:
        found = self.images.get(self._tags.get(image, image))
        if found is None:
            raise EngineError(f"cannot inspect {image}: No such image")
        return found


def _parsed(dockerfile: str) -> DockerfileParser:
    parser = DockerfileParser(fileobj=io.BytesIO())
    parser.content = dockerfile
    return parser


def _user(parser: DockerfileParser) -> str:
    users = [str(i["value"]).strip() for i in parser.structure if i["instruction"] == "USER"]
    return users[-1] if users else ""


def _copied(parser: DockerfileParser, files: Mapping[str, tuple[bytes, int]]) -> list[Entry]:
    """The committed files the Dockerfile COPYs, at their destinations with their owner and mode."""
    members = []
    for instruction in parser.structure:
        found = re.fullmatch(r"(?:--chown=(\d+):(\d+) )?(\[.*\])", str(instruction["value"]).strip())
        if instruction["instruction"] != "COPY" or not found:
            continue
        source, destination = json.loads(found[3])
        if source in files:
            data, mode = files[source]
            members.append(
                entry(destination.lstrip("/"), mode=mode, uid=int(found[1] or 0), gid=int(found[2] or 0), data=data)
            )
    return members
