"""Which images are stale and why: upstream digests, package updates with CVE ids, recipe
changes, and rebuilt parents. One failing image or index never stops the others."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

from debian.debian_support import Version

from builder.channel import fingerprint, lifecycle
from builder.channel.candidates import Candidates
from builder.channel.lock import Lock
from builder.core.errors import BuilderError, ConfigError, WatchError
from builder.core.facts import AptSource, SourceKind
from builder.core.settings import Settings
from builder.dockerfile import render
from builder.image.plan import Rendered
from builder.image.watch_report import ImageReport, PackageUpdate, Report, StaleReason
from builder.recipe.graph import Channel
from builder.recipe.variants import spec_sha256
from builder.upstream import apk_version, apt_index, debian_changelog, fixes

DigestLookup = Callable[[str], str]


def run(
    settings: Settings,
    channel: Channel,
    selected: list[str],
    digest_of: DigestLookup,
    *,
    indexes: apt_index.IndexCache,
    logs: debian_changelog.ChangelogCache,
    candidates: Candidates | None = None,
    rendered: Rendered | None = None,
    today: dt.date | None = None,
) -> Report:
    """Each image against its open candidate when it has one, else against its lock; `rendered`
    keeps the Dockerfiles rendered here for the run's plan; `today` fixes the clock of lifecycle notices."""
    known = candidates or Candidates(settings)
    rendered = rendered or Rendered(settings, channel)
    wanted = channel.with_ancestors(set(selected))
    # Each local lock is read once: a parent's also names the version its children build FROM.
    locks = {image_id: _read_lock(known, channel, image_id, rendered.read) for image_id in wanted}
    reports = {image_id: ImageReport(image_id) for image_id in wanted}
    for image_id, lock in locks.items():
        if isinstance(lock, BuilderError):
            reports[image_id].errors.append(lock.message)
        elif lock is not None and known.lock(channel.images[image_id]) == lock:
            reports[image_id].compared_with = "candidate"
    current = _upstream(channel, locks, reports, digest_of, settings)
    _updates(locks, reports, indexes, logs)
    for image_id, lock in locks.items():
        if isinstance(lock, Lock):
            recipe = spec_sha256(channel.images[image_id])
            dockerfile = rendered.sha256(image_id, lock)
            reports[image_id].findings.extend(_recipe_changes(channel, image_id, lock, recipe, dockerfile))
            _fingerprints(
                channel, image_id, lock, recipe, dockerfile, upstream=current, locks=locks, report=reports[image_id]
            )
        elif lock is None:
            reports[image_id].findings.append(StaleReason("not-built", "no image.lock.json yet"))
    for level in channel.levels(wanted):  # parents are settled before their children
        for image_id in level:
            _cascade(channel, image_id, locks, reports)
    _lifecycle(settings, channel, locks, reports, today or dt.datetime.now(dt.UTC).date())
    stamp = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    ordered = [reports[i] for level in channel.levels(wanted) for i in level if i in selected]
    return Report(ordered, stamp)


def _read_lock(
    candidates: Candidates, channel: Channel, image_id: str, read: dict[str, Lock | None]
) -> Lock | BuilderError | None:
    try:
        lock = candidates.effective(channel.images[image_id], read=read)
    except BuilderError as exc:
        return exc
    if lock is not None and lock.result is None:
        return None
    return lock


def _upstream(
    channel: Channel,
    locks: dict[str, Lock | BuilderError | None],
    reports: dict[str, ImageReport],
    digest_of: DigestLookup,
    settings: Settings,
) -> dict[str, str]:
    """Findings for moved upstream digests; returns each root image's current upstream digest."""
    resolved: dict[str, str | BuilderError] = {}
    current_of: dict[str, str] = {}
    for image_id, lock in locks.items():
        image = channel.images[image_id]
        if channel.parent(image) is not None or not isinstance(lock, Lock):
            continue
        _, display = render.base_reference(settings, channel, image)
        if lock.base.reference != display:
            continue  # the recipe moved to another base: reported as recipe-changed
        if display not in resolved:
            try:
                resolved[display] = digest_of(display)
            except BuilderError as exc:
                resolved[display] = exc
        current = resolved[display]
        if isinstance(current, BuilderError):
            reports[image_id].errors.append(f"upstream {display}: {current.message}")
            continue
        current_of[image_id] = current
        if current != lock.base.digest:
            reports[image_id].findings.append(
                StaleReason(
                    "upstream-digest",
                    f"{display} moved: {lock.base.digest[:19]} -> {current[:19]}",
                    old=lock.base.digest,
                    new=current,
                )
            )
    return current_of


