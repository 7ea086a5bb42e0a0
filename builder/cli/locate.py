"""Where the channel is: its settings (`--root`, or found upwards) and its catalog (`--catalog`, or its own).

Light on purpose: the consumer commands read only these, not the recipes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from builder.core import settings as settings_mod
from builder.core.settings import Settings

if TYPE_CHECKING:
    from builder.release.catalog_index import Catalog

CATALOG_FILE = "index.json"


def settings(root: Path | None) -> Settings:
    """The channel's settings: `--root`, else the nearest folder whose pyproject.toml has [tool.builder]."""
    return settings_mod.load(root.resolve() if root else settings_mod.find_root(Path.cwd()))


def catalog_path(given: Path | None, config: Settings | None = None, root: Path | None = None) -> Path:
    """`--catalog PATH`, else this channel's catalog (from `config`, or the settings found from `root`)."""
    return given or (config or settings(root)).output_dir / CATALOG_FILE


def catalog(path: Path) -> Catalog:
    """A channel catalog (index.json) as published; UsageError naming the field when it is not one."""
    from builder.release import catalog_index  # noqa: PLC0415 (pydantic models: only the commands that read it)

    return catalog_index.read(path)
