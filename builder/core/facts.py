"""Facts recorded about an image by several phases: its base, packages, sources, inputs and the recipe as released.

They live here, below every phase, so that recipes, indexes and records share one definition.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from builder.core import reference
from builder.core.runtime import Runtime


def _sha256(value: str) -> str:
    if not reference.is_sha256_digest(value):
        raise ValueError(f"{value!r} is not a sha256 digest (sha256: and 64 lowercase hex digits)")
    return value


Digest = Annotated[str, AfterValidator(_sha256)]
# What an image is, as consumers choose: built on (hardened), only run (distroless), or its debug companion.
Form = Literal["hardened", "distroless", "distroless-debug"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class BaseLock(Frozen):
    """The image this one was built FROM, as pulled."""

    reference: str = Field(description="Repository and tag as pulled, e.g. 127.0.0.1:5000/library/debian:bookworm-slim")
    digest: Digest


class Package(Frozen):
    name: str
    version: str
    source: str
    architecture: str


SourceKind = Literal["apt", "apk"]  # apk: an Alpine repository; suite and components unused


class AptSource(Frozen):
    """A package source the image was built with; `watch` reads its indexes."""

    url: str
    suite: str
    components: tuple[str, ...] = ()
    kind: SourceKind = "apt"


class OsRelease(Frozen):
    id: str
    version_id: str = ""
    codename: str = ""


class SupportDates(Frozen):
    """A distribution release and its support dates (ISO YYYY-MM-DD; None: not announced)."""

    distro: str
    codename: str
    version: str = ""
    released: str | None = None
    security: str | None = Field(None, description="End of regular security support")
    lts: str | None = Field(None, description="End of long-term support (the last free security updates)")
    extended: str | None = Field(None, description="End of paid extended support (ELTS, ESM)")
    source: str = Field("", description="Where the dates come from")


class CertificateInfo(Frozen):
    subject: str
    sha256: str = Field(description="Fingerprint: sha256 of the certificate's DER, lowercase hex")
    not_after: str


class InputFile(Frozen):
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


class RecipeSnapshot(Frozen):
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
    final: Form = "hardened"
    inputs: tuple[str, ...] = ()  # InputFile.describe() of each committed file
    runtime: Runtime | None = None  # None in locks written before the runtime profile


class Update(Frozen):
    """A package update that went into this build, with what its changelog says it fixes."""

    name: str
    old: str
    new: str
    cves: tuple[str, ...] = ()
    advisories: tuple[str, ...] = ()
    # When `new` appeared in its suite: the Date of the suite's Release on the first build that saw
    # it (ISO 8601, UTC); None when unknown. Release date minus this is the fix's patch latency.
    published: str | None = None


class ImageLock(Frozen):
    """The image as pushed: where, under which candidate tag, and its manifest digest."""

    repository: str
    tag: str
    digest: Digest
    image_id: str
    size: int = Field(ge=0)
