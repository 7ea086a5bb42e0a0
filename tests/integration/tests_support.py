"""Helpers shared by the integration tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from builder.channel import layout
from builder.channel import lock as lockfile
from builder.core import settings
from tests import cleanup

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
    namespace = cleanup.scratch("test")
    patch.setenv("BUILDER_NAMESPACE", namespace)
    patch.setenv("BUILDER_UPSTREAM_MIRRORS", f"docker.io={registry}")
    return root


def pushed(root: Path, image_id: str) -> tuple[str, lockfile.Lock]:
    """The pushed image of `image_id` in the channel at `root`: its digest reference and lock."""
    config = settings.load(root)
    lock = lockfile.read(config.output_dir / image_id / layout.LOCK)
    assert lock is not None, f"{image_id} has no lock"
    assert lock.result is not None, f"{image_id} was not pushed"
    return f"{lock.result.repository}@{lock.result.digest}", lock
