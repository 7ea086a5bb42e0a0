"""Patch latency: when a fixed package appeared in its suite (the suite's Release Date on the first
build that saw it, kept in the lock) against when the release that carries it was published."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from builder.core.facts import Update
from builder.release import latency, site
from builder.release.site_data import Change, Cve, ImageLine
from builder.upstream import fixes, inrelease
from tests.unit.test_aptindex import BASE, SOURCE, Mirror, cache, packages
from tests.unit.test_fixes import CANDIDATE, Indexes, Logs, entry, lock
from tests.unit.test_fixes import SOURCE as FIX_SOURCE
from tests.unit.test_site import TODAY, Facts, _hostile_line

URL = "http://mirror.invalid/debian/dists/bookworm-security/InRelease"
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Date: Fri, 01 May 2026 06:30:00 UTC\n", dt.datetime(2026, 5, 1, 6, 30, tzinfo=dt.UTC)),
        ("Date: Fri, 01 May 2026 08:30:00 +0200\n", dt.datetime(2026, 5, 1, 6, 30, tzinfo=dt.UTC)),
        ("Date: yesterday\n", None),  # informational: a bad Date does not stop the suite from being read
        ("", None),
    ],
)
def test_the_release_date_is_read(line: str, expected: dt.datetime | None) -> None:
    text = f"Suite: bookworm-security\n{line}SHA256:\n {'a' * 64} 1 main/binary-amd64/Packages\n".encode()
    assert inrelease.parse(text, URL, "bookworm-security", NOW).date == expected


def test_each_index_entry_carries_its_suite_date(tmp_path: Path) -> None:
    mirror = Mirror(None)
    mirror.publish(packages("1.0-1"), date="Fri, 01 May 2026 06:30:00 UTC")
    indexes = cache(mirror, tmp_path, keyrings={BASE: None})
    assert [e.published for e in indexes.entries(SOURCE, "amd64", {"demo"})["demo"]] == ["2026-05-01T06:30:00Z"]
    undated = Mirror(None)
    undated.publish(packages("1.0-1"))
    later = cache(undated, tmp_path / "other", keyrings={BASE: None})
    assert [e.published for e in later.entries(SOURCE, "amd64", {"demo"})["demo"]] == [""]


def _dated(name: str, version: str, published: str) -> object:
    made = entry(name, version)
    return type(made)(made.name, made.version, made.source, made.filename, made.base_url, made.suite, published)


def test_a_build_records_when_each_changed_version_appeared_and_keeps_the_first() -> None:
    built = lock(CANDIDATE, {"demo": "1.1-1", "libc6": "2.36-10"}).packages
    offered = Indexes(
        _dated("demo", "1.1-1", "2026-05-02T00:00:00Z"),  # type: ignore[arg-type]
        _dated("demo", "1.1-1", "2026-05-01T00:00:00Z"),  # type: ignore[arg-type]
        entry("libc6", "2.36-10"),
    )
    found = fixes.since_release(
        {"demo": "1.0-1", "libc6": "2.36-9"},
        built,
        [FIX_SOURCE],
        arch="amd64",
        indexes=offered,
        logs=Logs({}),
        warn=lambda _: None,
    )
    assert [(u.name, u.published) for u in found] == [("demo", "2026-05-01T00:00:00Z"), ("libc6", None)]
    earlier = lock(
        CANDIDATE,
        {"demo": "1.1-1"},
        (
            Update(name="demo", old="1.0-1", new="1.1-1", published="2026-04-30T12:00:00Z"),
            Update(name="libc6", old="2.36-9", new="2.36-10"),
        ),
    )
    assert fixes.first_seen(earlier) == {("demo", "1.1-1"): "2026-04-30T12:00:00Z"}
    again = fixes.since_release(
        {"demo": "1.0-1", "libc6": "2.36-9"},
        built,
        [FIX_SOURCE],
        arch="amd64",
        indexes=offered,
        logs=Logs({}),
        warn=lambda _: None,
        seen=fixes.first_seen(earlier),
    )
    assert [(u.name, u.published) for u in again] == [("demo", "2026-04-30T12:00:00Z"), ("libc6", None)]
    assert fixes.first_seen(None) == {}


CVE = Cve("CVE-2026-1111", "https://security-tracker.debian.org/tracker/CVE-2026-1111")


def _line(name: str, *releases: tuple[str, tuple[tuple[str, str | None], ...]]) -> ImageLine:
    """An image line whose releases (newest first) are (date, ((cve id, published), ...))."""
    base = _hostile_line()
    views = []
    for index, (date, fixed) in enumerate(releases):
        changes = tuple(
            Change(f"pkg{n}", "1", "2", (Cve(c, None),), published) for n, (c, published) in enumerate(fixed)
        )
        views.append(
            type(base.releases[0])(
                version=f"1.0.{9 - index}",
                date=date,
                digest="sha256:" + "a" * 64,
                size=1,
                packages=1,
                tags=(),
                reasons=(),
                changes=changes,
                cves=tuple(Cve(c, None) for c, _ in fixed),
            )
        )
    return type(base)(**{**base.__dict__, "id": name, "releases": tuple(views)})


LINES = (
    _line(
        "a",
        ("2026-11-20", (("CVE-1", "2026-11-18T23:00:00Z"), ("CVE-2", "2026-11-10T00:00:00Z"))),
        ("2026-11-01", (("CVE-3", "2026-10-31T00:00:00Z"),)),
        ("2026-08-01", (("CVE-OLD", "2026-07-01T00:00:00Z"),)),
    ),  # more than 90 days before TODAY
    _line("b", ("2026-11-25", (("CVE-4", None), ("CVE-5", "2026-11-28T00:00:00Z")))),  # unknown; after release
    _line("c"),
)


def test_latency_per_fix_per_image_and_for_the_channel() -> None:
    a = latency.of(LINES[0], TODAY)
    assert [(f.cve, f.published, f.released, f.days) for f in a.fixes] == [
        ("CVE-1", "2026-11-18", "2026-11-20", 2),
        ("CVE-2", "2026-11-10", "2026-11-20", 10),
        ("CVE-3", "2026-10-31", "2026-11-01", 1),
    ]
    assert (a.median, a.worst) == (2, 10)
    b = latency.of(LINES[1], TODAY)
    assert [(f.cve, f.days) for f in b.fixes] == [("CVE-5", 0)]  # seen after its release: no negative latency
    assert (b.median, b.worst, b.unknown) == (0, 0, 1)
    assert (latency.of(LINES[2], TODAY).median, latency.of(LINES[2], TODAY).worst) == (None, None)
    channel = latency.channel(LINES, TODAY)
    assert (channel.median, channel.worst, len(channel.fixes)) == (1.5, 10, 4)


def test_the_pages_show_latency_with_both_dates() -> None:
    files = site.render(LINES, "c", TODAY)
    index = Facts(files["index.html"])
    assert "Patch latency over the last 90 days: median 1.5 days, worst 10 days (4 fixes)." in index.text
    page = Facts(files["images/a.html"])
    assert page.rows("Each CVE fixed in the last 90 days")[:1] == [["CVE-1", "pkg0", "2026-11-18", "2026-11-20", "2"]]
    assert "Median 2 days, worst 10 days over 3 fixes." in page.text
    assert "Days from each fix's publication to its release" in page.svg_titles
    assert "No CVE fixed in the last 90 days." in Facts(files["images/c.html"]).text
