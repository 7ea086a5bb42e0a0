"""`builder check-pins`: consumers' Dockerfiles that build FROM an outdated channel image.

Like `apt list --upgradable` for images: a FROM pinned to a digest that its tag no longer
points at, or to a version with a newer release in the same major, is reported with the
current one. `NAME:MAJOR` and `NAME:MAJOR.MINOR` without a digest track their line on purpose
(the channel recommends them): reported as tracking, failures only when strict. A FROM that
names a build argument (`FROM ${BASE}`) is judged by the ARG's default. `pins_fix` rewrites them.
A FROM of a line whose distro release nears the end of its support (or is past it) gets advice on the
line or variant to move to: never a failure, never rewritten.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import semver

from builder.core import plaintext
from builder.core import reference as imageref
from builder.core.errors import UsageError
from builder.release.base_refs import BaseRef, base_refs
from builder.release.catalog_index import Catalog, CatalogImage

Kind = Literal["outdated", "moved", "unpinned", "tracking", "lifecycle"]
WINDOW_DAYS = 180  # as the channel's default lifecycle_window: the consumer has no channel settings
_TRACKING = re.compile(r"[0-9]+(?:\.[0-9]+)?")  # MAJOR or MAJOR.MINOR


@dataclass(frozen=True)
class Pin:
    file: Path
    line: int  # the FROM's line
    reference: str  # the base image as the FROM resolves it
    message: str
    replacement: str | None  # the up-to-date reference, when there is one
    kind: Kind = "outdated"
    arg: str | None = None  # the build argument whose default names it
    written_at: int = 0  # the line holding the text a fix rewrites (the ARG's or the FROM's)

    def __str__(self) -> str:
        fix = f" -> {self.replacement}" if self.replacement else ""
        via = f" (ARG {self.arg}, line {self.written_at})" if self.arg else ""
        return plaintext.line(f"{self.file}:{self.line}: {self.reference}{via}: {self.message}{fix}")

    def fails(self, strict: bool) -> bool:
        if self.kind == "lifecycle":
            return False  # advice: moving to another release is the consumer's call
        return self.kind != "tracking" or strict

    def json(self) -> dict[str, object]:
        return {
            "file": str(self.file),
            "line": self.line,
            "image": imageref.parse(self.reference).repository,
            "current": self.reference,
            "proposed": self.replacement,
            "kind": self.kind,
            "message": self.message,
            "arg": self.arg,
            "arg_line": self.written_at if self.arg else None,
        }


def dockerfiles(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and (p.name == "Dockerfile" or p.name.startswith("Dockerfile.") or p.suffix == ".dockerfile")
            )
        else:
            found.append(path)
    return found


def check(paths: list[Path], catalog: Catalog, today: dt.date | None = None) -> list[Pin]:
    """The pins behind the catalog, tracking ones and lifecycle advice included; UsageError when a file
    is unusable. `today` fixes the day support dates are judged on."""
    day = today or dt.datetime.now(dt.UTC).date()
    by_repository: dict[str, list[CatalogImage]] = {}
    for image in catalog.images:
        by_repository.setdefault(image.pulled_repository, []).append(image)
    pins = []
    for path in dockerfiles(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise UsageError(f"{path}: cannot read it as a Dockerfile ({reason})") from None
        for base in base_refs(text):
            try:
                ref = imageref.parse(base.text)
            except imageref.ReferenceError:
                continue  # a stage name, or text no registry could serve: not ours to judge
            candidates = by_repository.get(ref.repository, [])
            pin = _judge(path, base, ref, candidates)
            if pin is not None:
                pins.append(pin)
            line = _line_of(ref, candidates)
            advice = _lifecycle(line, catalog, day) if line is not None else None
            if advice is not None:
                pins.append(Pin(path, base.line, base.text, advice, None, "lifecycle", base.arg, base.written_at))
    return pins


def _line_of(ref: imageref.ImageRef, images: list[CatalogImage]) -> CatalogImage | None:
    """The catalog's line a reference pulls: by one of its tags or versions."""
    for image in images:
        suffix = f"-{image.variant}" if image.variant else ""
        if ref.tag is not None and (
            ref.tag in image.tags or ref.tag.removesuffix(suffix) in {v.version for v in image.versions}
        ):
            return image
    return None


def _lifecycle(image: CatalogImage, catalog: Catalog, today: dt.date) -> str | None:
    """Advice when the line's release ends within WINDOW_DAYS or has ended: which line to move to."""
    info = image.support
    if info is None or info.security is None:
        return None
    left = (dt.date.fromisoformat(info.security) - today).days
    if info.phase == "stable" and left > WINDOW_DAYS:
        return None
    if info.phase == "stable":
        state = f"{info.release}: regular security support ends on {info.security} ({left} days)"
    elif info.phase == "lts":
        state = f"{info.release}: regular security support ended on {info.security}; LTS until {info.lts}"
    else:
        state = f"{info.release}: unsupported since {info.lts or info.security}"
    newer = [
        other
        for other in catalog.images
        if other.name == image.name
        and other.support is not None
        and other.support.distro == info.distro
        and other.support.phase == "stable"
        and (other.support.security or "9999") > info.security
    ]
    if not newer:
        return f"{state}; the channel has no {image.name} line on a newer release yet"
    target = max(newer, key=lambda other: (other.support.security if other.support else None) or "9999")
    suffix = f"-{target.variant}" if target.variant else ""
    release = target.support.release if target.support else ""
    return f"{state}; move to {target.image} ({release}): {target.repository}:{target.current}{suffix}"


def _judge(path: Path, base: BaseRef, ref: imageref.ImageRef, images: list[CatalogImage]) -> Pin | None:
    def pin(message: str, replacement: str, kind: Kind) -> Pin:
        return Pin(path, base.line, base.text, message, replacement, kind, base.arg, base.written_at)

    for image in images:
        tags = image.tags
        versions = {v.version: v for v in image.versions}
        by_digest = {v.digest: v.version for v in image.versions}
        suffix = f"-{image.variant}" if image.variant else ""
        if ref.tag is None or (ref.tag not in tags and ref.tag.removesuffix(suffix) not in versions):
            continue
        repository = ref.repository
        version = ref.tag.removesuffix(suffix)
        if version in versions and ref.tag not in ("latest", image.variant):
            parsed = semver.Version.parse(version)
            newest = max(
                (v for v in versions if semver.Version.parse(v).major == parsed.major), key=semver.Version.parse
            )
            if newest != version:
                target = f"{newest}{suffix}"
                return pin(
                    f"{version} is outdated: {newest} is the newest {parsed.major}.x",
                    f"{repository}:{target}@{tags.get(target, versions[newest].digest)}",
                    "outdated",
                )
            if ref.digest and ref.digest != versions[version].digest:
                return pin(
                    f"the digest is not the one released as {version}",
                    f"{repository}:{ref.tag}@{versions[version].digest}",
                    "moved",
                )
            return None
        if ref.tag not in tags:
            continue
        current = tags[ref.tag]
        now = by_digest.get(current, "?")
        if ref.digest is None and _TRACKING.fullmatch(version):
            return pin(f"tracking {ref.tag}, now {now} ({current})", f"{repository}:{ref.tag}@{current}", "tracking")
        if ref.digest is None:
            return pin(f"not pinned by digest; {ref.tag} is {now}", f"{repository}:{ref.tag}@{current}", "unpinned")
        if ref.digest != current:
            was = by_digest.get(ref.digest, "an unreleased digest")
            return pin(f"pinned to {was}; {ref.tag} now points at {now}", f"{repository}:{ref.tag}@{current}", "moved")
        return None
    return None
