"""What a build fixes: every package changed since the image's last release, with the CVE and
advisory ids its changelog names between the released and the built version.

Computed by every build that changes packages, with or without `--watch`, and always against
the last release (not the previous candidate), so a pull request, changelog entry or catalog
entry lists everything that merging or releasing it fixes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from builder import changelogs
from builder.aptindex import Entry, IndexCache
from builder.errors import BuilderError, WatchError
from builder.lock import AptSource, Lock, Package, Update

Warn = Callable[[str], None]


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
        versions[update.name] = update.old
    return versions


def since_release(released: Mapping[str, str], packages: Iterable[Package], sources: Iterable[AptSource], *,
                  arch: str, indexes: IndexCache, logs: changelogs.ChangelogCache, warn: Warn) -> tuple[Update, ...]:
    changed = [(p, released[p.name]) for p in packages if p.name in released and released[p.name] != p.version]
    if not changed:
        return ()
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
                changes = changelogs.fixes_since(text, old)
            except WatchError as exc:
                warn(f"{package.name}: {exc.message}")
                changes = []
            cves = tuple(sorted({c for change in changes for c in change.cves}))
            advisories = tuple(sorted({a for change in changes for a in change.advisories}))
        updates.append(Update(name=package.name, old=old, new=package.version, cves=cves, advisories=advisories))
    return tuple(updates)


def _changelog(entries: list[Entry], logs: changelogs.ChangelogCache, warn: Warn) -> str | None:
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
