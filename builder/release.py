"""Releases: new immutable version tags and forward-only moving tags, put by digest.

Planned first (`--dry-run` prints the same plan), then executed per image: the manifest
of the tested candidate is fetched once by digest and put under each tag, version tag
first. A failure midway leaves every tag pointing at a known digest (the candidate's or
the one before), and a re-run completes the release: tags already right are kept.
The record, changelog and catalog are written only after all tags are in place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import semver

from builder import catalog, changelog_md, releases, render, versioning
from builder import lock as lockfile
from builder.errors import ReleaseError
from builder.fsutil import write_many_atomic
from builder.graph import Channel
from builder.images import ImageSpec
from builder.lock import Lock
from builder.registry import RegistryClient
from builder.settings import Settings


@dataclass(frozen=True)
class TagMove:
    tag: str
    current: str | None  # digest the tag points at now, None if absent
    action: str  # create | move | keep | hold (never moved backwards)
    note: str = ""


@dataclass(frozen=True)
class Step:
    image: str
    version: str
    repository: str
    digest: str
    moves: tuple[TagMove, ...]

    def as_json(self) -> dict[str, object]:
        return {"image": self.image, "version": self.version, "repository": self.repository,
                "digest": self.digest,
                "tags": [{"tag": m.tag, "current": m.current, "action": m.action, "note": m.note}
                         for m in self.moves]}


def tags_for(image: ImageSpec, version: str) -> list[str]:
    parsed = semver.Version.parse(version)
    suffix = image.tag_suffix
    moving = image.variant_name or "latest"
    return [f"{version}{suffix}", f"{parsed.major}.{parsed.minor}{suffix}", f"{parsed.major}{suffix}", moving]


def kind_of(lock: Lock, record: releases.Record) -> str:
    """major, minor or patch: how this candidate differs from the last release."""
    last = record.last
    if last is None:
        return "first"
    if last.lock.spec is None or lock.spec is None:
        return "patch"
    return versioning.classify(last.lock.spec, lock.spec)[0]


def plan(settings: Settings, channel: Channel, selected: list[str], client: RegistryClient,
         only_patch: bool = False) -> list[Step]:
    """Release steps for the pushed, unreleased candidates (`only_patch`: the auto-release policy)."""
    steps = []
    for image_id in selected:
        image = channel.images[image_id]
        folder = render.output_dir(settings, image)
        lock = lockfile.read(folder / lockfile.LOCK_NAME)
        if lock is None or lock.result is None:
            continue
        record = releases.read(folder / releases.RELEASES_NAME, image_id)
        if record.last is not None and record.last.lock.result and \
                record.last.lock.result.digest == lock.result.digest:
            continue  # this build is already released
        if record.last is not None and semver.Version.parse(lock.version) <= semver.Version.parse(record.last.version):
            raise ReleaseError(f"{image_id}: the candidate is version {lock.version}, not newer than the "
                               f"released {record.last.version}; rebuild it with `builder build --push`")
        if only_patch and kind_of(lock, record) != "patch":
            continue
        steps.append(_step(image, lock, record, client))
    return steps


def _step(image: ImageSpec, lock: Lock, record: releases.Record, client: RegistryClient) -> Step:
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
            raise ReleaseError(f"{repository}:{tag} already points at {current[:19]}; version tags are "
                               "immutable: rebuild to get a new version")
        else:
            holder = record.by_digest(current)
            if holder is not None and semver.Version.parse(holder.version) > semver.Version.parse(lock.version):
                moves.append(TagMove(tag, current, "hold", f"points at the newer {holder.version}"))
            else:
                was = f"from {holder.version}" if holder else "from a digest this channel never released"
                moves.append(TagMove(tag, current, "move", was))
    return Step(image.id, lock.version, repository, digest, tuple(moves))


def execute(settings: Settings, channel: Channel, step: Step, client: RegistryClient,
            today: str | None = None) -> releases.Release:
    image = channel.images[step.image]
    manifest = client.manifest(f"{step.repository}@{step.digest}")
    for move in step.moves:
        if move.action in ("create", "move"):
            client.put_manifest(f"{step.repository}:{move.tag}", manifest)
    folder = render.output_dir(settings, image)
    lock = lockfile.read(folder / lockfile.LOCK_NAME)
    assert lock is not None  # noqa: S101 - planned from it
    record = releases.read(folder / releases.RELEASES_NAME, step.image)
    date = today or dt.datetime.now(dt.UTC).date().isoformat()
    release = releases.Release(version=step.version, date=date,
                               tags=tuple(m.tag for m in step.moves if m.action != "hold"), lock=lock)
    updated = releases.Record(image=step.image, releases=(*record.releases, release))
    releases.write(folder / releases.RELEASES_NAME, updated)
    write_many_atomic({folder / changelog_md.CHANGELOG_NAME: changelog_md.render(updated)})
    catalog.write(settings, channel)
    return release
