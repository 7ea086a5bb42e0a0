"""check-pins: consumers' FROM lines against the channel catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.cli import main as cli
from builder.release import pins_fix

OLD, NEW, TRIXIE = "sha256:" + "a" * 64, "sha256:" + "b" * 64, "sha256:" + "c" * 64
REPO = "registry.example.com/base/python"


def version(number: str, digest: str) -> dict[str, object]:
    """A release as index.json lists it."""
    return {
        "version": number,
        "digest": digest,
        "date": "2026-11-30",
        "packages": 90,
        "size": 1000,
        "cves_fixed": [],
        "sbom": None,
    }


def entry(
    image: str, variant: str | None, tags: dict[str, str], *versions: dict[str, object], repository: str = REPO
) -> dict[str, object]:
    """An image as index.json lists it (as a catalog written before forms and runtime profiles)."""
    return {
        "image": image,
        "name": image.partition("/")[0],
        "variant": variant,
        "repository": repository,
        "description": "",
        "current": versions[0]["version"] if versions else "1.0.0",
        "tags": tags,
        "versions": list(versions),
    }


def index(*images: object) -> dict[str, object]:
    return {"schema_version": 1, "registry": "registry.example.com", "namespace": "base", "images": list(images)}


INDEX = index(
    entry(
        "python",
        None,
        {"1.0.0": OLD, "1.0.1": NEW, "1.0": NEW, "1": NEW, "latest": NEW},
        version("1.0.1", NEW),
        version("1.0.0", OLD),
    ),
    entry("python/trixie", "trixie", {"1.0.0-trixie": TRIXIE, "trixie": TRIXIE}, version("1.0.0", TRIXIE)),
)


@pytest.fixture(autouse=True)
def registry_has_them(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The registry `--fix` looks digests up in: it has every digest of INDEX (tests take some away)."""
    present = {f"{REPO}@{digest}" for digest in (OLD, NEW, TRIXIE)}
    monkeypatch.setattr(pins_fix, "registry_exists", lambda: present.__contains__)
    return present


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    path = tmp_path / "index.json"
    path.write_text(json.dumps(INDEX))
    return path


def run(catalog: Path, *paths: Path, fix: bool = False) -> int:
    return cli.main(["check-pins", "--catalog", str(catalog), *map(str, paths), *(["--fix"] if fix else [])])


def test_outdated_pins_are_reported_and_fixed(
    tmp_path: Path, catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = tmp_path / "app" / "Dockerfile"
    app.parent.mkdir()
    app.write_text(
        f"FROM {REPO}:1@{OLD} AS build\nRUN make\nFROM --platform=linux/amd64 {REPO}:1.0.0\n"
        f"FROM {REPO}:trixie@{TRIXIE}\nFROM build\nFROM other.example/x:1\n"
    )
    assert run(catalog, tmp_path) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        f"{app}:1: {REPO}:1@{OLD}: pinned to 1.0.0; 1 now points at 1.0.1 -> {REPO}:1@{NEW}",
        f"{app}:3: {REPO}:1.0.0: 1.0.0 is outdated: 1.0.1 is the newest 1.x -> {REPO}:1.0.1@{NEW}",
        "2 outdated pin(s)",
    ]
    assert run(catalog, app, fix=True) == 0
    assert app.read_text() == (
        f"FROM {REPO}:1@{NEW} AS build\nRUN make\n"
        f"FROM --platform=linux/amd64 {REPO}:1.0.1@{NEW}\n"
        f"FROM {REPO}:trixie@{TRIXIE}\nFROM build\nFROM other.example/x:1\n"
    )
    capsys.readouterr()
    assert run(catalog, app) == 0
    assert capsys.readouterr().out.strip() == "0 outdated pin(s)"


def test_unpinned_moving_tag_is_reported(tmp_path: Path, catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {REPO}:latest\n")
    assert run(catalog, tmp_path / "Dockerfile") == 1
    assert (
        capsys.readouterr()
        .out.splitlines()[0]
        .endswith(f"not pinned by digest; latest is 1.0.1 -> {REPO}:latest@{NEW}")
    )


def test_missing_catalog_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Dockerfile").write_text("FROM x:1\n")
    assert run(tmp_path / "nope.json", tmp_path / "Dockerfile") == 2
    assert "cannot read the channel catalog" in capsys.readouterr().err
