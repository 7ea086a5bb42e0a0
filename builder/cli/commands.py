"""What every command starts with: the channel's settings and recipes, the images its NAME arguments select,
a channel catalog. The commands themselves live in `*_commands.py`, each loaded only when it runs."""

from __future__ import annotations

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.core import settings as settings_mod
from builder.core.errors import UsageError
from builder.core.settings import Settings
from builder.recipe import graph
from builder.recipe import load as recipes
from builder.recipe.graph import Channel

CATALOG_FILE = "index.json"


@dataclass(frozen=True)
class Context:
    settings: Settings
    channel: Channel


def settings(root: Path | None) -> Settings:
    """The channel's settings: `--root`, else the nearest folder whose pyproject.toml has [tool.builder]."""
    return settings_mod.load(root.resolve() if root else settings_mod.find_root(Path.cwd()))


def load(root: Path | None) -> Context:
    loaded = settings(root)
    return Context(loaded, graph.build(recipes.load_dir(loaded.recipes_dir, loaded.root)))


def select(channel: Channel, wanted: Sequence[str], *, exact: bool = False) -> list[str]:
    """Image ids for NAME (its whole line) or NAME/VARIANT arguments; every image when none are given.

    `exact`: each argument is one image id, so NAME is the line's main image alone.
    """
    if not wanted:
        return sorted(channel.images)
    selected: set[str] = set()
    for item in wanted:
        matches = {i for i in channel.images if i == item or (not exact and i.split("/")[0] == item)}
        if not matches:
            close = difflib.get_close_matches(item, sorted(channel.images), 1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"no image named {item!r} in the channel{hint}")
        selected |= matches
    return sorted(selected)


_select = select  # its earlier, private name


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
