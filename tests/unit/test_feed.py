"""feed.xml and security.xml: valid Atom (read by a real XML parser and checked against RFC 4287's
rules for required elements), newest first, hostile text kept as text."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest

from builder.release import site
from builder.release.site_data import ImageLine
from tests.unit.test_site import MARK, TODAY, Facts, _hostile_line

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})")


def parse(text: str) -> ET.Element:
    """The feed's root element; ParseError when not well-formed. Only feeds this test made are read."""
    return ET.fromstring(text)  # noqa: S314 - text written by the builder in this test, no entities


def atom_problems(text: str) -> list[str]:
    """What RFC 4287 requires of a feed and its entries that `text` lacks (empty: valid)."""
    feed = parse(text)
    problems = [] if feed.tag == f"{ATOM}feed" else [f"root is {feed.tag}"]

    def one(element: ET.Element, name: str, where: str) -> None:
        found = element.findall(f"{ATOM}{name}")
        if len(found) != 1:
            problems.append(f"{where}: {len(found)} {name} elements, expected 1")
        elif name == "updated" and not RFC3339.fullmatch(found[0].text or ""):
            problems.append(f"{where}: updated {found[0].text!r} is no RFC 3339 date-time")
        elif name == "id" and not re.fullmatch(r"[a-z][a-z0-9+.-]*:\S+", found[0].text or ""):
            problems.append(f"{where}: id {found[0].text!r} is no IRI")

    def links(element: ET.Element, where: str) -> None:
        alternates = [
            (link.get("type"), link.get("hreflang"))
            for link in element.findall(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        if len(alternates) != len(set(alternates)):
            problems.append(f"{where}: two alternate links of one type and language")
        if any(not link.get("href") for link in element.findall(f"{ATOM}link")):
            problems.append(f"{where}: a link without href")

    for name in ("id", "title", "updated"):
        one(feed, name, "feed")
    links(feed, "feed")
    feed_author = feed.find(f"{ATOM}author/{ATOM}name") is not None
    for index, entry in enumerate(feed.findall(f"{ATOM}entry")):
        where = f"entry {index}"
        for name in ("id", "title", "updated"):
            one(entry, name, where)
        links(entry, where)
        if not feed_author and entry.find(f"{ATOM}author/{ATOM}name") is None:
            problems.append(f"{where}: no author, and the feed has none")
        has_content = entry.find(f"{ATOM}content") is not None
        alternate = [x for x in entry.findall(f"{ATOM}link") if x.get("rel", "alternate") == "alternate"]
        if not has_content and not alternate:
            problems.append(f"{where}: neither content nor an alternate link")
    ids = [e.findtext(f"{ATOM}id") for e in feed.findall(f"{ATOM}entry")]
    if len(ids) != len(set(ids)):
        problems.append("two entries share an id")
    return problems


BROKEN = [
    (
        "no feed id",
        "<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title><updated>2026-11-30T00:00:00Z"
        "</updated><author><name>a</name></author></feed>",
        ["feed: 0 id elements, expected 1"],
    ),
    (
        "a date that is no date-time",
        "<feed xmlns='http://www.w3.org/2005/Atom'><id>urn:x</id><title>t</title>"
        "<updated>2026-11-30</updated><author><name>a</name></author></feed>",
        ["feed: updated '2026-11-30' is no RFC 3339 date-time"],
    ),
    (
        "an entry without author or content",
        "<feed xmlns='http://www.w3.org/2005/Atom'><id>urn:x</id><title>t"
        "</title><updated>2026-11-30T00:00:00Z</updated><entry><id>urn:y</id><title>e</title>"
        "<updated>2026-11-30T00:00:00Z</updated></entry></feed>",
        ["entry 0: no author, and the feed has none", "entry 0: neither content nor an alternate link"],
    ),
    (
        "two entries with one id",
        "<feed xmlns='http://www.w3.org/2005/Atom'><id>urn:x</id><title>t</title>"
        "<updated>2026-11-30T00:00:00Z</updated><author><name>a</name></author>"
        + "<entry><id>urn:y</id><title>e</title><updated>2026-11-30T00:00:00Z</updated><content>c</content></entry>" * 2
        + "</feed>",
        ["two entries share an id"],
    ),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in BROKEN], ids=[i for i, _, _ in BROKEN])
def test_the_checker_catches_broken_feeds(text: str, expected: list[str]) -> None:
    assert atom_problems(text) == expected


def _lines() -> tuple[ImageLine, ...]:
    evil = _hostile_line()
    change = replace(evil.releases[0].changes[0], name=f"pkg{MARK}\x01")  # no XML document may hold U+0001
    evil = replace(evil, releases=(replace(evil.releases[0], changes=(change,)), *evil.releases[1:]))
    older = replace(
        evil,
        id="older",
        releases=tuple(replace(r, date="2026-10-01", digest="sha256:" + "c" * 64) for r in evil.releases[:1]),
    )
    quiet = replace(
        evil,
        id="quiet",
        releases=tuple(replace(r, date="2026-11-30", cves=(), digest="sha256:" + "d" * 64) for r in evil.releases[:1]),
    )
    return evil, older, quiet


@pytest.fixture(scope="module")
def feeds() -> dict[str, str]:
    return site.render(_lines(), f"chan{MARK}", TODAY)


def test_the_feeds_are_valid_atom_with_hostile_text(feeds: dict[str, str]) -> None:
    for name in ("feed.xml", "security.xml"):
        assert atom_problems(feeds[name]) == [], name


def test_the_release_feed_lists_dated_releases_newest_first(feeds: dict[str, str]) -> None:
    feed = parse(feeds["feed.xml"])
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}updated") for e in entries] == [
        "2026-11-30T00:00:00Z",
        "2026-11-29T00:00:00Z",
        "2026-10-01T00:00:00Z",
    ]  # the undated one left out
    assert entries[0].findtext(f"{ATOM}title") == "quiet 1.0.1"
    assert entries[1].findtext(f"{ATOM}title") == f"evil 1.0.1: fixes CVE-2026-1<script>{MARK}, CVE-2026-12345"
    assert feed.findtext(f"{ATOM}updated") == "2026-11-30T00:00:00Z"
    assert feed.findtext(f"{ATOM}author/{ATOM}name") == f"chan{MARK}"
    assert entries[1].find(f"{ATOM}link").get("href") == "images/evil.html"  # type: ignore[union-attr]
    content = entries[1].find(f"{ATOM}content")
    assert content is not None
    assert content.get("type") == "html"
    body = Facts(content.text or "")  # the HTML a feed reader shows
    assert not {"b", "script"} & set(body.tags)
    assert body.links == ["https://security-tracker.debian.org/tracker/CVE-2026-12345"]
    assert body.text == (
        f"127.0.0.1:5000/base/evil@sha256:{'a' * 64} Fixes CVE-2026-1<script>{MARK}, "
        f"CVE-2026-12345 pkg{MARK}\ufffd: 1{MARK} → 2{MARK}"
    )


def test_the_security_feed_holds_only_releases_that_fix_cves(feeds: dict[str, str]) -> None:
    entries = parse(feeds["security.xml"]).findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title", "").split(":")[0] for e in entries] == ["evil 1.0.1", "older 1.0.1"]


def test_feeds_without_releases_are_still_valid() -> None:
    files = site.render((replace(_hostile_line(), releases=()),), "c", TODAY)
    for name in ("feed.xml", "security.xml"):
        assert atom_problems(files[name]) == []
    for name in ("feed.xml", "security.xml"):
        assert parse(files[name]).findall(f"{ATOM}entry") == []


def test_entry_ids_are_stable_and_per_release(feeds: dict[str, str]) -> None:
    again = site.render(_lines(), f"chan{MARK}", TODAY + dt.timedelta(days=3))
    assert again["feed.xml"] == feeds["feed.xml"]  # the feed does not change with the day it is written
