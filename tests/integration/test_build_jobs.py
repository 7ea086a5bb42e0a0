"""Two independent images built at once (--jobs 2): both pushed and recorded, readable output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from builder.cli import main as cli
from builder.image import progress
from builder.image.engine import Engine
from tests.integration.test_build_faults import outcome_lines, recipe
from tests.support.channel import make_channel, pushed


def test_two_independent_images_build_side_by_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], engine: Engine, registry: str
) -> None:
    root = make_channel(
        tmp_path,
        registry,
        monkeypatch,
        {
            "one": recipe("one", extra="tests:\n  - {name: uid, run: [id, -u], stdout: '65532'}"),
            "two": recipe("two", packages="ca-certificates, netbase"),
        },
    )
    assert cli.main(["--root", str(root), "build", "--push", "--jobs", "2"]) == 0
    captured = capsys.readouterr()
    lines = outcome_lines(captured.out)
    for image in ("one", "two"):
        reference, _ = pushed(root, image)
        assert lines[image] == f"pushed: {reference}"
    assert "netbase" in {p.name for p in pushed(root, "two")[1].packages}
    # One short line per step, prefixed with its image; both had started before either ended.
    log = captured.err.splitlines()
    steps = [line for line in log if re.fullmatch(r"\[(one|two)\] step \d+/\d+ .*", line)]
    assert {line.split("]")[0] for line in steps} == {"[one", "[two"}
    assert max(len(line) for line in log) < 2 * progress.SHOWN
    ended = min(n for n, line in enumerate(log) if re.fullmatch(r"\[(one|two)\] pushed after \S+", line))
    assert {line.split("]")[0] for line in log[:ended] if "building FROM" in line} == {"[one", "[two"}
    header = captured.out.splitlines().index("result     time  image  detail")
    assert [row.split()[0] for row in captured.out.splitlines()[header + 1 : header + 3]] == ["pushed", "pushed"]
