"""The web catalog (`builder catalog --site`): the facts each page shows for the sample channel
(read back from the HTML by a parser, not compared byte for byte), hostile text escaped everywhere,
bad records still building pages, and a rerun writing nothing."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest

from builder.cli import main as cli
from builder.cli import release_commands  # noqa: F401 - imported now: it loads git, which runs `git version`
from builder.release import site, site_data, svg
from builder.release.catalog_index import CatalogRuntime
from builder.release.site_data import Change, Cve, ImageLine, ReleaseView, SbomPackage
from tests.support.channel import REPO, load_channel

TODAY = dt.date(2026, 11, 30)
CURL_NEW = "sha256:9b0da8e427ae790215107505df27f3c1526294db0d7118fc3c14d9d171e0a4f6"
CURL_OLD = "sha256:80a83a7ab1f05b5999cec5ce08f5530623d6b6efadb2da2b17592eac862fb62a"
MARK = "<b>x</b>"  # what a hostile text carries; the escaped page shows it as text, never as an element


class Facts(HTMLParser):
    """What a reader gets from a page: its text, table rows by caption, landmarks, links, SVG titles."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.stack: list[str] = []
        self.texts: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.headings: list[str] = []
        self.links: list[str] = []
        self.svg_titles: list[str] = []
        self._caption = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._heading: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in ("br", "meta", "link", "input", "line", "polyline"):
            self.stack.append(tag)
        values = dict(attrs)
        if tag == "br" and self._cell is not None:
            self._cell.append(" ")
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag in ("h1", "h2", "h3"):
            self._heading = []
        elif tag == "caption":
            self._caption = ""

    def handle_endtag(self, tag: str) -> None:
        if self.stack and self.stack[-1] == tag:
            self.stack.pop()
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables.setdefault(self._caption, []).append(self._row)
            self._row = None
        elif tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._heading is not None:
            self._heading.append(data)
        if self.stack and self.stack[-1] == "caption":
            self._caption += data
        if self.stack and self.stack[-1] == "title" and "svg" in self.stack:
            self.svg_titles.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.texts).split())

    def rows(self, caption_start: str) -> list[list[str]]:
        (caption,) = [c for c in self.tables if c.startswith(caption_start)]
        return self.tables[caption][1:]  # without the header row


@pytest.fixture(scope="module")
def sample() -> dict[str, str]:
    config, channel = load_channel(REPO, {})
    return site.render(site_data.lines(config, channel, TODAY), site.channel_name(config), TODAY)


def test_the_index_shows_every_image_line_with_its_current_release(sample: dict[str, str]) -> None:
    page = Facts(sample["index.html"])
    rows = {row[0].split(" ")[0]: row for row in page.rows("Every image line")}
    assert sorted(rows) == [
        "curl",
        "curl/trixie",
        "debian-base",
        "python",
        "python/dev",
        "python/distroless",
        "python/distroless-debug",
        "static",
        "static/debug",
    ]
    assert rows["curl"] == [
        "curl curl for health checks and scripted HTTP calls, non-root",
        "hardened",
        "1.0.1",
        f"127.0.0.1:5000/base/curl:1.0.1 127.0.0.1:5000/base/curl@{CURL_NEW}",
        "102.5 MB",
        "106",
        "2026-11-23",
        "none",
    ]
    distroless = rows["python/distroless"]
    assert distroless[1:3] == ["distroless", "1.0.0"]
    assert distroless[3].startswith(
        "127.0.0.1:5000/base/python:1.0.0-distroless 127.0.0.1:5000/base/python@sha256:947ffb7f776a0"
    )
    assert distroless[4:7] == ["49.0 MB", "38", "2026-11-24"]
    assert {"images/curl.html", "images/python/distroless.html", "feed.xml", "security.xml"} <= set(page.links)
    assert page.headings[0] == "Images of 127.0.0.1:5000/base"
    assert {"header", "nav", "main", "footer"} <= set(page.tags)


def test_an_image_page_shows_tags_profile_packages_changelog_and_chart(sample: dict[str, str]) -> None:
    page = Facts(sample["images/curl.html"])
    assert page.headings == [
        "curl",
        "Tags and digests",
        "Running it with its strict profile",
        "docker run",
        "Kubernetes container settings",
        "Verifying its signature",
        "Size over releases",
        "Patch latency",
        "Packages",
        "Changelog",
        "1.0.1 (2026-11-23)",
        "1.0.0 (2026-11-23)",
    ]
    assert page.rows("Where each tag points now") == [
        ["1", CURL_NEW],
        ["1.0", CURL_NEW],
        ["1.0.0", CURL_OLD],
        ["1.0.1", CURL_NEW],
        ["latest", CURL_NEW],
    ]
    assert (
        "docker run --read-only --cap-drop=ALL --security-opt=no-new-privileges --user=10001:10001 "
        "--tmpfs=/tmp:rw,noexec,nosuid,nodev 127.0.0.1:5000/base/curl:1.0.1"
    ) in page.text
    assert "runAsNonRoot: true" in page.text
    assert "readOnlyRootFilesystem: true" in page.text
    assert "The current release is not signed." in page.text
    packages = page.rows("106 packages of the current release, from its SBOM")
    assert len(packages) == 106
    assert packages[:2] == [["adduser", "3.134", "NOASSERTION"], ["apt", "2.6.2", "NOASSERTION"]]
    assert page.svg_titles == ["Image size over releases", "1.0.0: 102.5 MB", "1.0.1: 102.5 MB"]
    assert "Why: forced" in page.text


