"""The bot's pull request: title, Conventional Commit message and a body for the reviewer.

The body is the changelog entry the release will write, plus what a reviewer checks
before merging: image checks and tests, the tags that move, and the Dockerfile diff. It
stays under GitHub's size limit by dropping the least important parts first.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass

from builder import changelog_md, release, versioning
from builder.images import ImageSpec
from builder.lock import Lock
from builder.releases import Record, Release

MAX_BODY = 65536
FOOTER = "<sub>Opened by `builder bot`. Merging releases it: `builder release` moves the tags by digest.</sub>"


@dataclass(frozen=True)
class Change:
    """One image of the line, as built and as last released."""

    image: ImageSpec
    lock: Lock
    record: Record
    old_dockerfile: str
    new_dockerfile: str
    released: bool = False  # the auto-release policy already moved its tags

    @property
    def pending(self) -> Release:
        today = dt.datetime.now(dt.UTC).date().isoformat()
        return Release(version=self.lock.version, date=today,
                       tags=tuple(release.tags_for(self.image, self.lock.version)), lock=self.lock)

    @property
    def kind(self) -> str:
        last = self.record.last
        if last is None or last.lock.spec is None or self.lock.spec is None:
            return "patch" if last is not None else "minor"
        return versioning.classify(last.lock.spec, self.lock.spec)[0]

    def cves(self) -> list[str]:
        return changelog_md.cves_fixed(self.pending)


def title(name: str, changes: list[Change]) -> str:
    """`fix(python): security rebuild 1.4.3 (openssl CVE-2026-1234)`, or feat/feat! for recipe changes."""
    main = changes[0]
    kinds = {c.kind for c in changes}
    version = main.lock.version
    if "major" in kinds:
        return f"feat({name})!: {version}, breaking recipe change"
    if "minor" in kinds:
        return f"feat({name}): {version}, recipe change"
    updates = [u for c in changes for u in c.lock.updates if u.cves]
    if updates:
        named = ", ".join(dict.fromkeys(f"{u.name} {' '.join(u.cves[:3])}" for u in updates[:3]))
        more = " and more" if len(updates) > 3 else ""
        return f"fix({name}): security rebuild {version} ({named}{more})"
    return f"fix({name}): rebuild {version}"


def body(name: str, changes: list[Change], limit: int = MAX_BODY) -> str:
    """The full body; under `limit`, diffs go first, then long tables, then check lists."""
    for level in range(4):
        text = _render(name, changes, level)
        if len(text) <= limit:
            return text
    return text[: limit - 200] + "\n\n(cut to fit GitHub's size limit)\n\n" + FOOTER


def _render(name: str, changes: list[Change], trim: int) -> str:
    parts = [f"## {name}", ""]
    for change in changes:
        pending = change.pending
        entry = changelog_md.entry(pending, change.record.last)
        entry[0] = f"### {change.image.id} {pending.version} ({change.kind})"
        if trim >= 2:
            entry = _shorten_tables(entry, 20)
        parts += entry
        moving = [t for t in pending.tags if t != pending.tags[0]]
        when = "Released already (auto-release policy):" if change.released else "**Tags on merge:**"
        parts += [f"{when} `{pending.tags[0]}` (new, immutable); "
                  + ", ".join(f"`{t}`" for t in moving) + " move to it.", ""]
        if change.lock.checks and trim < 3:
            parts += ["<details><summary>Checks and tests</summary>", ""]
            parts += [f"- {line}" for line in change.lock.checks] + ["", "</details>", ""]
        if trim < 1:
            diff = "".join(difflib.unified_diff(change.old_dockerfile.splitlines(keepends=True),
                                                change.new_dockerfile.splitlines(keepends=True),
                                                "a/Dockerfile", "b/Dockerfile"))
            if diff:
                parts += ["<details><summary>Dockerfile diff</summary>", "", "```diff", diff.rstrip(), "```",
                          "", "</details>", ""]
    parts.append(FOOTER)
    return "\n".join(parts) + "\n"


def _shorten_tables(lines: list[str], keep: int) -> list[str]:
    out: list[str] = []
    rows = 0
    dropped = 0
    for line in lines:
        if line.startswith("| ") and not line.startswith("| package") and not line.startswith("|---"):
            rows += 1
            if rows > keep:
                dropped += 1
                continue
        elif dropped:
            out.append(f"| ... {dropped} more | | | |")
            dropped = 0
        out.append(line)
    return out
