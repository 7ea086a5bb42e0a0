"""Start-up stays light: importing the CLI loads no engine, git, HTTP, crypto or template library.

A behaviour check, not a timing threshold: each command's module is imported only when it runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("docker", "git", "requests", "cryptography", "jinja2", "nacl", "pydantic")


def heavy_modules_after(statement: str) -> list[str]:
    """The heavy top-level packages in sys.modules after `statement`, in a fresh interpreter."""
    probe = f"{statement}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return [name for name in json.loads(out) if name in HEAVY]


@pytest.mark.allow_subprocess
def test_importing_the_cli_loads_nothing_heavy() -> None:
    assert heavy_modules_after("import builder.cli.main") == []


@pytest.mark.allow_subprocess
def test_parsing_a_command_line_loads_nothing_heavy() -> None:
    assert heavy_modules_after("from builder.cli import arguments\narguments.parse(['build', '--push'])") == []


@pytest.mark.allow_subprocess
def test_rendering_loads_no_engine_git_or_http() -> None:
    assert heavy_modules_after("import builder.cli.recipe_commands") == ["cryptography", "jinja2", "pydantic"]


@pytest.mark.allow_subprocess
def test_checking_pins_loads_no_recipes_engine_git_or_http() -> None:
    # A consumer's CI runs it: the catalog and the Dockerfiles are all it reads.
    assert heavy_modules_after("import builder.cli.pins_command") == ["pydantic"]


@pytest.mark.allow_subprocess
def test_the_probe_sees_heavy_imports() -> None:
    assert heavy_modules_after("import builder.cli.build_commands") == [
        "cryptography",
        "docker",
        "git",
        "jinja2",
        "pydantic",
        "requests",
    ]
