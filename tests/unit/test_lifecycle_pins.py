"""check-pins advises a consumer whose FROM uses a line on a release near or past its end: which line or
variant to move to. Advice only: it never fails, even with --strict, and --fix never rewrites it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from builder.cli import main as cli
from builder.release import catalog_index, pins
from tests.unit.test_check_pins import NEW, OLD, TRIXIE, entry, index, version


def support(release: str, codename: str, phase: str, security: str, lts: str) -> dict[str, object]:
    return {
        "release": release,
        "distro": "debian",
        "codename": codename,
        "phase": phase,
        "security": security,
        "lts": lts,
        "extended": None,
    }


def catalog(phase: str = "stable", with_trixie: bool = True) -> catalog_index.Catalog:
    python = {
        **entry("python", None, {"1.0.1": NEW, "1": NEW}, version("1.0.1", NEW), version("1.0.0", OLD)),
        "support": support("Debian 12 (bookworm)", "bookworm", phase, "2026-07-11", "2028-06-30"),
    }
    trixie = {
        **entry("python/trixie", "trixie", {"1.0.0-trixie": TRIXIE}, version("1.0.0", TRIXIE)),
        "support": support("Debian 13 (trixie)", "trixie", "stable", "2028-08-09", "2030-06-30"),
    }
    return catalog_index.parse(index(python, *([trixie] if with_trixie else [])), "index.json")


MOVE = "move to python/trixie (Debian 13 (trixie)): registry.example.com/base/python:1.0.0-trixie"
ADVICE = [
    ("stable", "2026-01-11", True, None),  # 181 days before: outside the window
    (
        "stable",
        "2026-01-12",
        True,
        f"Debian 12 (bookworm): regular security support ends on 2026-07-11 (180 days); {MOVE}",
    ),
    (
        "lts",
        "2026-11-30",
        True,
        f"Debian 12 (bookworm): regular security support ended on 2026-07-11; LTS until 2028-06-30; {MOVE}",
    ),
    (
        "ended",
        "2034-01-01",
        False,
        "Debian 12 (bookworm): unsupported since 2028-06-30; the channel has no python line on a newer release yet",
    ),
]


@pytest.mark.parametrize(("phase", "day", "with_trixie", "message"), ADVICE)
def test_advice_on_a_fixed_day(tmp_path: Path, phase: str, day: str, with_trixie: bool, message: str | None) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        f"FROM registry.example.com/base/python:1.0.1@{NEW}\n"
        f"FROM registry.example.com/base/python:1.0.0-trixie@{TRIXIE}\n"
    )
    found = pins.check([dockerfile], catalog(phase, with_trixie), dt.date.fromisoformat(day))
    advice = [pin for pin in found if pin.kind == "lifecycle"]
    assert [(pin.line, pin.message) for pin in advice] == ([(1, message)] if message else [])
    assert not any(pin.fails(strict=True) or pin.replacement for pin in advice)


def test_the_cli_reports_advice_and_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "index.json"
    path.write_text(catalog("lts").model_dump_json())
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM registry.example.com/base/python:1.0.1@{NEW}\n")
    assert cli.main(["check-pins", "--strict", "--fix", "--catalog", str(path), str(dockerfile)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{dockerfile}:1: registry.example.com/base/python:1.0.1@{NEW}: Debian 12 (bookworm): regular security "
        f"support ended on 2026-07-11; LTS until 2028-06-30; {MOVE}",
        "0 outdated pin(s), 1 on a release near or past its end (advice)",
    ]
    assert dockerfile.read_text() == f"FROM registry.example.com/base/python:1.0.1@{NEW}\n"
    assert cli.main(["check-pins", "--json", "--catalog", str(path), str(dockerfile)]) == 0
    assert json.loads(capsys.readouterr().out)["findings"][0]["kind"] == "lifecycle"
