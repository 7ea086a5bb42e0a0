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


def json_schema() -> dict[str, Any]:
    from builder.recipe import model  # noqa: PLC0415 - pydantic: the CLI names these files without loading it

    schema = model.Recipe.model_json_schema(by_alias=True)
    schema["required"].remove("name")  # recipes/NAME.yaml names the image when `name:` is left out
    # `from: debian:bookworm-slim` is accepted as shorthand for `from: {image: ...}`.
    shorthand = {"type": "string", "description": "Upstream image by tag (shorthand for {image: ...})"}
    schema["properties"]["from"] = {"anyOf": [shorthand, {"$ref": "#/$defs/FromSpec"}]}
    variant_from = schema["$defs"]["Variant"]["properties"]["from"]
    variant_from["anyOf"] = [shorthand, *variant_from["anyOf"]]
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/base-images/builder/schema/recipe.schema.json"
    return schema


def overlay_json_schema() -> dict[str, Any]:
    from builder.recipe import model  # noqa: PLC0415 - as above

    schema = model.Overlay.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/base-images/builder/schema/overlay.schema.json"
    return schema