def test_a_variant_page_links_back_to_the_root(sample: dict[str, str]) -> None:
    page = Facts(sample["images/python/distroless.html"])
    assert "../../index.html" in page.links
    assert "127.0.0.1:5000/base/python:1.0.0-distroless" in page.text


def _hostile_line(signed: bool = True) -> ImageLine:
    cves = (
        Cve(f"CVE-2026-1<script>{MARK}", None),
        Cve("CVE-2026-12345", "https://security-tracker.debian.org/tracker/CVE-2026-12345"),
    )
    release = ReleaseView(
        version="1.0.1",
        date="2026-11-29",
        digest="sha256:" + "a" * 64,
        size=1000,
        packages=1,
        tags=(f"1{MARK}",),
        reasons=(f"why {MARK}",),
        changes=(Change(f"pkg{MARK}", f"1{MARK}", f"2{MARK}", cves, "2026-11-20T00:00:00Z"),),
        cves=cves,
    )
    undated = replace(release, version="1.0.0", date="", cves=(), changes=())
    runtime = CatalogRuntime(
        user="1:1",
        writable=(),
        ports=(),
        arbitrary_uid=False,
        verified=True,
        docker_run=(f"--user={MARK}",),
        kubernetes={"container": {"name": MARK}, "volumes": []},
    )
    return ImageLine(
        id="evil",
        description=f"desc {MARK} &amp; \x00\x1b",
        form="hardened",
        repository="127.0.0.1:5000/base/evil",
        tag_suffix="",
        releases=(release, undated),
        tags={f"t{MARK}": "sha256:" + "a" * 64},
        runtime=runtime,
        signed=signed,
        packages=(SbomPackage(f"p{MARK}", f"v{MARK}", f"MIT {MARK}"),),
    )


def test_markup_in_every_text_reaches_the_pages_as_text() -> None:
    files = site.render((_hostile_line(),), f"chan{MARK}", TODAY)
    for name in ("index.html", "images/evil.html"):
        page = Facts(files[name])
        assert "b" not in page.tags, name  # no hostile element was created
        assert page.tags.count("script") == (name == "index.html")  # the filter's, and no other
        assert MARK in page.text
        assert "\x00" not in files[name]
        assert "\x1b" not in files[name]
    image = Facts(files["images/evil.html"])
    for shown in (
        f"pkg{MARK}",
        f"1{MARK}",
        f"2{MARK}",
        f"why {MARK}",
        f"t{MARK}",
        f"p{MARK}",
        f"MIT {MARK}",
        f"--user={MARK}",
        f"name: {MARK}",
        f"CVE-2026-1<script>{MARK}",
        "desc <b>x</b> &amp; \ufffd\ufffd",
    ):
        assert shown in image.text, shown
    assert "https://security-tracker.debian.org/tracker/CVE-2026-12345" in image.links
    assert image.rows("Each CVE fixed")[0] == [
        f"CVE-2026-1<script>{MARK}",
        f"pkg{MARK}",
        "2026-11-20",
        "2026-11-29",
        "9",
    ]  # the patch latency table
    assert f"CVE-2026-1<script>{MARK} (2026-11-29): 9 days" in image.svg_titles
    # An odd CVE id is shown, never linked.
    assert not [link for link in image.links if "script" in link]
    index = Facts(files["index.html"])
    assert index.rows("Every image line")[0][-1] == f"CVE-2026-12345, CVE-2026-1<script>{MARK}"


def test_the_index_counts_cves_of_the_last_30_days_only() -> None:
    line = _hostile_line()
    assert [c.id for c in line.cves_since(TODAY)] == ["CVE-2026-12345", "CVE-2026-1<script><b>x</b>"]
    assert line.cves_since(TODAY + dt.timedelta(days=31)) == ()
    assert line.cves_since(TODAY - dt.timedelta(days=2)) == ()  # a release after "today" is not counted


def test_a_signed_release_says_how_to_verify_it() -> None:
    signed = Facts(site.render((_hostile_line(),), "c", TODAY)["images/evil.html"])
    assert "builder verify --catalog index.json --key keys/KEYID.pub 127.0.0.1:5000/base/evil@sha256:" in signed.text
    assert "cosign verify --key cosign.pub --insecure-ignore-tlog" in signed.text
    unsigned = Facts(site.render((_hostile_line(signed=False),), "c", TODAY)["images/evil.html"])
    assert "The current release is not signed." in unsigned.text
    assert "builder verify" not in unsigned.text


