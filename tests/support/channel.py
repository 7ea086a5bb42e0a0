"""Scratch channels: a channel loaded in one call, a copy of the sample recipes pushing to its own namespace."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from builder.channel import layout
from builder.channel import lock as lockfile
from builder.core import settings
from builder.recipe import graph
from builder.recipe import load as recipes
from tests.support import cleanup

REPO = Path(__file__).resolve().parents[2]


def load_channel(root: Path, environ: Mapping[str, str] | None = None) -> tuple[settings.Settings, graph.Channel]:
    """The settings and the validated channel of the checkout at `root` (BUILDER_* read from `environ`,
    os.environ when None)."""
    config = settings.load(root, environ)
    return config, graph.build(recipes.load_dir(config.recipes_dir, root))


def make_channel(where: Path, registry: str, patch: pytest.MonkeyPatch, recipes: dict[str, str] | None = None) -> Path:
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


def read_github_outputs(path: Path) -> dict[str, str]:
    """Step outputs as GitHub Actions reads the file $GITHUB_OUTPUT names: `name=value` lines and
    `name<<DELIMITER` blocks that end at a line holding the delimiter alone."""
    outputs: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").split("\n")
    at = 0
    while at < len(lines) and lines[at]:
        if "<<" in lines[at] and ("=" not in lines[at] or lines[at].index("<<") < lines[at].index("=")):
            name, delimiter = lines[at].split("<<", 1)
            end = lines.index(delimiter, at + 1)  # ValueError: an unterminated block, as GitHub refuses it
            outputs[name] = "\n".join(lines[at + 1 : end])
            at = end + 1
        else:
            name, value = lines[at].split("=", 1)
            outputs[name] = value
            at += 1
    return outputs
