"""What most commands start with: the channel's settings and recipes. The commands themselves live in
`*_commands.py` and `pins_command.py`, each imported only when it runs (`builder.cli.main`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from builder.cli.locate import settings
from builder.core.settings import Settings
from builder.recipe import graph
from builder.recipe import load as recipes
from builder.recipe.graph import Channel


@dataclass(frozen=True)
class Context:
    settings: Settings
    channel: Channel


def load(root: Path | None) -> Context:
    loaded = settings(root)
    return Context(loaded, graph.build(recipes.load_dir(loaded.recipes_dir, loaded.root)))
