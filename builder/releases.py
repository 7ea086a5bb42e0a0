"""The release record of an image: base-images/NAME[/VARIANT]/releases.json.

It is the one source of truth for an image's versions: the current version is its last
entry. Each entry keeps the whole lock that was released, so changelogs and the catalog
can say what changed between any two releases.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from builder import names
from builder.errors import LockError
from builder.fsutil import write_atomic
from builder.lock import Lock
from builder.yamlsource import format_path

RELEASES_NAME = "releases.json"


class Release(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Annotated[str, AfterValidator(names.version)]
    date: str
    tags: tuple[str, ...]
    lock: Lock


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    image: str
    releases: tuple[Release, ...] = ()

    @property
    def last(self) -> Release | None:
        return self.releases[-1] if self.releases else None

    def by_digest(self, digest: str) -> Release | None:
        return next((r for r in self.releases if r.lock.result and r.lock.result.digest == digest), None)


def read(path: Path, image: str) -> Record:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Record(image=image)
    try:
        return Record.model_validate(json.loads(text))
    except ValidationError as exc:
        error = exc.errors()[0]
        where = format_path(tuple(error["loc"]))
        raise LockError(f"{path}: not a valid release record ({where}: "
                        f"{error['msg'].removeprefix('Value error, ')}); restore it from git") from None
    except ValueError as exc:
        raise LockError(f"{path}: not a valid release record ({str(exc).splitlines()[0]}); "
                        "restore it from git") from None


def dumps(record: Record) -> str:
    return json.dumps(record.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"


def write(path: Path, record: Record) -> None:
    write_atomic(path, dumps(record))
