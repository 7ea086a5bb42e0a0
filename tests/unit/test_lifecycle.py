"""Support dates from distro-info-data and Alpine's table, the phase on a fixed day, and what watch and
lint say about it: fixture CSVs are written here, never read from the machine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from builder.channel import lifecycle
from builder.channel import lock as lockfile
from builder.core import settings
from builder.core.errors import ConfigError
from builder.core.facts import BaseLock, OsRelease
from builder.dockerfile import policy
from tests.support.channel import load_channel

HEADER = "version,codename,series,created,release,eol,eol-lts,eol-elts\n"
DEBIAN = (
    HEADER + "12,Bookworm,bookworm,2021-08-14,2023-06-10,2026-07-11,2028-06-30,2033-06-30\n"
    "13,Trixie,trixie,2023-06-10,2025-08-09,2028-08-09,2030-06-30,2035-06-30\n"
    "14,Forky,forky,2025-08-09\n,Sid,sid,1993-08-16\n"
)
UBUNTU = (
    "version,codename,series,created,release,eol,eol-server,eol-esm\n"
    "24.04 LTS,Noble Numbat,noble,2023-10-12,2024-04-25,2029-05-31,2029-05-31,2034-04-25\n"
)


def _folders(tmp_path: Path, debian: str = DEBIAN, system: str | None = None) -> tuple[Path, Path]:
    vendored, installed = tmp_path / "vendored", tmp_path / "system"
    vendored.mkdir()
    installed.mkdir()
    (vendored / "debian.csv").write_text(debian)
    (vendored / "ubuntu.csv").write_text(UBUNTU)
    if system is not None:
        (installed / "debian.csv").write_text(system)
    return installed, vendored


def _table(tmp_path: Path, pyproject: str = "", **files: str) -> lifecycle.Table:
    (tmp_path / "pyproject.toml").write_text(f"[tool.builder]\n{pyproject}\n")
    system, vendored = _folders(tmp_path, **files)
    return lifecycle.Table.load(settings.load(tmp_path, {}), system, vendored)


MOVE = "; move to Debian 13 (trixie), supported until 2028-08-09"
ON_DAY = [
    ("2025-12-01", "stable", "supported", "Debian 12 (bookworm): regular security support until 2026-07-11"),
    (
        "2026-01-12",
        "stable",
        "ending",
        f"Debian 12 (bookworm): regular security support ends on 2026-07-11 (180 days){MOVE}",
    ),
    (
        "2026-07-10",
        "stable",
        "ending",
        f"Debian 12 (bookworm): regular security support ends on 2026-07-11 (1 day){MOVE}",
    ),
    (
        "2026-07-11",
        "lts",
        "lts",
        f"Debian 12 (bookworm): regular security support ended on 2026-07-11; LTS until 2028-06-30{MOVE}",
    ),
    ("2028-06-30", "extended", "unsupported", f"Debian 12 (bookworm): unsupported since 2028-06-30 (end of LTS){MOVE}"),
    (
        "2034-01-01",
        "ended",
        "unsupported",
        "Debian 12 (bookworm): unsupported since 2028-06-30 (end of LTS); no newer release is out yet",
    ),
]


@pytest.mark.parametrize(("day", "phase", "level", "message"), ON_DAY)
def test_bookworm_on_a_fixed_day(tmp_path: Path, day: str, phase: str, level: str, message: str) -> None:
    table = _table(tmp_path)
    today = dt.date.fromisoformat(day)
    bookworm = table.dates("debian", "bookworm")
    assert bookworm is not None
    status = lifecycle.assess(bookworm, today, 180, table.successor(bookworm, today))
    assert (status.phase, status.level, status.message) == (phase, level, message)


def test_the_window_is_a_setting(tmp_path: Path) -> None:
    table = _table(tmp_path, "lifecycle_window = 30")
    bookworm = table.dates("debian", "bookworm")
    assert bookworm is not None
    assert lifecycle.assess(bookworm, dt.date(2026, 1, 12), 30, None).level == "supported"
    assert lifecycle.assess(bookworm, dt.date(2026, 6, 11), 30, None).level == "ending"


def test_settings_override_the_distribution(tmp_path: Path) -> None:
    table = _table(
        tmp_path,
        "[tool.builder.lifecycle]\n'debian/bookworm' = { lts = '2027-06-30' }\n"
        "'debian/zorro' = { security = '2030-01-01' }",
    )
    bookworm = table.dates("debian", "bookworm")
    assert bookworm is not None
    assert (bookworm.security, bookworm.lts, bookworm.source) == (
        "2026-07-11",
        "2027-06-30",
        "[tool.builder.lifecycle] debian/bookworm",
    )
    assert lifecycle.assess(bookworm, dt.date(2027, 7, 1), 180, None).level == "unsupported"
    zorro = table.dates("debian", "zorro")
    assert zorro is not None
    assert zorro.security == "2030-01-01"


def test_the_system_file_wins_only_when_it_knows_more(tmp_path: Path) -> None:
    older = HEADER + "12,Bookworm,bookworm,2021-08-14,2023-06-10\n"
    assert _table(tmp_path, system=older).dates("debian", "trixie") is not None  # vendored kept
    newer = DEBIAN + "15,Duke,duke,2027-08-01\n"
    other = tmp_path / "other"
    other.mkdir()
    table = _table(other, system=newer)
    assert table.dates("debian", "duke") is not None
    trixie = table.dates("debian", "trixie")
    assert trixie is not None
    assert trixie.source == f"distro-info-data {other / 'system' / 'debian.csv'}"


BAD_CSV = [
    (
        HEADER + "12,Bookworm,bookworm,2021-08-14,2023-06-10,2026-13-01\n",
        "vendored debian.csv:2: eol: '2026-13-01' is not a date (YYYY-MM-DD); "
        "fix the row or reinstall distro-info-data",
    ),
    (
        HEADER + "12,Bookworm,Bookworm,2021-08-14\n",
        "vendored debian.csv:2: series: 'Bookworm' is not a codename; fix the row or reinstall distro-info-data",
    ),
    (
        HEADER + "12,Bookworm,bookworm,2021-08-14,soon\n",
        "vendored debian.csv:2: release: 'soon' is not a date (YYYY-MM-DD); fix the row or reinstall distro-info-data",
    ),
    (
        HEADER + "12 | x,Bookworm,bookworm,2021-08-14\n",
        "vendored debian.csv:2: version: '12 | x' is not a version (e.g. 13 or 24.04 LTS); fix the row or reinstall "
        "distro-info-data",
    ),
    (
        "version,codename,series,created,release,eol\n",
        "vendored debian.csv:1: no 'eol-lts' column; this is not distro-info-data's debian.csv",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_CSV)
def test_malformed_csv(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        _table(tmp_path, debian=text)
    assert refused.value.lines() == [message]


CODENAMES = [
    ("debian", "debian:bookworm-slim", None, "bookworm"),
    ("debian", "debian:12-slim", None, "bookworm"),
    ("debian", "debian:stable-slim", None, None),
    ("debian", "debian:stable-slim", OsRelease(id="debian", version_id="13", codename="trixie"), "trixie"),
    ("ubuntu", "ubuntu:24.04", None, "noble"),
    ("alpine", "alpine:3.20", None, "3.20"),
    ("alpine", "alpine:latest", OsRelease(id="alpine", version_id="3.21.3"), "3.21"),
    ("alpine", "alpine:edge", None, None),
]


@pytest.mark.parametrize(("distro", "upstream", "os", "codename"), CODENAMES)
def test_which_release_a_line_builds_on(
    tmp_path: Path, distro: str, upstream: str, os: OsRelease | None, codename: str | None
) -> None:
    assert _table(tmp_path).codename(distro, upstream, os) == codename


def test_unknown_codename_and_alpine(tmp_path: Path) -> None:
    table = _table(tmp_path)
    assert table.dates("debian", "zorro") is None
    assert lifecycle.unknown("debian", "zorro") == (
        "debian 'zorro': no support dates known; add them under [tool.builder.lifecycle] or update distro-info-data"
    )
    alpine = table.dates("alpine", "3.20")
    assert alpine is not None
    today = dt.date(2026, 4, 1)
    assert lifecycle.assess(alpine, today, 180, table.successor(alpine, today)).message == (
        "Alpine 3.20: unsupported since 2026-04-01; move to Alpine 3.23, supported until 2027-11-01"
    )


def test_the_vendored_copy_knows_trixie() -> None:
    trixie = lifecycle.distro_info("debian", Path("/nonexistent"))["trixie"]
    assert (trixie.released, trixie.security, trixie.lts) == ("2025-08-09", "2028-08-09", "2030-06-30")
    bookworm = lifecycle.distro_info("debian", Path("/nonexistent"))["bookworm"]
    assert (bookworm.security, bookworm.lts) == ("2026-07-11", "2028-06-30")


def test_the_lock_records_the_release_and_old_locks_still_read(tmp_path: Path) -> None:
    digest = "sha256:" + "a" * 64
    old = lockfile.Lock(
        image="x", version="1.0.0", recipe_sha256="r", base=BaseLock(reference="debian:bookworm-slim", digest=digest)
    )
    text = lockfile.dumps(old)
    assert '"lifecycle": null' in text
    assert lockfile.parse(text.replace('  "lifecycle": null,\n', ""), "old.json").lifecycle is None
    (tmp_path / "pyproject.toml").write_text("[tool.builder]\n")
    dates = lifecycle.recorded(
        settings.load(tmp_path, {}), "debian", OsRelease(id="debian", version_id="13", codename="trixie")
    )
    assert dates is not None
    assert (dates.codename, dates.security, dates.lts) == ("trixie", "2028-08-09", "2030-06-30")
    new = old.model_copy(update={"lifecycle": dates})
    assert lockfile.parse(lockfile.dumps(new), "new.json").lifecycle == dates
    assert lifecycle.recorded(settings.load(tmp_path, {}), "debian", OsRelease(id="debian", codename="zorro")) is None


RECIPE = (
    "name: app\ndescription: x\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"
    "tests: [{name: t, run: [id]}]\nvariants:\n  - name: trixie\n    from: debian:trixie-slim\n"
)
LATE = dt.datetime(2028, 7, 1, tzinfo=dt.UTC)


def _lint(tmp_path: Path, recipe: str, now: dt.datetime) -> list[str]:
    (tmp_path / "recipes").mkdir(parents=True)
    (tmp_path / "recipes" / "app.yaml").write_text(recipe)
    (tmp_path / "recipes" / "child.yaml").write_text(
        "name: child\ndescription: x\nversion: 1.0.0\ndistro: debian\nfrom: {recipe: app}\n"
        "tests: [{name: t, run: [id]}]\n"
    )
    _, channel = load_channel(tmp_path, environ={})
    table = _table(tmp_path)
    return [
        str(f)
        for image_id in sorted(channel.images)
        for f in policy.check_recipe(channel, channel.images[image_id], now, table)
    ]


HINT = (
    "(fix: move the line to a supported release (`builder watch` names it), or keep it with "
    '`accept_eol: "why"` in the recipe)'
)


def test_lint_fails_past_the_end_of_lts(tmp_path: Path) -> None:
    assert _lint(tmp_path, RECIPE, LATE) == [
        f"recipes/app.yaml:5: HB016 error: Debian 12 (bookworm): unsupported since 2028-06-30 (end of LTS); "
        f"move to Debian 13 (trixie), supported until 2028-08-09 {HINT}",
        f"recipes/child.yaml:5: HB016 error: Debian 12 (bookworm): unsupported since 2028-06-30 (end of LTS); "
        f"move to Debian 13 (trixie), supported until 2028-08-09 {HINT}",
    ]


def test_lint_passes_in_lts_and_with_an_accepted_eol(tmp_path: Path) -> None:
    assert _lint(tmp_path / "lts", RECIPE, dt.datetime(2028, 6, 29, tzinfo=dt.UTC)) == []
    accepted = RECIPE.replace("tests:", 'accept_eol: "customer X pays for ELTS until 2030"\ntests:')
    assert _lint(tmp_path / "accepted", accepted, LATE) == [
        f"recipes/child.yaml:5: HB016 error: Debian 12 (bookworm): unsupported since 2028-06-30 (end of LTS); "
        f"move to Debian 13 (trixie), supported until 2028-08-09 {HINT}"
    ]


def test_lint_flags_a_variant_where_its_from_is_written(tmp_path: Path) -> None:
    found = _lint(tmp_path, RECIPE, dt.datetime(2030, 7, 1, tzinfo=dt.UTC))
    assert [line.split(" (end of LTS)")[0] for line in found] == [
        "recipes/app.yaml:5: HB016 error: Debian 12 (bookworm): unsupported since 2028-06-30",
        "recipes/app.yaml:9: HB016 error: Debian 13 (trixie): unsupported since 2030-06-30",
        "recipes/child.yaml:5: HB016 error: Debian 12 (bookworm): unsupported since 2028-06-30",
    ]


def test_watch_notice_for_an_unknown_codename(tmp_path: Path) -> None:
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "app.yaml").write_text(RECIPE.replace("debian:bookworm-slim", "debian:zorro-slim"))
    _, channel = load_channel(tmp_path, environ={})
    table = _table(tmp_path)
    found = lifecycle.notice(table, 180, channel, channel.images["app"], os=None, today=dt.date(2026, 1, 1))
    assert found == lifecycle.Notice(
        "debian: cannot tell the release from 'debian:zorro-slim'; name it in the "
        "tag (e.g. debian:trixie-slim) or build the line once so its os-release "
        "names it",
        None,
        None,
    )
    zorro = OsRelease(id="debian", codename="zorro")
    found = lifecycle.notice(table, 180, channel, channel.images["app"], os=zorro, today=dt.date(2026, 1, 1))
    assert found == lifecycle.Notice(
        "debian 'zorro': no support dates known; add them under [tool.builder.lifecycle] or update distro-info-data",
        "zorro",
        None,
    )
    trixie = channel.images["app/trixie"]
    assert lifecycle.notice(table, 180, channel, trixie, os=None, today=dt.date(2026, 1, 1)) is None