def _updates(
    locks: dict[str, Lock | BuilderError | None],
    reports: dict[str, ImageReport],
    indexes: apt_index.IndexCache,
    logs: debian_changelog.ChangelogCache,
) -> None:
    """Newer versions of locked packages in the images' own apt sources."""
    memo = _Memo(logs)
    # Images that lock the same packages from the same sources share one answer.
    shapes: dict[str, tuple[tuple[int, str, tuple[tuple[str, str], ...]], Lock, str]] = {}
    for image_id, lock in locks.items():
        if isinstance(lock, Lock):
            arch = fixes.arch_of(lock.packages)
            shape = (memo.sources_key(lock.apt_sources), arch, tuple((p.name, p.version) for p in lock.packages))
            shapes[image_id] = (shape, lock, arch)
    # Fetch and parse each index once, for the union of the packages every lock names.
    wanted: dict[tuple[AptSource, str], set[str]] = {}
    first = {shape: (lock, arch) for shape, lock, arch in shapes.values()}
    for shape, (lock, arch) in first.items():
        for source in lock.apt_sources:
            wanted.setdefault((source, arch), set()).update(name for name, _ in shape[2])
    available: dict[tuple[AptSource, str], dict[str, list[apt_index.Entry]] | BuilderError] = {}
    for key, names in wanted.items():
        try:
            available[key] = indexes.entries(key[0], key[1], names)
        except BuilderError as exc:
            available[key] = exc
    answers = {shape: _shape_updates(lock, arch, available, memo) for shape, (lock, arch) in first.items()}
    for image_id, (shape, _, _) in shapes.items():
        findings, errors = answers[shape]
        reports[image_id].findings.extend(findings)
        reports[image_id].errors.extend(errors)


def _shape_updates(
    lock: Lock,
    arch: str,
    available: dict[tuple[AptSource, str], dict[str, list[apt_index.Entry]] | BuilderError],
    memo: _Memo,
) -> tuple[list[StaleReason], list[str]]:
    """The security-update finding and the errors of every image that locks what `lock` locks."""
    try:
        updates = _image_updates(lock, arch, available, memo)
    except BuilderError as exc:
        return [], [exc.message]
    errors = []
    for source in lock.apt_sources:
        failure = available.get((source, arch))
        if isinstance(failure, BuilderError):
            errors.append(failure.message)
    if not updates:
        return [], errors
    cves = sorted({c for u in updates for c in u.cves})
    summary = f"{len(updates)} package update(s)" + (f", fixing {', '.join(cves)}" if cves else "")
    return [StaleReason("security-update", summary, packages=tuple(updates))], errors


@functools.lru_cache(maxsize=65536)
def _version(text: str) -> Version:
    return Version(text)


class _Memo:
    """Answers shared by every image that locks the same package at the same version."""

    def __init__(self, logs: debian_changelog.ChangelogCache) -> None:
        self.logs = logs
        self.newest: dict[tuple[int, str, str, str], apt_index.Entry | None] = {}
        self._sources: dict[tuple[tuple[str, str, tuple[str, ...]], ...], int] = {}
        self.texts: dict[tuple[str, str], str | WatchError] = {}
        self.changes: dict[tuple[str, str, str], PackageUpdate] = {}

    def sources_key(self, sources: tuple[AptSource, ...]) -> int:
        # Hashing frozen models is slow; a plain tuple of their fields stands in for them.
        plain = tuple((s.url, s.suite, s.components) for s in sources)
        return self._sources.setdefault(plain, len(self._sources))


def _image_updates(
    lock: Lock,
    arch: str,
    available: dict[tuple[AptSource, str], dict[str, list[apt_index.Entry]] | BuilderError],
    memo: _Memo,
) -> list[PackageUpdate]:
    sources = memo.sources_key(lock.apt_sources)
    newest: list[tuple[str, apt_index.Entry]] = []  # (locked version, newer entry)
    for package in lock.packages:
        key = (sources, arch, package.name, package.version)
        if key not in memo.newest:
            memo.newest[key] = _newest(lock.apt_sources, arch, package.name, package.version, available)
        best = memo.newest[key]
        if best is not None:
            newest.append((package.version, best))
    # One changelog per source package and version: every binary of it carries the same
    # one, and some only link their documentation to a sibling's.
    for _, entry in newest:
        key2 = (entry.source, entry.version)
        if entry.deb_url.endswith(".apk"):
            memo.texts.setdefault(key2, WatchError("Alpine packages carry no changelog; see Alpine's secdb"))
            continue
        if not isinstance(memo.texts.get(key2), str):
            try:
                memo.texts[key2] = memo.logs.text(entry)
            except WatchError as exc:
                memo.texts.setdefault(key2, exc)
    updates = []
    for locked, entry in newest:
        key3 = (entry.deb_url, entry.name, locked)
        if key3 not in memo.changes:
            memo.changes[key3] = _update(entry, locked, memo.texts[(entry.source, entry.version)])
        updates.append(memo.changes[key3])
    return updates


