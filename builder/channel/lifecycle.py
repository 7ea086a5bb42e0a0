"""Support dates of the distribution releases image lines build on, and the phase each is in.

Debian's and Ubuntu's come from distro-info-data's CSV files: the system's (/usr/share/distro-info,
on every Debian and Ubuntu runner) when it knows more than the copy vendored in distro_info/, else
that copy. Alpine publishes no such file: its dates are the table below. Settings override both
for an organization's policy. This sits below `dockerfile` because lint's policy judges it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from builder.core import reference as imageref
from builder.core.errors import ConfigError
from builder.core.facts import OsRelease, SupportDates
from builder.core.settings import Settings, is_date
from builder.recipe.graph import Channel
from builder.recipe.variants import ImageSpec

SYSTEM = Path("/usr/share/distro-info")
VENDORED = Path(__file__).parent / "distro_info"
Phase = Literal["stable", "lts", "extended", "ended"]

# From https://alpinelinux.org/releases/: branch, release of its first version, end of support
# of its main repository. Alpine has no LTS: support simply ends.
ALPINE_SOURCE = "https://alpinelinux.org/releases/"
ALPINE = (
    ("3.18", "2023-05-09", "2025-05-09"),
    ("3.19", "2023-12-07", "2025-11-01"),
    ("3.20", "2024-05-22", "2026-04-01"),
    ("3.21", "2024-12-05", "2026-11-01"),
    ("3.22", "2025-05-30", "2027-05-01"),
    ("3.23", "2025-12-03", "2027-11-01"),
)
# distro-info-data's columns for: end of regular security support, of LTS, of paid extended support.
_COLUMNS = {"debian": ("eol", "eol-lts", "eol-elts"), "ubuntu": ("eol", "eol-server", "eol-esm")}
_EXAMPLE = {"debian": "trixie-slim", "ubuntu": "noble", "alpine": "3.22"}
_SERIES = re.compile(r"[a-z][a-z0-9-]*")
_VERSION = re.compile(r"(?:[0-9]+(?:\.[0-9]+)*(?: LTS)?)?")  # empty for sid and experimental
_BRANCH = re.compile(r"([0-9]+\.[0-9]+)(?:\.[0-9]+)?")


def parse(text: str, distro: str, where: str) -> dict[str, SupportDates]:
    """distro-info-data's CSV for `distro`, by codename; ConfigError naming `where`:LINE on a bad row."""
    reader = csv.DictReader(io.StringIO(text))
    for column in ("version", "series", "release", *_COLUMNS[distro]):
        if column not in (reader.fieldnames or []):
            raise ConfigError(f"{where}:1: no {column!r} column; this is not distro-info-data's {distro}.csv")
    found = {}
    for row in reader:
        series = (row.get("series") or "").strip()
        if not _SERIES.fullmatch(series):
            raise ConfigError(
                f"{where}:{reader.line_num}: series: {series!r} is not a codename; "
                "fix the row or reinstall distro-info-data"
            )
        number = (row.get("version") or "").strip()
        if not _VERSION.fullmatch(number):
            raise ConfigError(
                f"{where}:{reader.line_num}: version: {number!r} is not a version (e.g. 13 or "
                "24.04 LTS); fix the row or reinstall distro-info-data"
            )
        dates: dict[str, str | None] = {}
        for key, column in zip(
            ("released", "security", "lts", "extended"), ("release", *_COLUMNS[distro]), strict=True
        ):
            value = (row.get(column) or "").strip()
            if value and not is_date(value):
                raise ConfigError(
                    f"{where}:{reader.line_num}: {column}: {value!r} is not a date (YYYY-MM-DD); "
                    "fix the row or reinstall distro-info-data"
                )
            dates[key] = value or None
        found[series] = SupportDates(
            distro=distro, codename=series, version=number, source=f"distro-info-data {where}", **dates
        )
    return found


def _knowledge(releases: dict[str, SupportDates]) -> tuple[str, int]:
    """How much a file knows: its latest date, then how many dates. A newer file adds both."""
    dates = [d for r in releases.values() for d in (r.released, r.security, r.lts, r.extended) if d]
    return max(dates, default=""), len(dates)


def distro_info(distro: str, system: Path = SYSTEM, vendored: Path = VENDORED) -> dict[str, SupportDates]:
    """The newer of the system's and the vendored distro-info-data for `distro`."""
    ours = parse((vendored / f"{distro}.csv").read_text(encoding="utf-8"), distro, f"vendored {distro}.csv")
    try:
        text = (system / f"{distro}.csv").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ours  # not a Debian or Ubuntu machine, or the package is missing
    theirs = parse(text, distro, str(system / f"{distro}.csv"))
    return theirs if _knowledge(theirs) >= _knowledge(ours) else ours


def alpine() -> dict[str, SupportDates]:
    return {
        branch: SupportDates(
            distro="alpine", codename=branch, version=branch, released=released, security=end, source=ALPINE_SOURCE
        )
        for branch, released, end in ALPINE
    }


