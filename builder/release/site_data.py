"""What the web catalog shows of each image line, gathered once from the typed catalog, the release
records, the SBOMs and the signature records: the pages and feeds only format these values.

Nothing here trusts the text it reads to be markup-free: the templates escape every value.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.channel import changelog as changelog_md
from builder.channel import lifecycle
from builder.channel.history import Release
from builder.channel.layout import ImageFiles
from builder.core.settings import Settings
from builder.recipe.graph import Channel
from builder.release import catalog as catalog_mod
from builder.release.catalog_index import CatalogRuntime, CatalogSupport

_CVE = re.compile(r"CVE-[0-9]{4}-[0-9]{4,7}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
RECENT_DAYS = 30


@dataclass(frozen=True)
class Cve:
    id: str
    url: str | None  # the distribution's tracker; None for an id that is not CVE-YYYY-NNNN


@dataclass(frozen=True)
class Change:
    name: str
    old: str  # empty: added
    new: str  # empty: removed
    cves: tuple[Cve, ...]
    published: str | None = None  # when `new` appeared in its suite (ISO 8601), as the lock recorded it


@dataclass(frozen=True)
class ReleaseView:
    version: str
    date: str  # YYYY-MM-DD, or "" when the record has none
    digest: str
    size: int
    packages: int
    tags: tuple[str, ...]
    reasons: tuple[str, ...]
    changes: tuple[Change, ...]
    cves: tuple[Cve, ...]


@dataclass(frozen=True)
class SbomPackage:
    name: str
    version: str
    licence: str  # NOASSERTION when the SBOM does not say


@dataclass(frozen=True)
class ImageLine:
    """One image line as the catalog shows it; `releases` newest first, empty when never released."""

    id: str  # NAME or NAME/VARIANT
    description: str
    form: str
    repository: str
    tag_suffix: str  # "-VARIANT" or ""
    releases: tuple[ReleaseView, ...]
    tags: dict[str, str]  # tag -> digest it points at now
    runtime: CatalogRuntime | None
    signed: bool  # the current release's digest is in signatures.json
    packages: tuple[SbomPackage, ...]
    support: CatalogSupport | None = None  # its distro release and support dates, when known

    @property
    def page(self) -> str:
        """The page's path from the site's root."""
        return f"images/{self.id}.html"

    @property
    def root(self) -> str:
        """The relative path from the page back to the site's root."""
        return "../" * (self.id.count("/") + 1)

    @property
    def current(self) -> ReleaseView | None:
        return self.releases[0] if self.releases else None

    @property
    def pull_tag(self) -> str:
        current = self.current
        return f"{self.repository}:{current.version}{self.tag_suffix}" if current else ""

    @property
    def pull_digest(self) -> str:
        current = self.current
        return f"{self.repository}@{current.digest}" if current else ""

    def cves_since(self, today: dt.date, days: int = RECENT_DAYS) -> tuple[Cve, ...]:
        """CVEs fixed by releases dated within `days` before `today` (undated releases count for none)."""
        since = today - dt.timedelta(days=days)
        seen: dict[str, Cve] = {}
        for release in self.releases:
            when = parse_date(release.date)
            if when is not None and since <= when <= today:
                seen.update((cve.id, cve) for cve in release.cves)
        return tuple(seen[key] for key in sorted(seen))


def parse_date(text: str) -> dt.date | None:
    if not _DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def cve(cve_id: str, distro: str) -> Cve:
    if not _CVE.fullmatch(cve_id):
        return Cve(cve_id, None)
    return Cve(cve_id, changelog_md.TRACKERS.get(distro, changelog_md.TRACKERS["debian"]) + cve_id)


def _distro(release: Release) -> str:
    if release.spec is not None:
        return release.spec.distro
    return release.os.id if release.os is not None else "debian"


def release_view(release: Release) -> ReleaseView:
    distro = _distro(release)
    return ReleaseView(
        version=release.version,
        date=release.date if parse_date(release.date) else "",
        digest=release.digest,
        size=release.size,
        packages=release.packages,
        tags=release.tags,
        reasons=release.reasons,
        changes=tuple(
            Change(u.name, u.old, u.new, tuple(cve(c, distro) for c in u.cves), u.published) for u in release.updates
        ),
        cves=tuple(cve(c, distro) for c in changelog_md.cves_fixed(release)),
    )


def sbom_packages(path: Path) -> tuple[SbomPackage, ...]:
    """The packages an SPDX 2 SBOM lists, the image itself left out; none when there is no SBOM."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    packages = data.get("packages") if isinstance(data, dict) else None
    found = []
    for item in packages if isinstance(packages, list) else ():
        if not isinstance(item, dict) or item.get("primaryPackagePurpose") == "CONTAINER":
            continue
        licence = item.get("licenseConcluded") or item.get("licenseDeclared") or "NOASSERTION"
        found.append(SbomPackage(str(item.get("name", "")), str(item.get("versionInfo", "")), str(licence)))
    return tuple(sorted(found, key=lambda p: (p.name, p.version)))


def signed_digests(path: Path) -> set[str]:
    """Digests signatures.json records as signed and attested (its schema: builder/signing/sign.py)."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
        return {str(item["digest"]) for item in data["signed"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def lines(settings: Settings, channel: Channel, today: dt.date) -> tuple[ImageLine, ...]:
    """Every image line of the channel, released or not, sorted by id; support phases as of `today`."""
    table = lifecycle.Table.load(settings)
    found = []
    for image_id in sorted(channel.images):
        image = channel.images[image_id]
        files = ImageFiles.of(settings, image)
        record = files.read_history()
        last = record.last
        found.append(
            ImageLine(
                id=image_id,
                description=image.description,
                form=image.form,
                repository=settings.image_repository(image.name),
                tag_suffix=image.tag_suffix,
                releases=tuple(release_view(r) for r in reversed(record.releases)),
                tags=catalog_mod.current_tags(record),
                runtime=catalog_mod.runtime(image, last) if last is not None else None,
                signed=last is not None and last.digest in signed_digests(files.signatures),
                packages=sbom_packages(files.sbom) if last is not None else (),
                support=catalog_mod.support(table, channel, image, last, today) if last is not None else None,
            )
        )
    return tuple(found)
