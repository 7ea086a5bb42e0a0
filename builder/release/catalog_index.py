"""The channel catalog, base-images/index.json, as one typed model: `builder catalog` writes it,
`builder check-pins` and `builder verify` read it.

schema_version 1. `form`, `runtime`, `support` and `main_package` came later within it: a catalog without them is read
(None), one without any other field is refused with the field named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from builder.core import reference as imageref
from builder.core.errors import UsageError
from builder.core.facts import Digest, Form
from builder.core.runtime import Profile
from builder.recipe import names
from builder.recipe.source import format_path

SCHEMA_VERSION = 1
INDEX = "index.json"
README = "README.md"
_FIX = "pass --catalog PATH to the channel's base-images/index.json"


def _reference(value: str) -> str:
    imageref.parse(value)  # refuses what no FROM line could name
    return value


class _Entry(BaseModel):
    # Readers ignore fields they do not know: a newer catalog of the same schema stays readable.
    model_config = ConfigDict(frozen=True, extra="ignore")


class CatalogVersion(_Entry):
    """One release of an image, newest first in `CatalogImage.versions`."""

    version: Annotated[str, AfterValidator(names.version)]
    digest: Digest
    date: str
    packages: int
    size: int
    cves_fixed: tuple[str, ...]
    sbom: str | None  # the SBOM's path in the repository, for the current release only


class CatalogRuntime(_Entry):
    """The strict profile to run the image under (`Profile`'s fields), as flags and Kubernetes settings."""

    user: str
    writable: tuple[str, ...]
    ports: tuple[str, ...]
    arbitrary_uid: bool
    verified: bool  # the current release's tests passed under it (else it is only declared)
    docker_run: tuple[str, ...]
    kubernetes: dict[str, Any]  # {"container": {...}, "volumes": [...]}, as Profile.kubernetes() makes it

    @classmethod
    def of(cls, profile: Profile, *, verified: bool) -> CatalogRuntime:
        return cls(
            **profile.model_dump(),
            verified=verified,
            docker_run=tuple(profile.docker_run_flags()),
            kubernetes=profile.kubernetes(),
        )


class CatalogSupport(_Entry):
    """The distro release a line's current release is built on, its support phase when the catalog was
    written (stable, lts, extended: paid only, ended) and the dates that end each."""

    release: str  # e.g. Debian 12 (bookworm)
    distro: str
    codename: str
    phase: Literal["stable", "lts", "extended", "ended"]
    security: str | None  # end of regular security support
    lts: str | None
    extended: str | None
    accept_eol: str | None = None  # why the line stays past the end of LTS, as its recipe says


class CatalogImage(_Entry):
    image: str  # NAME or NAME/VARIANT
    name: str
    variant: str | None
    repository: Annotated[str, AfterValidator(_reference)]  # as the channel's settings write it
    description: str
    form: Form | None = None  # None in catalogs written before forms
    current: str
    tags: dict[str, Digest]  # tag -> digest, as the release record says they point
    versions: tuple[CatalogVersion, ...]
    runtime: CatalogRuntime | None = None  # None in catalogs written before runtime profiles
    support: CatalogSupport | None = None  # None when unknown, and in catalogs written before it
    main_package: str | None = None  # `python3 3.11.2`: the recipe's main_package, as the release's lock has it

    @property
    def pulled_repository(self) -> str:
        """The repository as a reference to it names it (`index.docker.io/x` is `docker.io/x`)."""
        return imageref.parse(self.repository).repository


class Catalog(_Entry):
    schema_version: Literal[1]
    registry: str
    namespace: str
    images: tuple[CatalogImage, ...]

    def text(self) -> str:
        """index.json as written: sorted keys, two-space indents."""
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def read(path: Path) -> Catalog:
    """The catalog at `path`; UsageError (one line: path, field, what is wrong) when unusable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"{path}: cannot read the channel catalog ({exc}); pass --catalog PATH to base-images/index.json"
        ) from None
    return parse(data, str(path))


def parse(data: object, source: str) -> Catalog:
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = format_path(tuple(error["loc"])) or "top level"
        raise UsageError(f"{source}: not a channel catalog ({where}: {_message(error)}); {_FIX}") from None


def _message(error: Any) -> str:
    kind = error["type"]
    if kind in ("model_type", "dict_type"):
        return "expected a JSON object"
    if kind == "literal_error" and error["loc"] == ("schema_version",):
        return (
            f"{error['input']!r} is not supported (this builder reads schema_version {SCHEMA_VERSION}; "
            "use the builder release that wrote it)"
        )
    return str(error["msg"]).removeprefix("Value error, ")
