"""Imports run down the flow: a phase package imports only itself and the packages below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import builder

# Lowest first. A module may import from its own package and from any package listed before it.
LAYERS = ("core", "recipe", "channel", "dockerfile", "upstream", "image", "release", "signing", "github", "cli")
PACKAGE = Path(builder.__file__).parent


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "builder" and len(parts) > 1 and parts[1] in LAYERS else None


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [f"builder.{alias.name}" for alias in node.names] if node.module == "builder" else [node.module]
            found += [(node.lineno, module) for module in modules]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def violations(root: Path) -> list[str]:
    wrong = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        own = relative.parts[0] if len(relative.parts) > 1 else None
        if own not in LAYERS:
            continue
        for line, module in _imports(path):
            target = _package_of(module)
            if target is not None and LAYERS.index(target) > LAYERS.index(own):
                wrong.append(f"builder/{relative}:{line}: {own} imports {module}, a later phase")
    return wrong


def test_every_module_lives_in_a_phase_package() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in {"__init__.py", "__main__.py"})
    assert loose == []


def test_imports_only_run_down_the_flow() -> None:
    assert violations(PACKAGE) == []


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    (tmp_path / "recipe").mkdir()
    (tmp_path / "recipe" / "model.py").write_text("from builder.image import engine\n", encoding="utf-8")
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "errors.py").write_text("from builder import cli\n", encoding="utf-8")
    assert violations(tmp_path) == [
        "builder/core/errors.py:1: core imports builder.cli, a later phase",
        "builder/recipe/model.py:1: recipe imports builder.image, a later phase",
    ]


@pytest.mark.parametrize("package", LAYERS)
def test_each_phase_package_says_what_it_does(package: str) -> None:
    init = PACKAGE / package / "__init__.py"
    assert ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}
