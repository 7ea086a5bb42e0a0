"""The version policy: how a change between two releases of an image bumps its semver.

A rebuild with no recipe change (upstream moved, package updates) bumps the patch; a
backward-compatible change (packages, env or labels added, repositories changed) the
minor; a breaking one (packages or env removed or changed, user, workdir, entrypoint or
cmd changed, another distro or distro release, another final form, hardening that removes
tools, a runtime profile that needs more of the consumer) the major.
"""

from __future__ import annotations

import re
from typing import Literal

import semver

from builder import runtime
from builder.lock import Spec

Bump = Literal["major", "minor", "patch"]
_RELEASE = re.compile(r":([a-z]+)")  # debian:bookworm-slim -> bookworm


def classify(old: Spec, new: Spec) -> tuple[Bump, list[str]]:
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
        gone = sorted({" ".join(d.split()[:2]) for d in old.inputs}
                      - {" ".join(d.split()[:2]) for d in new.inputs})
        if gone:
            major.append(f"removed: {', '.join(gone)}")
        else:
            minor.append("CA certificates, repository keys or files changed")
    if old.runtime is not None and new.runtime is not None and old.runtime != new.runtime:
        (major if runtime.breaks(old.runtime, new.runtime) else minor).append("runtime profile changed")
    if old.hardening != new.hardening:
        removes = any(new.hardening.get(k) and not old.hardening.get(k)
                      for k in ("remove_shells", "remove_package_manager"))
        (major if removes else minor).append("hardening changed")
    if major:
        return "major", major + minor
    if minor:
        return "minor", minor
    return "patch", []


def bump(version: str, kind: Bump) -> str:
    parsed = semver.Version.parse(version)
    bumped = {"major": parsed.bump_major, "minor": parsed.bump_minor, "patch": parsed.bump_patch}[kind]()
    return str(bumped)


def next_version(last: str | None, last_spec: Spec | None, new_spec: Spec, floor: str) -> str:
    """The version the next release gets; `floor` (the recipe's `version`) forces a higher one."""
    if last is None:
        return floor
    kind = classify(last_spec, new_spec)[0] if last_spec is not None else "patch"
    candidate = bump(last, kind)
    return floor if semver.Version.parse(floor) > semver.Version.parse(candidate) else candidate
