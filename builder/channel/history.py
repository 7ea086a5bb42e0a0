"""The release record of an image: base-images/NAME[/VARIANT]/releases.json.

It is the one source of truth for an image's versions: the current version is its last
entry. Each entry keeps what the changelog and the catalog say of that release (digest,
size, base, the recipe's spec for the version policy, package changes with the CVEs they
fix, and where each tag pointed before), not a copy of the lock: about 1 KB a release.

Schema 1 kept the whole lock in each entry; such a record is converted when read, its
package changes taken from the lock's updates and from the package lists of consecutive
releases, so old changelogs keep saying what changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from builder.channel import versioning
from builder.channel.lock import Lock
from builder.core.errors import LockError
from builder.core.facts import BaseLock, Digest, InputFile, OsRelease, RecipeSnapshot, SupportDates, Update
from builder.core.files import write_atomic
from builder.core.runtime import Profile
from builder.recipe import names
from builder.recipe.source import format_path

SCHEMA_VERSION: Literal[2] = 2


class Release(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Annotated[str, AfterValidator(names.version)]
    date: str
    tags: tuple[str, ...]
    repository: str
    digest: Digest
    size: int = Field(ge=0)
    base: BaseLock
    spec: RecipeSnapshot | None = None
    reasons: tuple[str, ...] = ()
    updates: tuple[Update, ...] = Field(
        (), description="Packages old -> new since the last release; old empty: added, new empty: removed"
    )
    cves: tuple[str, ...] = Field((), description="CVE ids fixed, sorted and unique")
    packages: int = Field(0, ge=0, description="How many packages the image holds")
    os: OsRelease | None = None
    inputs: tuple[InputFile, ...] = ()
    runtime: Profile | None = Field(None, description="The strict profile its tests passed under; None: not verified")
    moved: dict[str, str] | None = Field(
        None,
        description="Tag -> the digest it pointed at before this "
        "release; tags not listed were created. None: "
        "not released yet",
    )
    lifecycle: SupportDates | None = Field(
        None,
        description="The distro release built on, with its support dates as known at release; None in older records",
    )


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[2] = SCHEMA_VERSION
    image: str
    releases: tuple[Release, ...] = ()

    @property
    def last(self) -> Release | None:
        return self.releases[-1] if self.releases else None

    def by_digest(self, digest: str) -> Release | None:
        return next((r for r in self.releases if r.digest == digest), None)


def from_lock(
    lock: Lock, version: str, date: str, tags: tuple[str, ...] | list[str], moved: dict[str, str] | None = None
) -> Release:
    """The release of the pushed build `lock` describes; `moved` as in Release (None: pending)."""
    if lock.result is None:
        raise LockError(f"{lock.image}: the lock has no pushed image (result); build it with --push first")
    versioning.parse(version, lock.image)
    return Release(
        version=version,
        date=date,
        tags=tuple(tags),
        repository=lock.result.repository,
        digest=lock.result.digest,
        size=lock.result.size,
        base=lock.base,
        spec=lock.spec,
        reasons=lock.reasons,
        updates=lock.updates,
        cves=tuple(sorted({cve for update in lock.updates for cve in update.cves})),
        packages=len(lock.packages),
        os=lock.os,
        inputs=lock.inputs,
        runtime=lock.runtime,
        moved=moved,
        lifecycle=lock.lifecycle,
    )


def read(path: Path, image: str) -> Record:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Record(image=image)
    try:
        data = json.loads(text)
        if isinstance(data, dict) and data.get("schema_version", 1) == 1:
            data = _from_schema_1(data)
        return Record.model_validate(data)
    except LockError as exc:
        raise LockError(f"{path}: not a valid release record ({exc.message}); restore it from git") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = format_path(tuple(error["loc"]))
        raise LockError(
            f"{path}: not a valid release record ({where}: "
            f"{error['msg'].removeprefix('Value error, ')}); restore it from git"
        ) from None
    except ValueError as exc:
        raise LockError(
            f"{path}: not a valid release record ({str(exc).splitlines()[0]}); restore it from git"
        ) from None


class _ReleaseV1(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str
    date: str
    tags: tuple[str, ...]
    lock: Lock


def _from_schema_1(data: dict[str, Any]) -> dict[str, Any]:
    olds = [_ReleaseV1.model_validate(item) for item in data.get("releases", ())]
    converted = []
    previous: _ReleaseV1 | None = None
    for old in olds:
        lock = old.lock.model_copy(update={"updates": _changes(previous.lock if previous else None, old.lock)})
        # Schema 1 did not say where tags pointed before: as its changelogs did, a tag the
        # previous release carried moved from it.
        before = previous.lock.result.digest if previous and previous.lock.result else None
        moved = {t: before for t in old.tags if previous and before and t in previous.tags}
        converted.append(from_lock(lock, old.version, old.date, old.tags, moved).model_dump(mode="json"))
        previous = old
    return {"schema_version": SCHEMA_VERSION, "image": data.get("image"), "releases": converted}


def _changes(old: Lock | None, new: Lock) -> tuple[Update, ...]:
    """The lock's updates (they carry the CVE ids) plus every other package that changed."""
    if old is None:
        return new.updates
    before = {p.name: p.version for p in old.packages}
    after = {p.name: p.version for p in new.packages}
    known = {u.name: u for u in new.updates}
    changes = [
        known.get(name) or Update(name=name, old=before.get(name, ""), new=after.get(name, ""))
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    ]
    return tuple(changes)


def dumps(record: Record) -> str:
    # Defaults (no cmd, no inputs, ...) are left out: they read back the same, in less space.
    data = {
        **record.model_dump(mode="json"),
        "releases": [r.model_dump(mode="json", exclude_defaults=True) for r in record.releases],
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def write(path: Path, record: Record) -> None:
    write_atomic(path, dumps(record))
