"""Patch latency: for each CVE a release fixed, the days from when the fixed package appeared in its
suite (the lock's `published`: the suite's Release Date on the first build that saw the version) to
the release's date; per image line and for the channel, the median and the worst over a window.

The Release Date is when the archive last published the suite, so the first build that sees a
version records that time or a later one: the figures are lower bounds, never inflated.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from builder.release.site_data import ImageLine, parse_date

WINDOW_DAYS = 90


@dataclass(frozen=True)
class Fix:
    cve: str
    package: str
    published: str  # YYYY-MM-DD: when the fixed version appeared in its suite
    released: str  # YYYY-MM-DD: the release that carried it
    days: int


@dataclass(frozen=True)
class Latency:
    fixes: tuple[Fix, ...]  # newest release first
    unknown: int  # CVEs fixed in the window whose package's appearance was not recorded

    @property
    def median(self) -> float | None:
        return statistics.median(f.days for f in self.fixes) if self.fixes else None

    @property
    def worst(self) -> int | None:
        return max((f.days for f in self.fixes), default=None)


def of(line: ImageLine, today: dt.date, days: int = WINDOW_DAYS) -> Latency:
    """The fixes of the releases of `line` dated within `days` before `today`."""
    since = today - dt.timedelta(days=days)
    fixes: list[Fix] = []
    unknown = 0
    for release in line.releases:
        released = parse_date(release.date)
        if released is None or not since <= released <= today:
            continue
        for change in release.changes:
            appeared = parse_date((change.published or "")[:10])
            for cve in change.cves:
                if appeared is None:
                    unknown += 1
                    continue
                # A version first seen after its release (a rebuild of an older lock): no negative latency.
                fixes.append(
                    Fix(cve.id, change.name, appeared.isoformat(), release.date, max(0, (released - appeared).days))
                )
    return Latency(tuple(fixes), unknown)


def channel(lines: tuple[ImageLine, ...], today: dt.date, days: int = WINDOW_DAYS) -> Latency:
    each = [of(line, today, days) for line in lines]
    return Latency(tuple(f for latency in each for f in latency.fixes), sum(x.unknown for x in each))


def days_text(value: float | None) -> str:
    """`2 days`, `1.5 days`, `1 day`; `unknown` when there is nothing to measure."""
    if value is None:
        return "unknown"
    shown = f"{value:g}"
    return f"{shown} day" if shown == "1" else f"{shown} days"
