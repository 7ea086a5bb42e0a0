"""The catalog (base-images/index.json) as one typed model: hostile catalogs get one line, not a
traceback, from both of its readers; `builder catalog` writes only what changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from builder.cli import main as cli
from builder.release import catalog_index
from builder.signing import keys
from tests.unit.test_check_pins import NEW, REPO, entry, index, version

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
FIX = "pass --catalog PATH to the channel's base-images/index.json"
GOOD = entry("python", None, {"1": NEW}, version("1.0.0", NEW))


def _without(data: dict[str, object], key: str) -> dict[str, object]:
    return {k: v for k, v in data.items() if k != key}


HOSTILE: list[tuple[str, object, str]] = [
    ("top level not an object", ["not", "a", "mapping"], "top level: expected a JSON object"),
    ("no schema_version", _without(index(GOOD), "schema_version"), "schema_version: Field required"),
    (
        "a newer schema",
        {**index(GOOD), "schema_version": 2},
        "schema_version: 2 is not supported (this builder reads schema_version 1; use the builder release "
        "that wrote it)",
    ),
    ("no images", _without(index(GOOD), "images"), "images: Field required"),
    ("images not a list", {**index(GOOD), "images": {"python": GOOD}}, "images: Input should be a valid tuple"),
    ("an image not an object", index("python"), "images[0]: expected a JSON object"),
    ("an image without tags", index(_without(GOOD, "tags")), "images[0].tags: Field required"),
    ("an image without a repository", index(_without(GOOD, "repository")), "images[0].repository: Field required"),
    (
        "a repository that is no reference",
        index({**GOOD, "repository": "Not A Ref"}),
        "images[0].repository: 'Not A Ref' is not a valid image reference (expected NAME[:TAG][@DIGEST], "
        "e.g. debian:bookworm-slim)",
    ),
    (
        "a tag pointing at no digest",
        index({**GOOD, "tags": {"1": "latest"}}),
        "images[0].tags.1: 'latest' is not a sha256 digest (sha256: and 64 lowercase hex digits)",
    ),
    ("versions not a list", index({**GOOD, "versions": "1.0.0"}), "images[0].versions: Input should be a valid tuple"),
    (
        "a version without a digest",
        index(entry("python", None, {}, _without(version("1.0.0", NEW), "digest"))),
        "images[0].versions[0].digest: Field required",
    ),
    (
        "a version that is no version",
        index(entry("python", None, {}, version("one", NEW))),
        "images[0].versions[0].version: 'one' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0)",
    ),
    (
        "a size that is text",
        index(entry("python", None, {}, {**version("1.0.0", NEW), "size": "big"})),
        "images[0].versions[0].size: Input should be a valid integer, unable to parse string as an integer",
    ),
    (
        "an unknown form",
        index({**GOOD, "form": "slim"}),
        "images[0].form: Input should be 'hardened', 'distroless' or 'distroless-debug'",
    ),
    (
        "a runtime without its user",
        index({**GOOD, "runtime": {"verified": True}}),
        "images[0].runtime.user: Field required",
    ),
]


@pytest.mark.parametrize(("data", "expected"), [(d, e) for _, d, e in HOSTILE], ids=[i for i, _, _ in HOSTILE])
def test_check_pins_names_what_is_wrong_with_the_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: object, expected: str
) -> None:
    catalog = tmp_path / "index.json"
    catalog.write_text(json.dumps(data))
    (tmp_path / "Dockerfile").write_text(f"FROM {REPO}:1\n")
    assert cli.main(["check-pins", "--catalog", str(catalog), str(tmp_path / "Dockerfile")]) == 2
    assert capsys.readouterr().err.splitlines() == [f"error: {catalog}: not a channel catalog ({expected}); {FIX}"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ("", "Expecting value: line 1 column 1 (char 0)"),
        ("\udcff", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
    ],
)
def test_verify_names_what_is_wrong_with_the_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, reason: str
) -> None:
    key = keys.generate()
    keys.write_pair(key, "a password", tmp_path / "k.key", tmp_path / "k.pub")
    catalog = tmp_path / "index.json"
    catalog.write_bytes(text.encode("utf-8", "surrogateescape"))
    args = ["--root", str(tmp_path), "verify", "--key", str(tmp_path / "k.pub"), "--catalog", str(catalog)]
    assert cli.main([*args, f"{REPO}@{NEW}"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {catalog}: cannot read the channel catalog ({reason}); pass --catalog PATH to base-images/index.json"
    ]
    catalog.write_text(json.dumps({**index(GOOD), "images": [{**GOOD, "versions": [{"version": "1.0.0"}]}]}))
    assert cli.main([*args, f"{REPO}@{NEW}"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {catalog}: not a channel catalog (images[0].versions[0].digest: Field required); {FIX}"
    ]


def test_catalog_writes_only_what_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for part in ("pyproject.toml", "recipes", "base-images"):
        source = REPOSITORY_ROOT / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / part)
    index_json, readme = tmp_path / "base-images" / "index.json", tmp_path / "base-images" / "README.md"
    committed = index_json.read_bytes()
    readme.write_text("edited by hand\n")
    before = index_json.stat().st_mtime_ns
    assert cli.main(["--root", str(tmp_path), "catalog"]) == 0
    assert capsys.readouterr().out.splitlines() == ["wrote base-images/README.md", "unchanged base-images/index.json"]
    assert (index_json.read_bytes(), index_json.stat().st_mtime_ns) == (committed, before)
    written = readme.stat().st_mtime_ns
    assert cli.main(["--root", str(tmp_path), "catalog"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "unchanged base-images/README.md",
        "unchanged base-images/index.json",
    ]
    assert (readme.stat().st_mtime_ns, index_json.stat().st_mtime_ns) == (written, before)


def test_the_repository_is_kept_as_written_and_matched_as_pulled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written = "index.docker.io/base/python"
    catalog = tmp_path / "index.json"
    catalog.write_text(json.dumps(index(entry("python", None, {"1": NEW}, version("1.0.0", NEW), repository=written))))
    assert catalog_index.read(catalog).images[0].repository == written
    (tmp_path / "Dockerfile").write_text("FROM docker.io/base/python:1\n")
    assert cli.main(["check-pins", "--strict", "--catalog", str(catalog), str(tmp_path / "Dockerfile")]) == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        f"{tmp_path / 'Dockerfile'}:1: docker.io/base/python:1: tracking 1, now 1.0.0 ({NEW}) -> "
        f"docker.io/base/python:1@{NEW}"
    )
