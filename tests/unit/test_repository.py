"""The repository holds sources only: no build artefacts, no downloaded packages."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTEFACT = re.compile(r".*\.(whl|egg|pyc|pyo|so)|.*\.tar\.gz|(.*/)?(dist|build|__pycache__|[^/]*\.egg-info)/.*")


def artefacts(paths: list[str]) -> list[str]:
    return [path for path in paths if ARTEFACT.fullmatch(path)]


@pytest.mark.allow_subprocess
def test_no_build_artefact_is_committed() -> None:
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert artefacts(listed.splitlines()) == []


def test_artefacts_are_recognised() -> None:
    planted = [
        "check_jsonschema-0.29.4-py3-none-any.whl",
        "builder.egg-info/PKG-INFO",
        "dist/builder-0.1.0.tar.gz",
        "builder/__pycache__/cli.cpython-311.pyc",
        "build/lib/builder/__init__.py",
    ]
    kept = ["builder/dockerfile/staging.py", "docs/catalog-site.png", "recipes/python.yaml", "builder/image/build.py"]
    assert artefacts(planted + kept) == planted