def _newer(kind: SourceKind, a: str, b: str) -> bool:
    """Is version a newer than b, by the rules of its package manager?"""
    if kind == "apk":
        return apk_version.compare(a, b) > 0
    return _version(a) > _version(b)


def _newest(
    sources: tuple[AptSource, ...],
    arch: str,
    name: str,
    version: str,
    available: dict[tuple[AptSource, str], dict[str, list[apt_index.Entry]] | BuilderError],
) -> apt_index.Entry | None:
    best: apt_index.Entry | None = None
    try:
        for source in sources:
            index = available.get((source, arch))
            for entry in index.get(name, []) if isinstance(index, dict) else []:
                if _newer(source.kind, entry.version, version) and (
                    best is None or _newer(source.kind, entry.version, best.version)
                ):
                    best = entry
    except ValueError as exc:
        raise WatchError(f"{name}: unparsable version ({exc}); cannot compare") from None
    return best


def _update(entry: apt_index.Entry, locked: str, text: str | WatchError) -> PackageUpdate:
    if isinstance(text, WatchError):
        # The update is certain; only what it fixes is unknown. Say so, don't drop it.
        changes, summary = [], f"changelog unavailable: {text.message}"
    else:
        changes = debian_changelog.fixes_since(text, locked)
        summary = changes[0].summary if changes else ""
    cves = tuple(dict.fromkeys(c for change in changes for c in change.cves))
    advisories = tuple(dict.fromkeys(a for change in changes for a in change.advisories))
    return PackageUpdate(entry.name, entry.source, locked, entry.version, entry.suite, cves, advisories, summary)


def _recipe_changes(channel: Channel, image_id: str, lock: Lock, recipe: str, rendered: str) -> list[StaleReason]:
    image = channel.images[image_id]
    found = []
    if lock.recipe_sha256 != recipe:
        found.append(StaleReason("recipe-changed", f"recipes/{image.name}.yaml changed since the last build"))
    elif lock.dockerfile_sha256 != rendered:
        found.append(StaleReason("recipe-changed", "the rendered Dockerfile changed (builder templates)"))
    return found


def _fingerprints(
    channel: Channel,
    image_id: str,
    lock: Lock,
    recipe: str,
    rendered: str,
    *,
    upstream: dict[str, str],
    locks: dict[str, Lock | BuilderError | None],
    report: ImageReport,
) -> None:
    """What the next build would be made of, against what the lock or candidate was made of."""
    image = channel.images[image_id]
    parent = channel.parent(image)
    base = lock.base.digest
    if parent is None:
        base = upstream.get(image_id, base)
    else:
        parent_lock = locks.get(parent.id)
        if isinstance(parent_lock, Lock) and parent_lock.result is not None:
            base = parent_lock.result.digest
    offers = {p.name: p.version for p in lock.packages}
    for finding in report.findings:
        offers.update({p.name: p.new for p in finding.packages})
    report.fingerprint = fingerprint.of(
        recipe_sha256=recipe, dockerfile_sha256=rendered, base_digest=base, inputs=image.inputs, offers=offers
    )
    report.built_fingerprint = lock.fingerprint or fingerprint.of_lock(lock)


def _cascade(
    channel: Channel, image_id: str, locks: dict[str, Lock | BuilderError | None], reports: dict[str, ImageReport]
) -> None:
    parent = channel.parent(channel.images[image_id])
    lock = locks[image_id]
    if parent is None or not isinstance(lock, Lock):
        return
    parent_lock = locks.get(parent.id)
    if reports[parent.id].stale:
        reports[image_id].findings.append(StaleReason("parent-rebuilt", f"{parent.id} is stale and will be rebuilt"))
    elif isinstance(parent_lock, Lock) and parent_lock.result and parent_lock.result.digest != lock.base.digest:
        reports[image_id].findings.append(
            StaleReason(
                "parent-rebuilt",
                f"{parent.id} was rebuilt: {lock.base.digest[:19]} -> {parent_lock.result.digest[:19]}",
                old=lock.base.digest,
                new=parent_lock.result.digest,
            )
        )


def _lifecycle(
    settings: Settings,
    channel: Channel,
    locks: dict[str, Lock | BuilderError | None],
    reports: dict[str, ImageReport],
    today: dt.date,
) -> None:
    try:
        table = lifecycle.Table.load(settings)
    except ConfigError as exc:
        for report in reports.values():
            report.errors.append(f"lifecycle: {exc.message}")
        return
    for image_id, report in reports.items():
        lock = locks[image_id]
        found = lifecycle.notice(
            table,
            settings.lifecycle_window,
            channel,
            channel.images[image_id],
            os=lock.os if isinstance(lock, Lock) else None,
            today=today,
        )
        if found is not None:
            report.notices.append(StaleReason("lifecycle", found.summary, old=found.release, new=found.successor))
