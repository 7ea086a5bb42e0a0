"""What `builder watch` reports: each image's stale reasons, package updates, notices and errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

JSON_SCHEMA_VERSION = 1
# lifecycle: a notice, never a finding: a release nearing its end is no reason to rebuild.
StaleKind = Literal["not-built", "upstream-digest", "security-update", "recipe-changed", "parent-rebuilt", "lifecycle"]


@dataclass(frozen=True)
class PackageUpdate:
    name: str
    source: str
    old: str
    new: str
    suite: str
    cves: tuple[str, ...]
    advisories: tuple[str, ...]
    summary: str

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "source": self.source,
            "old": self.old,
            "new": self.new,
            "suite": self.suite,
            "cves": list(self.cves),
            "advisories": list(self.advisories),
            "summary": self.summary,
        }


@dataclass(frozen=True)
class StaleReason:
    kind: StaleKind
    summary: str
    old: str | None = None
    new: str | None = None
    packages: tuple[PackageUpdate, ...] = ()

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = {"kind": self.kind, "summary": self.summary}
        if self.old is not None:
            data["old"] = self.old
        if self.new is not None:
            data["new"] = self.new
        if self.packages:
            data["packages"] = [p.as_json() for p in self.packages]
        return data


@dataclass
class ImageReport:
    image: str
    findings: list[StaleReason] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    compared_with: Literal["lock", "candidate"] = "lock"  # candidate: the open one on the bot branch
    fingerprint: str | None = None  # of the inputs offered now (builder.fingerprint)
    built_fingerprint: str | None = None  # of what the lock or candidate was built from
    notices: list[StaleReason] = field(default_factory=list)  # lifecycle warnings: they make nothing stale

    @property
    def stale(self) -> bool:
        return bool(self.findings)

    def as_json(self) -> dict[str, object]:
        return {
            "image": self.image,
            "stale": self.stale,
            "compared_with": self.compared_with,
            "fingerprint": self.fingerprint,
            "built_fingerprint": self.built_fingerprint,
            "findings": [f.as_json() for f in self.findings],
            "errors": self.errors,
            "notices": [n.as_json() for n in self.notices],
        }


@dataclass
class Report:
    images: list[ImageReport]
    generated_at: str

    @property
    def stale(self) -> list[ImageReport]:
        return [r for r in self.images if r.stale]

    @property
    def failed(self) -> list[ImageReport]:
        return [r for r in self.images if r.errors]

    def as_json(self) -> dict[str, object]:
        return {
            "schema_version": JSON_SCHEMA_VERSION,
            "generated_at": self.generated_at,
            "stale": [r.image for r in self.stale],
            "failed": [r.image for r in self.failed],
            "images": [r.as_json() for r in self.images],
        }

    def outputs(self) -> dict[str, str]:
        """Step outputs for a CI job: `stale` is `true` when any image is stale."""
        return {"stale": "true" if self.stale else "false"}
