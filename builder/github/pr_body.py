"""The bot's pull request: title, Conventional Commit message and a body for the reviewer.

The title says what triggered the rebuild (its CVE ids, a new base digest, package
updates). The body is the changelog entry the release will write, from the current
release to the candidate, plus what a reviewer checks before merging: image checks and
tests, the tags that move (one line), and the Dockerfile diff. It stays under GitHub's
size limit by dropping the least important parts first. The commit message is short
plain text: the title and a few lines of versions, CVE ids and digests.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass

from builder.channel import changelog as changelog_md
from builder.channel import history, versioning
from builder.channel.history import Record, Release
from builder.channel.lock import Lock
from builder.core.facts import Update
from builder.recipe.variants import ImageSpec
from builder.release import publish

MAX_BODY = 65536
FOOTER = "<sub>Opened by `builder bot`. Merging releases it: `builder release` moves the tags by digest.</sub>"
_PARENT = re.compile(r"parent (?P<parent>\S+) (?:was|is) rebuilt")
_UPDATES = re.compile(r"[0-9]+ package update\(s\).*")
COMMIT_PACKAGES = 10  # package lines in a commit message; the PR body has them all


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
        return history.from_lock(self.lock, self.lock.version, today, publish.tags_for(self.image, self.lock.version))

    @property
    def kind(self) -> versioning.Bump:
        last = self.record.last
        if last is None or last.spec is None or self.lock.spec is None:
            return "patch" if last is not None else "minor"
        return versioning.classify(last.spec, self.lock.spec)[0]

    def cves(self) -> list[str]:
        return changelog_md.cves_fixed(self.pending)


def title(name: str, changes: list[Change]) -> str:
    """`fix(python): security rebuild 1.4.3 (openssl CVE-2026-1234)`, `fix(curl): rebuild 1.0.3 for
    new base digest`, or feat/feat! for recipe changes."""
    main = changes[0]
    kinds = {c.kind for c in changes}
    version = main.lock.version
    if "major" in kinds:
        return f"feat({name})!: {version}, breaking recipe change"
    if "minor" in kinds:
        return f"feat({name}): {version}, recipe change"
    updates = sorted({u.name: u for c in changes for u in c.lock.updates if u.cves}.values(), key=lambda u: u.name)
    if updates:
        named = ", ".join(f"{u.name} {' '.join(sorted(set(u.cves))[:3])}" for u in updates[:3])
        more = " and more" if len(updates) > 3 else ""
        return f"fix({name}): security rebuild {version} ({named}{more})"
    why = trigger([r for c in changes for r in c.lock.reasons], [u for c in changes for u in c.lock.updates])
    return f"fix({name}): rebuild {version}" + (f" for {why}" if why else "")


def trigger(reasons: list[str], updates: list[Update]) -> str:
    """What made a patch rebuild, from the lock's reasons: `new base digest and package updates`."""
    found = []
    for reason in reasons:
        parent = _PARENT.fullmatch(reason)
        if reason.startswith("upstream digest moved"):
            found.append("new base digest")
        elif parent:
            found.append(f"rebuilt parent {parent['parent']}")
        elif _UPDATES.fullmatch(reason):
            found.append("package updates")
        elif reason in ("recipe changed", "Dockerfile changed"):
            found.append(f"{reason.split()[0]} change")
        elif reason == "forced":
            found.append("a forced rebuild")
    if updates:
        found.append("package updates")
    return " and ".join(dict.fromkeys(found))


def commit_message(name: str, changes: list[Change]) -> tuple[str, str]:
    """(subject, body) for the commit on `main`: the title, then a few plain-text lines per image."""
    lines = []
    for change in changes:
        pending, last = change.pending, change.record.last
        was = f" (was {last.version})" if last else ""
        lines.append(f"{change.image.id} {pending.version}{was}")
        lines.append(f"image: {last.digest + ' -> ' if last else ''}{pending.digest}")
        shown = sorted(pending.updates, key=lambda u: u.name)
        lines += [f"{u.name}: {u.old or '(new)'} -> {u.new or '(removed)'}" for u in shown[:COMMIT_PACKAGES]]
        if len(shown) > COMMIT_PACKAGES:
            lines.append(f"and {len(shown) - COMMIT_PACKAGES} more packages")
        if pending.cves:
            lines.append(f"fixes: {', '.join(pending.cves)}")
        lines.append("")
    return title(name, changes), "\n".join(lines).strip() + "\n"


def body(name: str, changes: list[Change], limit: int = MAX_BODY) -> str:
    """The full body; under `limit`, diffs go first, then long tables, then check lists."""
    text = ""
    for level in range(4):
        text = _render(name, changes, level)
        if len(text) <= limit:
            return text
    return text[: limit - 200] + "\n\n(cut to fit GitHub's size limit)\n\n" + FOOTER


def _render(name: str, changes: list[Change], trim: int) -> str:
    parts = [f"## {name}", ""]
    for change in changes:
        pending = change.pending
        entry = changelog_md.entry(pending, change.record.last, change.record, tags=False)
        entry[0] = f"### {change.image.id} {pending.version} ({change.kind})"
        if trim >= 2:
            entry = _shorten_tables(entry, 20)
        parts += entry
        when = "Released already (auto-release policy):" if change.released else "**Tags on merge:**"
        parts += [f"{when} {changelog_md.pending_tags(pending.tags)}.", ""]
        if change.lock.checks and trim < 3:
            parts += ["<details><summary>Checks and tests</summary>", ""]
            parts += [f"- {line}" for line in change.lock.checks] + ["", "</details>", ""]
        if trim < 1:
            diff = "".join(
                difflib.unified_diff(
                    change.old_dockerfile.splitlines(keepends=True),
                    change.new_dockerfile.splitlines(keepends=True),
                    "a/Dockerfile",
                    "b/Dockerfile",
                )
            )
            if diff:
                parts += [
                    "<details><summary>Dockerfile diff</summary>",
                    "",
                    "```diff",
                    diff.rstrip(),
                    "```",
                    "",
                    "</details>",
                    "",
                ]
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
