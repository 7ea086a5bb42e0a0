"""Each line's distro release, support phase and end dates in the catalog (index.json, README), the web
catalog and the changelog, on a fixed day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from builder.channel import changelog
from builder.channel import lock as lockfile
from builder.channel.history import Record, from_lock
from builder.channel.history import write as write_record
from builder.channel.layout import ImageFiles
from builder.core.facts import OsRelease, SupportDates
from builder.core.settings import Settings
from builder.recipe.graph import Channel
from builder.release import catalog, site, site_data
from tests.support.channel import load_channel

REPO = Path(__file__).resolve().parents[2]
WEB = (
    "name: web\ndescription: A web server\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"
    "variants: [{name: trixie, from: 'debian:trixie-slim'}]\n"
)
BOOKWORM = SupportDates(
    distro="debian",
    codename="bookworm",
    version="12",
    released="2023-06-10",
    security="2026-07-11",
    lts="2028-06-30",
    extended="2033-06-30",
    source="test",
)
TRIXIE = BOOKWORM.model_copy(
    update={
        "codename": "trixie",
        "version": "13",
        "released": "2025-08-09",
        "security": "2028-08-09",
        "lts": "2030-06-30",
        "extended": "2035-06-30",
    }
)
DAY = dt.date(2028, 7, 1)  # bookworm past its LTS, trixie in regular security support


def _channel(tmp_path: Path, web: str = WEB) -> tuple[Settings, Channel]:
    root = tmp_path / "channel"
    (root / "recipes").mkdir(parents=True)
    (root / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    (root / "recipes" / "web.yaml").write_text(web)
    config, channel = load_channel(root, environ={})
    old = lockfile.read(REPO / "base-images" / "python" / "image.lock.json")
    assert old is not None
    for image_id, dates in (("web", BOOKWORM), ("web/trixie", TRIXIE)):
        lock = old.model_copy(
            update={
                "image": image_id,
                "lifecycle": dates,
                "os": OsRelease(id="debian", version_id=dates.version, codename=dates.codename),
            }
        )
        files = ImageFiles.of(config, channel.images[image_id])
        files.folder.mkdir(parents=True, exist_ok=True)
        write_record(
            files.releases, Record(image=image_id, releases=(from_lock(lock, "1.0.0", "2026-11-30", ("1.0.0",), {}),))
        )
    return config, channel


def test_the_catalog_shows_release_phase_and_dates(tmp_path: Path) -> None:
    config, channel = _channel(tmp_path)
    index = catalog.build(config, channel, DAY)
    assert {i.image: i.support.model_dump() if i.support else None for i in index.images} == {
        "web": {
            "release": "Debian 12 (bookworm)",
            "distro": "debian",
            "codename": "bookworm",
            "phase": "extended",
            "security": "2026-07-11",
            "lts": "2028-06-30",
            "extended": "2033-06-30",
            "accept_eol": None,
        },
        "web/trixie": {
            "release": "Debian 13 (trixie)",
            "distro": "debian",
            "codename": "trixie",
            "phase": "stable",
            "security": "2028-08-09",
            "lts": "2030-06-30",
            "extended": "2035-06-30",
            "accept_eol": None,
        },
    }
    assert (
        "| image | built on | phase | security support until | LTS until |\n|---|---|---|---|---|\n"
        "| web | Debian 12 (bookworm) | **unsupported** (extended) | 2026-07-11 | 2028-06-30 |\n"
        "| web/trixie | Debian 13 (trixie) | stable | 2028-08-09 | 2030-06-30 |\n"
    ) in catalog.readme(index)
    earlier = catalog.build(config, channel, dt.date(2027, 1, 1)).images[0].support
    assert earlier is not None
    assert earlier.phase == "lts"


def test_an_accepted_eol_is_shown_escaped(tmp_path: Path) -> None:
    config, channel = _channel(tmp_path, WEB + "accept_eol: 'paid | ELTS'\n")
    text = catalog.readme(catalog.build(config, channel, DAY))
    assert (
        "| web | Debian 12 (bookworm) | **unsupported** (extended): paid \\| ELTS | 2026-07-11 | 2028-06-30 |"
    ) in text


def test_the_web_catalog_page_says_when_support_ends(tmp_path: Path) -> None:
    config, channel = _channel(tmp_path, WEB + "accept_eol: '<b>kept</b>'\n")
    lines = site_data.lines(config, channel, DAY)
    page = site.image_page(lines[0], "c", DAY)
    assert (
        "<dt>Built on</dt><dd>Debian 12 (bookworm): <strong>unsupported</strong> since 2028-06-30 "
        "(kept: &lt;b&gt;kept&lt;/b&gt;)</dd>\n<dt>Security support until</dt><dd>2026-07-11, LTS until "
        "2028-06-30</dd>"
    ) in page
    page = site.image_page(lines[1], "c", DAY)
    assert (
        "<dt>Built on</dt><dd>Debian 13 (trixie): regular security support</dd>\n"
        "<dt>Security support until</dt><dd>2028-08-09, LTS until 2030-06-30</dd>"
    ) in page


def test_the_changelog_names_the_release_first_and_when_it_changes(tmp_path: Path) -> None:
    config, channel = _channel(tmp_path)
    record = ImageFiles.of(config, channel.images["web"]).read_history()
    first = record.releases[0]
    same = first.model_copy(update={"version": "1.0.1", "digest": "sha256:" + "b" * 64})
    moved = first.model_copy(update={"version": "2.0.0", "digest": "sha256:" + "c" * 64, "lifecycle": TRIXIE})
    text = changelog.render(Record(image="web", releases=(first, same, moved)))
    assert [line for line in text.splitlines() if line.startswith("- Built on")] == [
        "- Built on Debian 13 (trixie) (was Debian 12 (bookworm)): regular security support until 2028-08-09, "
        "LTS until 2030-06-30",
        "- Built on Debian 12 (bookworm): regular security support until 2026-07-11, LTS until 2028-06-30",
    ]
    old = first.model_copy(update={"lifecycle": None})  # a record written before support dates
    assert "Built on" not in changelog.render(Record(image="web", releases=(old,)))
