"""The lock file: exactly what went into an image (base-images/NAME[/VARIANT]/image.lock.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from builder import imageref
from builder.errors import LockError
from builder.fsutil import write_atomic
from builder.runtime import Profile, Runtime

LOCK_NAME = "image.lock.json"
SCHEMA_VERSION = 1


def _sha256(value: str) -> str:
    if not imageref.is_sha256_digest(value):
        raise ValueError(f"{value!r} is not a sha256 digest (sha256: and 64 lowercase hex digits)")
    return value


Digest = Annotated[str, AfterValidator(_sha256)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BaseLock(_Frozen):
    """The image this one was built FROM, as pulled."""

    reference: str = Field(description="Repository and tag as pulled, e.g. 127.0.0.1:5000/library/debian:bookworm-slim")
    digest: Digest


class Package(_Frozen):
    name: str
    version: str
    source: str
    architecture: str


class AptSource(_Frozen):
    """A package source the image was built with; `watch` reads its indexes."""

    url: str
    suite: str
    components: tuple[str, ...] = ()
    kind: Literal["apt", "apk"] = "apt"  # apk: an Alpine repository; suite and components unused


class OsRelease(_Frozen):
    id: str
    version_id: str = ""
    codename: str = ""


class CertificateInfo(_Frozen):
    subject: str
    sha256: str = Field(description="Fingerprint: sha256 of the certificate's DER, lowercase hex")
    not_after: str


class InputFile(_Frozen):
    """A committed file that went into the image: a CA certificate, a repository key or a file."""

    kind: Literal["ca-certificate", "repository-key", "file"]
    path: str = Field(description="Path in the channel's repository")
    sha256: str = Field(description="sha256 of the file's bytes")
    destination: str = Field(description="Where it lands in the image")
    owner: str = Field("0:0", description="uid:gid of the file in the image")
    mode: str = Field("0644", description="Its mode in the image, octal")
    certificates: tuple[CertificateInfo, ...] = ()

    def describe(self) -> str:
        return f"{self.kind} {self.path} sha256:{self.sha256} -> {self.destination} {self.owner} {self.mode}"


class Spec(_Frozen):
    """What the recipe asked of this image, as released: versions are bumped by its changes."""

    base: str  # upstream reference as written, or `recipe:ID` for a channel parent
    distro: str
    packages: tuple[str, ...] = ()
    user: str = ""  # name uid:gid home
    workdir: str = ""
    env: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    entrypoint: tuple[str, ...] | None = None
    cmd: tuple[str, ...] | None = None
    hardening: dict[str, object] = Field(default_factory=dict)
    repositories: tuple[str, ...] = ()
    final: str = "hardened"  # hardened | distroless | distroless-debug
    inputs: tuple[str, ...] = ()  # InputFile.describe() of each committed file
    runtime: Runtime | None = None  # None in locks written before the runtime profile


class Update(_Frozen):
    """A package update that went into this build, with what its changelog says it fixes."""

    name: str
    old: str
    new: str
    cves: tuple[str, ...] = ()
    advisories: tuple[str, ...] = ()


class ImageLock(_Frozen):
    """The image as pushed: where, under which candidate tag, and its manifest digest."""

    repository: str
    tag: str
    digest: Digest
    image_id: str
    size: int = Field(ge=0)


class Lock(_Frozen):
    schema_version: Literal[1] = 1
    image: str = Field(description="Image id: NAME or NAME/VARIANT")
    version: str
    recipe_sha256: str
    dockerfile_sha256: str | None = None
    base: BaseLock
    result: ImageLock | None = None
    os: OsRelease | None = None
    apt_sources: tuple[AptSource, ...] = ()
    inputs: tuple[InputFile, ...] = ()  # CA certificates, repository keys and files, by sha256
    packages: tuple[Package, ...] = ()
    built_at: str | None = None
    revision: str | None = None
    spec: Spec | None = None
    reasons: tuple[str, ...] = ()
    updates: tuple[Update, ...] = ()
    checks: tuple[str, ...] = ()  # each image check and recipe test, with its result
    fingerprint: str | None = None  # builder.fingerprint.of_lock(): what went in, for "nothing new"
    runtime: Profile | None = None  # the strict profile its tests passed under; None: not verified


def dumps(lock: Lock) -> str:
    return json.dumps(lock.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def write(path: Path, lock: Lock) -> None:
    write_atomic(path, dumps(lock))


def read(path: Path) -> Lock | None:
    """The lock at `path`, None when there is none; LockError naming the field when it is bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise LockError(f"{path}: cannot read lock: {exc}") from None
    return parse(text, str(path))


def parse(text: str, path: str) -> Lock:
    """A lock from its JSON text; `path` names it in errors (a file, or BRANCH:PATH in git)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LockError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); "
                        "restore it from git or rebuild the image") from None
    try:
        return Lock.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise LockError(f"{path}: {where}: {first['msg']}; the lock is corrupted or hand-edited: "
                        "restore it from git or rebuild the image") from None
