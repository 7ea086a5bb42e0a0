"""The JSON Schemas written beside the recipes for editors (`builder schema`), and whether they are stale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from builder.core.files import read_if_exists

RECIPE_SCHEMA = "recipe.schema.json"
OVERLAY_SCHEMA = "overlay.schema.json"


def texts(recipes_dir: Path, recipe: dict[str, Any], overlay: dict[str, Any]) -> dict[Path, str]:
    """Each schema file with the text it should hold."""
    schemas = {recipes_dir / RECIPE_SCHEMA: recipe, recipes_dir / OVERLAY_SCHEMA: overlay}
    return {path: json.dumps(schema, indent=2, sort_keys=True) + "\n" for path, schema in schemas.items()}


def stale(expected: dict[Path, str]) -> list[Path]:
    """The schema files whose committed text differs from what the model gives."""
    return [path for path, text in expected.items() if read_if_exists(path) != text]
