"""What a build fixes: every package changed since the image's last release, with the CVE and
advisory ids its changelog names between the released and the built version.

Computed by every build that changes packages, with or without `--watch`, and always against
the last release (not the previous candidate), so a pull request, changelog entry or catalog
entry lists everything that merging or releasing it fixes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from builder.channel.lock import Lock
from builder.core.errors import BuilderError, WatchError
from builder.core.facts import AptSource, Package, Update
from builder.upstream import debian_changelog
from builder.upstream.apt_index import Entry

Warn = Callable[[str], None]


class Indexes(Protocol):
    """Where packages are offered (builder.aptindex.IndexCache)."""

    def entries(self, source: AptSource, arch: str, wanted: Iterable[str]) -> dict[str, list[Entry]]: ...


class Changelogs(Protocol):
    """A package's changelog (builder.changelogs.ChangelogCache)."""

    def text(self, entry: Entry) -> str: ...


def arch_of(packages: Iterable[Package]) -> str:
    """The architecture whose indexes list an image's packages."""
    arches = sorted({p.architecture for p in packages if p.architecture != "all"})
    return arches[0] if arches else "amd64"


def released_packages(prior: Lock | None, released_digest: str | None) -> dict[str, str] | None:
    """name -> version in the last release; None before the first one.

    `prior` is the lock the build replaces: the release itself, or a candidate built since
    it, whose updates (old -> new since the release) lead back to the released versions.
    """
    if prior is None or released_digest is None:
        return None
    versions = {p.name: p.version for p in prior.packages}
    if prior.result is not None and prior.result.digest == released_digest:
        return versions
    for update in prior.updates:
        if update.old:
            versions[update.name] = update.old
        else:
            versions.pop(update.name, None)  # added since the release
    return versions


def first_seen(prior: Lock | None) -> dict[tuple[str, str], str]:
    """(name, version) -> when the build of `prior` saw that version appear: kept by later builds."""
    if prior is None:
        return {}
    return {(u.name, u.new): u.published for u in prior.updates if u.published}


def since_release(
    released: Mapping[str, str],
    packages: Iterable[Package],
    sources: Iterable[AptSource],
    *,
    arch: str,
    indexes: Indexes,
    logs: Changelogs,
    warn: Warn,
    seen: Mapping[tuple[str, str], str] | None = None,
) -> tuple[Update, ...]:
    """Every package changed since the release, with the ids its changelog says it fixes and when its
    version appeared in its suite: as an earlier build recorded it in `seen` ((name, version) ->
    date), else the Date of the suite's Release now (the earliest, when several suites offer it)."""
    packages = tuple(packages)
    built = {p.name for p in packages}
    # Added and removed packages are recorded too (old or new empty), so the changelog lists them.
    moved = [Update(name=p.name, old="", new=p.version) for p in packages if p.name not in released]
    moved += [Update(name=name, old=version, new="") for name, version in released.items() if name not in built]
    changed = [(p, released[p.name]) for p in packages if p.name in released and released[p.name] != p.version]
    if not changed:
        return tuple(sorted(moved, key=lambda u: u.name))
    offered: dict[tuple[str, str], list[Entry]] = {}  # (name, version) -> where it can be downloaded
    for source in sources:
        try:
            found = indexes.entries(source, arch, {p.name for p, _ in changed})
        except BuilderError as exc:
            warn(f"{source.url} {source.suite}: {exc.message}; the ids its packages fix are not known")
            continue
        for name, entries in found.items():
            for entry in entries:
                offered.setdefault((name, entry.version), []).append(entry)
    texts: dict[tuple[str, str], str | None] = {}
    updates = []
    for package, old in changed:
        key = (package.source or package.name, package.version)
        if texts.get(key) is None:
            # Every binary of a source version carries the same changelog; some only link to a sibling's.
            texts[key] = _changelog(offered.get((package.name, package.version), []), logs, warn)
        cves: tuple[str, ...] = ()
        advisories: tuple[str, ...] = ()
        text = texts[key]
        if text is not None:
            try:
                changes = debian_changelog.fixes_since(text, old)
            except WatchError as exc:
                warn(f"{package.name}: {exc.message}")
                changes = []
            cves = tuple(sorted({c for change in changes for c in change.cves}))
            advisories = tuple(sorted({a for change in changes for a in change.advisories}))
        dates = [e.published for e in offered.get((package.name, package.version), []) if e.published]
        published = (seen or {}).get((package.name, package.version)) or min(dates, default=None)
        updates.append(
            Update(
                name=package.name, old=old, new=package.version, cves=cves, advisories=advisories, published=published
            )
        )
    return tuple(sorted([*updates, *moved], key=lambda u: u.name))


def _changelog(entries: list[Entry], logs: Changelogs, warn: Warn) -> str | None:
    problem = "not offered by the image's package sources"
    for entry in entries:
        if entry.deb_url.endswith(".apk"):
            return None  # Alpine packages carry no changelog
        try:
            return logs.text(entry)
        except WatchError as exc:
            problem = exc.message
    if entries:
        warn(f"{entries[0].name} {entries[0].version}: {problem}")
    return None