@dataclass(frozen=True)
class Table:
    """Every known release by distro and codename, with the settings' overrides applied."""

    releases: dict[str, dict[str, SupportDates]]

    @classmethod
    def load(cls, settings: Settings, system: Path = SYSTEM, vendored: Path = VENDORED) -> Table:
        releases = {
            "debian": distro_info("debian", system, vendored),
            "ubuntu": distro_info("ubuntu", system, vendored),
            "alpine": alpine(),
        }
        for line, dates in settings.lifecycle.items():
            distro, _, codename = line.partition("/")
            known = releases[distro].get(codename) or SupportDates(distro=distro, codename=codename)
            releases[distro][codename] = known.model_copy(
                update={**dates, "source": f"[tool.builder.lifecycle] {line}"}
            )
        return cls(releases)

    def dates(self, distro: str, codename: str) -> SupportDates | None:
        return self.releases.get(distro, {}).get(codename)

    def codename(self, distro: str, upstream: str | None, os: OsRelease | None) -> str | None:
        """The release a line builds on: from the image's os-release when built, else its base tag."""
        known = self.releases.get(distro, {})
        if os is not None and distro == "alpine" and (branch := _BRANCH.match(os.version_id)):
            return branch.group(1)
        if os is not None and os.codename:
            return os.codename
        tag = imageref.parse(upstream).tag if upstream else None
        if not tag:
            return None
        word = tag.split("-")[0]
        if distro == "alpine":
            branch = _BRANCH.fullmatch(word)
            return branch.group(1) if branch else None
        if word in known:
            return word
        by_version = [d.codename for d in known.values() if d.version.split()[:1] == [word]]
        return by_version[0] if by_version else None

    def successor(self, dates: SupportDates, today: dt.date) -> SupportDates | None:
        """The newest release of the same distro out by `today` and still supported for free."""
        lts_only = "LTS" in dates.version  # an Ubuntu LTS moves to the next LTS
        newer = [
            d
            for d in self.releases.get(dates.distro, {}).values()
            if d.released
            and dates.released
            and d.released > dates.released
            and d.released <= today.isoformat()
            and phase(d, today) in ("stable", "lts")
            and (not lts_only or "LTS" in d.version)
        ]
        return max(newer, key=lambda d: d.released or "", default=None)


def phase(dates: SupportDates, today: dt.date) -> Phase:
    """stable until regular security support ends, then lts, then extended (paid), then ended."""
    if dates.security is None:
        return "stable"  # no end announced yet
    lts = dates.lts or dates.security
    extended = dates.extended or lts
    now = today.isoformat()
    if now < dates.security:
        return "stable"
    if now < lts:
        return "lts"
    return "extended" if now < extended else "ended"


def label(dates: SupportDates) -> str:
    """Debian 12 (bookworm), Ubuntu 24.04 LTS (noble), Alpine 3.20."""
    name = dates.distro.capitalize()
    if dates.distro == "alpine":
        return f"{name} {dates.codename}"
    return f"{name} {dates.version} ({dates.codename})" if dates.version else f"{name} {dates.codename}"


Level = Literal["supported", "ending", "lts", "unsupported"]


@dataclass(frozen=True)
class Status:
    dates: SupportDates
    phase: Phase
    level: Level  # ending: inside the warning window; unsupported: past the end of LTS
    message: str


def assess(dates: SupportDates, today: dt.date, window_days: int, successor: SupportDates | None) -> Status:
    """Where a release stands on `today`, and what to say about it."""
    current = phase(dates, today)
    move = (
        f"; move to {label(successor)}, supported until {successor.security or 'no end announced'}"
        if successor
        else "; no newer release is out yet"
    )
    name = label(dates)
    if current in ("extended", "ended"):
        return Status(
            dates,
            current,
            "unsupported",
            f"{name}: unsupported since {dates.lts or dates.security}{' (end of LTS)' if dates.lts else ''}{move}",
        )
    if current == "lts":
        return Status(
            dates,
            current,
            "lts",
            f"{name}: regular security support ended on {dates.security}; LTS until {dates.lts}{move}",
        )
    if dates.security is not None:
        left = (dt.date.fromisoformat(dates.security) - today).days
        if left <= window_days:
            return Status(
                dates,
                current,
                "ending",
                f"{name}: regular security support ends on "
                f"{dates.security} ({left} day{'' if left == 1 else 's'}){move}",
            )
    until = f" until {dates.security}" if dates.security else ""
    return Status(dates, current, "supported", f"{name}: regular security support{until}")


def recorded(settings: Settings, distro: str, os: OsRelease | None) -> SupportDates | None:
    """What a lock records of the release it was built on; None when unknown or unreadable (lint and
    watch report a bad distro-info file: a build that already pushed must still write its lock)."""
    try:
        table = Table.load(settings)
    except ConfigError:
        return None
    codename = table.codename(distro, None, os)
    return table.dates(distro, codename) if codename else None


def unknown(distro: str, codename: str | None, upstream: str | None = None) -> str:
    if codename is None:
        return (
            f"{distro}: cannot tell the release from {upstream!r}; name it in the tag (e.g. "
            f"{distro}:{_EXAMPLE[distro]}) or build the line once so its os-release names it"
        )
    return (
        f"{distro} {codename!r}: no support dates known; add them under [tool.builder.lifecycle] or update "
        "distro-info-data"
    )


@dataclass(frozen=True)
class Notice:
    summary: str
    release: str | None  # the line's codename (Alpine: its branch)
    successor: str | None


def notice(
    table: Table, window_days: int, channel: Channel, image: ImageSpec, *, os: OsRelease | None, today: dt.date
) -> Notice | None:
    """What watch says of a line whose release ends within the window, is in LTS, past it, or unknown.

    `os` is the built image's os-release: what consumers run now; without it, what the recipe builds.
    """
    distro = image.recipe.distro
    upstream = channel.root_of(image).from_.image
    codename = table.codename(distro, upstream, os)
    dates = table.dates(distro, codename) if codename else None
    if dates is None:
        return Notice(unknown(distro, codename, upstream), codename, None)
    successor = table.successor(dates, today)
    status = assess(dates, today, window_days, successor)
    if status.level == "supported":
        return None
    accepted = image.recipe.accept_eol
    summary = status.message + (f" (accepted: {accepted})" if status.level == "unsupported" and accepted else "")
    return Notice(summary, codename, successor.codename if successor else None)
