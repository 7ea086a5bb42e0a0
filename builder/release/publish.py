"""Releases: new immutable version tags and forward-only moving tags, put by digest.

Planned first (`--dry-run` prints the same plan), then executed per image: the manifest
of the tested candidate is fetched once by digest and put under each tag, version tag
first, then the record and changelog are written, then the catalog.

Crash safety: the registry's version tag is the point of no return. A run that dies at
any point leaves every tag at a known digest (the candidate's or the one before), and
- a rerun of `builder release` on the same candidate completes the release: tags already
  right are kept, the rest are put, the record is written;
- a rebuild instead (the candidate is replaced) moves past the version the dead run
  tagged: `versioning.next_free_version` skips every version tag that exists, with a note
  in the new lock's reasons that the next changelog entry repeats. No version is reused.
Serialized: one `builder release` at a time per checkout (an exclusive lock on
`OUTPUT/.release.lock`; a second one is refused). Runs from two checkouts at once may
release the same candidate: putting the same digest twice is harmless; a version tag
found at another digest right before the put is refused.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from builder.channel import changelog as changelog_md
from builder.channel import history, main_package, versioning
from builder.channel.layout import ImageFiles
from builder.channel.lock import Lock
from builder.core.errors import ReleaseError
from builder.core.files import write_many_atomic
from builder.core.settings import Settings
from builder.recipe.graph import Channel
from builder.recipe.variants import ImageSpec
from builder.release import catalog
from builder.upstream.registry import RegistryClient

RELEASE_LOCK = ".release.lock"


@dataclass(frozen=True)
class TagMove:
    tag: str
    current: str | None  # digest the tag points at now, None if absent
    action: Literal["create", "move", "keep", "hold"]  # hold: never moved backwards
    note: str = ""


@dataclass(frozen=True)
class ReleaseStep:
    image: str
    version: str
    repository: str
    digest: str
    moves: tuple[TagMove, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "image": self.image,
            "version": self.version,
            "repository": self.repository,
            "digest": self.digest,
            "tags": [{"tag": m.tag, "current": m.current, "action": m.action, "note": m.note} for m in self.moves],
        }


@contextmanager
def exclusive(output_dir: Path) -> Iterator[None]:
    """Hold OUTPUT/.release.lock for one release run; ReleaseError when another run holds it."""
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / RELEASE_LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            raise ReleaseError(
                f"{path}: another `builder release` is running in this checkout (pid {holder}); "
                "wait for it to finish, then run it again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        os.close(fd)


def tags_for(image: ImageSpec, version: str) -> list[str]:
    parsed = versioning.parse(version, image.id)
    suffix = image.tag_suffix
    moving = image.variant_name or "latest"
    return [f"{version}{suffix}", f"{parsed.major}.{parsed.minor}{suffix}", f"{parsed.major}{suffix}", moving]


def kind_of(lock: Lock, record: history.Record) -> str:
    """major, minor or patch: how this candidate differs from the last release."""
    last = record.last
    if last is None:
        return "first"
    if last.spec is None or lock.spec is None:
        return "patch"
    return versioning.classify(last.spec, lock.spec)[0]


def plan(
    settings: Settings, channel: Channel, selected: list[str], client: RegistryClient, only_patch: bool = False
) -> list[ReleaseStep]:
    """Release steps for the pushed, unreleased candidates (`only_patch`: the auto-release policy)."""
    steps = []
    for image_id in selected:
        image = channel.images[image_id]
        files = ImageFiles.of(settings, image)
        lock = files.read_lock()
        if lock is None or lock.result is None:
            continue
        record = files.read_history()
        if record.last is not None and record.last.digest == lock.result.digest:
            continue  # this build is already released
        version = versioning.parse(lock.version, str(files.lock))
        if record.last is not None and version <= versioning.parse(record.last.version, image_id):
            raise ReleaseError(
                f"{image_id}: the candidate is version {lock.version}, not newer than the "
                f"released {record.last.version}; rebuild it with `builder build --push`"
            )
        if only_patch and kind_of(lock, record) != "patch":
            continue
        main_package.check_agreement(settings, channel, image)
        steps.append(_step(image, lock, record, client))
    return steps


def _step(image: ImageSpec, lock: Lock, record: history.Record, client: RegistryClient) -> ReleaseStep:
    assert lock.result is not None  # noqa: S101 - checked by the caller
    repository, digest = lock.result.repository, lock.result.digest
    moves = []
    for position, tag in enumerate(tags_for(image, lock.version)):
        current = client.digest_or_none(f"{repository}:{tag}")
        if current == digest:
            moves.append(TagMove(tag, current, "keep"))
        elif current is None:
            moves.append(TagMove(tag, None, "create"))
        elif position == 0:
            raise _immutable(repository, tag, current)
        else:
            holder = record.by_digest(current)
            if holder is not None and versioning.parse(holder.version, image.id) > versioning.parse(
                lock.version, image.id
            ):
                moves.append(TagMove(tag, current, "hold", f"points at the newer {holder.version}"))
            else:
                was = f"from {holder.version}" if holder else "from a digest this channel never released"
                moves.append(TagMove(tag, current, "move", was))
    return ReleaseStep(image.id, lock.version, repository, digest, tuple(moves))


def _immutable(repository: str, tag: str, current: str) -> ReleaseError:
    return ReleaseError(
        f"{repository}:{tag} already points at {current[:19]}; version tags are immutable: "
        "rebuild (`builder build --push`) to get the next free version"
    )


def execute(
    settings: Settings, channel: Channel, step: ReleaseStep, client: RegistryClient, today: str | None = None
) -> history.Release:
    image = channel.images[step.image]
    manifest = client.manifest(f"{step.repository}@{step.digest}")
    version_tag = step.moves[0].tag
    for move in step.moves:
        if move.action not in ("create", "move"):
            continue
        if move.tag == version_tag:
            # Another checkout may have released another build under this version since the plan.
            current = client.digest_or_none(f"{step.repository}:{move.tag}")
            if current not in (None, step.digest):
                raise _immutable(step.repository, move.tag, str(current))
        client.put_manifest(f"{step.repository}:{move.tag}", manifest)
    files = ImageFiles.of(settings, image)
    lock = files.read_lock()
    assert lock is not None  # noqa: S101 - planned from it
    record = files.read_history()
    date = today or dt.datetime.now(dt.UTC).date().isoformat()
    # A tag kept on a rerun was put by the run that died: say where it was before as that run saw it.
    moved = {m.tag: m.current for m in _reran(step, record) if m.action == "move" and m.current}
    release = history.from_lock(lock, step.version, date, tuple(m.tag for m in step.moves if m.action != "hold"), moved)
    updated = history.Record(image=step.image, releases=(*record.releases, release))
    write_many_atomic({files.releases: history.dumps(updated), files.changelog: changelog_md.render(updated)})
    catalog.write(settings, channel)
    return release


def _reran(step: ReleaseStep, record: history.Record) -> list[TagMove]:
    """The moves as the first attempt saw them: a kept moving tag came from the last release, if it had it."""
    last = record.last
    return [
        TagMove(m.tag, last.digest, "move")
        if m.action == "keep" and m.tag != step.moves[0].tag and last is not None and m.tag in last.tags
        else m
        for m in step.moves
    ]