def test_an_image_without_releases_still_gets_its_pages() -> None:
    line = replace(_hostile_line(), releases=(), tags={}, runtime=None, packages=(), signed=False)
    files = site.render((line,), "c", TODAY)
    assert Facts(files["index.html"]).rows("Every image line")[0][1:] == ["hardened", "not released yet"]
    page = Facts(files["images/evil.html"])
    assert {"No tags yet.", "No SBOM yet.", "No release yet."} <= set(page.texts)
    assert page.svg_titles == ["Image size over releases"]
    assert "Verifying its signature" not in page.headings


def test_the_size_chart_describes_itself() -> None:
    chart = svg.size_chart("c<", [("1.0.0", 2_000_000), ("1.0.1", 1_000_000)])
    assert chart.startswith('<svg xmlns="http://www.w3.org/2000/svg" role="img"')
    assert 'aria-labelledby="c&lt;-title c&lt;-desc"' in chart
    assert '<desc id="c&lt;-desc">1.0.0: 2.0 MB; 1.0.1: 1.0 MB.</desc>' in chart
    assert chart.count("<circle") == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-30", dt.date(2026, 11, 30)),
        ("", None),
        ("2026-02-30", None),
        ("2026-11-30\n", None),
        ("30/11/2026", None),
    ],
)
def test_release_dates_are_read_whole(text: str, expected: dt.date | None) -> None:
    assert site_data.parse_date(text) == expected


def test_catalog_site_writes_from_records_and_a_rerun_writes_nothing(
    tmp_path: Path, channel_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = channel_copy
    for name in ("BUILDER_REGISTRY", "BUILDER_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    record_path = root / "base-images" / "curl" / "releases.json"
    record = json.loads(record_path.read_text(encoding="utf-8"))
    hostile = {
        **record["releases"][-1],
        "version": "1.0.2",
        "date": "",
        "digest": "sha256:" + "b" * 64,
        "cves": [f"CVE-2026-9<i>{MARK}"],
        "updates": [{"name": f"libcurl4{MARK}", "old": "1", "new": "2", "cves": [f"CVE-2026-9<i>{MARK}"]}],
    }
    record["releases"].append(hostile)
    record_path.write_text(json.dumps(record), encoding="utf-8")
    (root / "base-images" / "debian-base" / "releases.json").unlink()  # a line never released
    out = tmp_path / "site"
    assert cli.main(["--root", str(root), "catalog", "--site", str(out)]) == 0
    assert f"wrote {out / 'images' / 'curl.html'}" in capsys.readouterr().out
    curl = Facts((out / "images" / "curl.html").read_text(encoding="utf-8"))
    assert "b" not in curl.tags
    assert "i" not in curl.tags
    assert f"libcurl4{MARK}" in curl.text
    assert "1.0.2" in curl.headings  # undated: no date in its heading
    index = Facts((out / "index.html").read_text(encoding="utf-8"))
    assert next(r for r in index.rows("Every image line") if r[0].startswith("debian-base"))[-1] == "not released yet"
    assert cli.main(["--root", str(root), "catalog", "--site", str(out)]) == 0
    assert "wrote" not in capsys.readouterr().out


def test_a_site_folder_that_cannot_be_written_is_one_line(
    channel_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert cli.main(["--root", str(channel_copy), "catalog", "--site", str(blocker)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: {blocker}: cannot write the web catalog there (Not a directory); pass --site a folder you can write"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not json", ()),
        ('{"packages": "none"}', ()),
        ("[1, 2]", ()),
        (
            '{"packages": [1, {"name": "b<i>", "versionInfo": "2", "licenseDeclared": "MIT"},'
            ' {"name": "a", "licenseConcluded": "GPL-2.0-only", "licenseDeclared": "MIT"},'
            ' {"name": "img", "primaryPackagePurpose": "CONTAINER"}]}',
            (SbomPackage("a", "", "GPL-2.0-only"), SbomPackage("b<i>", "2", "MIT")),
        ),
    ],
)
def test_sbom_packages_are_read_leniently(tmp_path: Path, text: str, expected: tuple[SbomPackage, ...]) -> None:
    (tmp_path / "sbom.spdx.json").write_text(text)
    assert site_data.sbom_packages(tmp_path / "sbom.spdx.json") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", set()),
        ('{"signed": 3}', set()),
        ('{"signed": [{"key": "k"}]}', set()),
        ('{"signed": [{"digest": "sha256:1", "key": "k"}]}', {"sha256:1"}),
    ],
)
def test_signed_digests_are_read_leniently(tmp_path: Path, text: str, expected: set[str]) -> None:
    (tmp_path / "signatures.json").write_text(text)
    assert site_data.signed_digests(tmp_path / "signatures.json") == expected
    assert site_data.signed_digests(tmp_path / "missing.json") == set()
