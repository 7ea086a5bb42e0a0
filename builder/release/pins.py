"""`builder check-pins`: consumers' Dockerfiles that build FROM an outdated channel image.

Like `apt list --upgradable` for images: a FROM pinned to a digest that its tag no longer
points at, or to a version with a newer release in the same major, is reported with the
current one; `--fix` rewrites the pins (tag and digest) in place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import semver

from builder.core import plaintext
from builder.core import reference as imageref
from builder.core.errors import UsageError
from builder.core.files import write_atomic
from builder.dockerfile import syntax
from builder.release.catalog_index import Catalog, CatalogImage

_FROM = re.compile(r"^(\s*FROM\s+(?:--\S+\s+)*)(\S+)(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Pin:
    file: Path
    line: int
    reference: str
    message: str
    replacement: str | None  # the up-to-date reference, when there is one

    def __str__(self) -> str:
        fix = f" -> {self.replacement}" if self.replacement else ""
        return plaintext.line(f"{self.file}:{self.line}: {self.reference}: {self.message}{fix}")


def dockerfiles(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and
                            (p.name == "Dockerfile" or p.name.startswith("Dockerfile.") or p.suffix == ".dockerfile"))
        else:
            found.append(path)
    return found


def check(paths: list[Path], catalog: Catalog) -> list[Pin]:
    """The outdated pins; UsageError when a file is unusable."""
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
        for inst in syntax.parse(text):
            if inst.keyword != "FROM":
                continue
            words = [w for w in inst.args.split() if not w.startswith("--")]
            if not words:
                continue
            try:
                ref = imageref.parse(words[0])
            except imageref.ReferenceError:
                continue  # a stage name or a build argument, not ours to judge
            pin = _judge(path, inst.line, words[0], ref, by_repository.get(ref.repository, []))
            if pin is not None:
                pins.append(pin)
    return pins


def _judge(path: Path, line: int, text: str, ref: imageref.ImageRef,
           images: list[CatalogImage]) -> Pin | None:
    for image in images:
        tags = image.tags
        versions = {v.version: v for v in image.versions}
        by_digest = {v.digest: v.version for v in image.versions}
        suffix = f"-{image.variant}" if image.variant else ""
        if ref.tag is None or (ref.tag not in tags and ref.tag.removesuffix(suffix) not in versions):
            continue
        base = ref.repository
        version = ref.tag.removesuffix(suffix)
        if version in versions and ref.tag not in ("latest", image.variant):
            parsed = semver.Version.parse(version)
            newest = max((v for v in versions if semver.Version.parse(v).major == parsed.major),
                         key=semver.Version.parse)
            if newest != version:
                target = f"{newest}{suffix}"
                return Pin(path, line, text, f"{version} is outdated: {newest} is the newest {parsed.major}.x",
                           f"{base}:{target}@{tags.get(target, versions[newest].digest)}")
            if ref.digest and ref.digest != versions[version].digest:
                return Pin(path, line, text, f"the digest is not the one released as {version}",
                           f"{base}:{ref.tag}@{versions[version].digest}")
            return None
        if ref.tag not in tags:
            continue
        current = tags[ref.tag]
        if ref.digest is None:
            return Pin(path, line, text, f"not pinned by digest; {ref.tag} is {by_digest.get(current, '?')}",
                       f"{base}:{ref.tag}@{current}")
        if ref.digest != current:
            was = by_digest.get(ref.digest, "an unreleased digest")
            return Pin(path, line, text, f"pinned to {was}; {ref.tag} now points at {by_digest.get(current, '?')}",
                       f"{base}:{ref.tag}@{current}")
        return None
    return None


def fix(pins: list[Pin]) -> list[Path]:
    """Rewrite each outdated FROM in place (atomically per file); the files changed."""
    by_file: dict[Path, list[Pin]] = {}
    for pin in pins:
        if pin.replacement:
            by_file.setdefault(pin.file, []).append(pin)
    for path, items in by_file.items():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        for pin in items:
            match = _FROM.match(lines[pin.line - 1])
            if match and match.group(2) == pin.reference:
                ending = "\n" if lines[pin.line - 1].endswith("\n") else ""
                lines[pin.line - 1] = f"{match.group(1)}{pin.replacement}{match.group(3).rstrip(chr(10))}{ending}"
        write_atomic(path, "".join(lines))
    return sorted(by_file)
