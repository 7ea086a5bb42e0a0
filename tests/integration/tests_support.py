"""Helpers shared by the integration tests."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def make_channel(where: Path, registry: str, patch: pytest.MonkeyPatch,
                 recipes: dict[str, str] | None = None) -> Path:
    """A scratch channel pushing to its own namespace: the sample recipes, or `recipes`."""
    root = where / "channel"
    root.mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    if recipes is None:
        shutil.copytree(REPO / "recipes", root / "recipes")
    else:
        (root / "recipes").mkdir()
        for name, text in recipes.items():
            (root / "recipes" / f"{name}.yaml").write_text(text, encoding="utf-8")
    patch.setenv("BUILDER_REGISTRY", registry)
    patch.setenv("BUILDER_NAMESPACE", f"test-{secrets.token_hex(4)}")
    patch.setenv("BUILDER_UPSTREAM_MIRRORS", f"docker.io={registry}")
    return root
