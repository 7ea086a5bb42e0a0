"""The version policy: how a change between two releases of an image bumps its semver.

A rebuild with no recipe change (upstream moved, package updates) bumps the patch; a
backward-compatible change (packages, env or labels added, repositories changed) the
minor; a breaking one (packages or env removed or changed, user, workdir, entrypoint or
cmd changed, another distro or distro release, another final form, hardening that removes
tools, a runtime profile that needs more of the consumer) the major.

A version number is never reused: a version tag in the registry is immutable, so the next
build skips every version whose tag already exists (a release that wrote it and then
died), and says so in a note the build prints and records in its lock's reasons.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

import semver

from builder.core import runtime
from builder.core.errors import LockError
from builder.core.facts import RecipeSnapshot
from builder.recipe import names

Bump = Literal["major", "minor", "patch"]
_RELEASE = re.compile(r":([a-z]+)")  # debian:bookworm-slim -> bookworm
_SKIPPED = re.compile(
    r"(?P<tag>\S+) was tagged at (?P<digest>sha256:[0-9a-f]{64}) by a release that did not "
    r"finish; this build is (?P<version>\S+)"
)
MAX_SKIPPED = 100  # more orphaned version tags in a row than this is not a crash, it is a misconfiguration
TagLookup = Callable[[str], "str | None"]  # tag -> the digest it points at in the registry, None if absent


def parse(version: str, where: str) -> semver.Version:
    """`version` as semver, or a one-line LockError naming `where` it was read."""
    try:
        return semver.Version.parse(names.version(version))
    except ValueError as exc:
        raise LockError(f"{where}: version: {exc}; restore the file from git or rebuild the image") from None


def classify(old: RecipeSnapshot, new: RecipeSnapshot) -> tuple[Bump, list[str]]:
    """The bump and the reasons for it, for people."""
    major: list[str] = []
    minor: list[str] = []
    removed = sorted(set(old.packages) - set(new.packages))
    added = sorted(set(new.packages) - set(old.packages))
    if removed:
        major.append(f"packages removed: {', '.join(removed)}")
    if added:
        minor.append(f"packages added: {', '.join(added)}")
    for field in ("user", "workdir", "entrypoint", "cmd", "distro", "final"):
        if getattr(old, field) != getattr(new, field):
            major.append(f"{field} changed")
    if old.base != new.base:
        old_release, new_release = _RELEASE.findall(old.base)[:1], _RELEASE.findall(new.base)[:1]
        (major if old_release != new_release else minor).append(f"base changed: {old.base} -> {new.base}")
    gone_env = sorted(k for k in old.env if k not in new.env or old.env[k] != new.env[k])
    if gone_env:
        major.append(f"env removed or changed: {', '.join(gone_env)}")
    if set(new.env) - set(old.env):
        minor.append(f"env added: {', '.join(sorted(set(new.env) - set(old.env)))}")
    if old.labels != new.labels:
        minor.append("labels changed")
    if old.repositories != new.repositories:
        minor.append("repositories changed")
    if old.inputs != new.inputs:
        # A CA no longer trusted or a file gone breaks consumers; the rest (a renewed
        # certificate, a changed file) is compatible. describe() starts "KIND PATH sha256:".
        gone = sorted({" ".join(d.split()[:2]) for d in old.inputs} - {" ".join(d.split()[:2]) for d in new.inputs})
        if gone:
            major.append(f"removed: {', '.join(gone)}")
        else:
            minor.append("CA certificates, repository keys or files changed")
    if old.runtime is not None and new.runtime is not None and old.runtime != new.runtime:
        (major if runtime.breaks(old.runtime, new.runtime) else minor).append("runtime profile changed")
    if old.hardening != new.hardening:
        removes = any(
            new.hardening.get(k) and not old.hardening.get(k) for k in ("remove_shells", "remove_package_manager")
        )
        (major if removes else minor).append("hardening changed")
    if major:
        return "major", major + minor
    if minor:
        return "minor", minor
    return "patch", []


def bump(version: str, kind: Bump) -> str:
    parsed = parse(version, "the last release")
    bumped = {"major": parsed.bump_major, "minor": parsed.bump_minor, "patch": parsed.bump_patch}[kind]()
    return str(bumped)


def next_version(last: str | None, last_spec: RecipeSnapshot | None, new_spec: RecipeSnapshot, floor: str) -> str:
    """The version the next release gets; `floor` (the recipe's `version`) forces a higher one."""
    if last is None:
        return floor
    kind = classify(last_spec, new_spec)[0] if last_spec is not None else "patch"
    candidate = bump(last, kind)
    return floor if semver.Version.parse(floor) > semver.Version.parse(candidate) else candidate


def next_free_version(version: str, suffix: str, lookup: TagLookup) -> tuple[str, tuple[str, ...]]:
    """`version`, or the first patch after it whose version tag (`VERSION+suffix`) is not taken.

    A taken tag belongs to a release that tagged an image and died before recording it:
    version tags are immutable, so that number is spent. Each skipped version gives a note
    for the build log and the lock's reasons, which the next changelog entry repeats.
    """
    notes: list[str] = []
    current = version
    for _ in range(MAX_SKIPPED):
        tag = f"{current}{suffix}"
        taken = lookup(tag)
        if taken is None:
            return current, tuple(f"{note}{current}" for note in notes)
        notes.append(f"{tag} was tagged at {taken} by a release that did not finish; this build is ")
        current = bump(current, "patch")
    raise LockError(
        f"version tags {version}{suffix} to {current}{suffix} all exist in the registry but no "
        "release records them; clean up the registry or raise the recipe's `version`"
    )


def skipped(reason: str) -> tuple[str, str, str] | None:
    """(tag, digest, this build's version) when `reason` is a note of next_free_version."""
    found = _SKIPPED.fullmatch(reason)
    return (found["tag"], found["digest"], found["version"]) if found else None
