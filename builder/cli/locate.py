"""Where the channel is: its settings (`--root`, or found upwards) and its catalog (`--catalog`, or its own).

Light on purpose: the consumer commands read only these, not the recipes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from builder.core import settings as settings_mod
from builder.core.errors import UsageError
from builder.core.settings import Settings

CATALOG_FILE = "index.json"


def settings(root: Path | None) -> Settings:
    """The channel's settings: `--root`, else the nearest folder whose pyproject.toml has [tool.builder]."""
    return settings_mod.load(root.resolve() if root else settings_mod.find_root(Path.cwd()))


def catalog_path(given: Path | None, config: Settings | None = None, root: Path | None = None) -> Path:
    """`--catalog PATH`, else this channel's catalog (from `config`, or the settings found from `root`)."""
    return given or (config or settings(root)).output_dir / CATALOG_FILE


def catalog(path: Path) -> Any:
    """A channel catalog (index.json) as published."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read the channel catalog ({exc}); "
                         "pass --catalog PATH to base-images/index.json") from None
