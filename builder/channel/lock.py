"""The lock file: exactly what went into an image (base-images/NAME[/VARIANT]/image.lock.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from builder.core.errors import LockError
from builder.core.facts import (
    AptSource,
    BaseLock,
    Frozen,
    ImageLock,
    InputFile,
    OsRelease,
    Package,
    RecipeSnapshot,
    SupportDates,
    Update,
)
from builder.core.files import write_atomic
from builder.core.runtime import Profile

SCHEMA_VERSION = 1


class Lock(Frozen):
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
    spec: RecipeSnapshot | None = None
    reasons: tuple[str, ...] = ()
    updates: tuple[Update, ...] = ()
    checks: tuple[str, ...] = ()  # each image check and recipe test, with its result
    fingerprint: str | None = None  # builder.fingerprint.of_lock(): what went in, for "nothing new"
    runtime: Profile | None = None  # the strict profile its tests passed under; None: not verified
    lifecycle: SupportDates | None = None  # the distro release built on; None in older locks


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
    try:  # parsing and validating in one pass takes half the time; a bad lock is explained below
        return Lock.model_validate_json(text)
    except ValidationError:
        pass
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LockError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); restore it from git or rebuild the image"
        ) from None
    try:
        return Lock.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise LockError(
            f"{path}: {where}: {first['msg']}; the lock is corrupted or hand-edited: "
            "restore it from git or rebuild the image"
        ) from None
