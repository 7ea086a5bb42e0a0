"""The recipe JSON Schema is generated from the model, committed, and agrees with the model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from builder.cli import main as cli
from builder.core import patterns, runtime
from builder.core.patterns import anchored
from builder.recipe import names, schema_files, vex_entry

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "recipes" / "recipe.schema.json"
OVERLAY_SCHEMA = REPO / "recipes" / "overlay.schema.json"


def test_committed_schema_is_up_to_date() -> None:
    assert cli.main(["--root", str(REPO), "schema", "--check"]) == 0
    assert json.loads(SCHEMA.read_text()) == schema_files.json_schema()
    assert json.loads(OVERLAY_SCHEMA.read_text()) == schema_files.overlay_json_schema()


@pytest.mark.parametrize(
    "path",
    sorted([*REPO.glob("recipes/[!_]*.yaml"), *REPO.glob("tests/fixtures/*/recipes/[!_]*.yaml")]),
    ids=lambda p: f"{p.parent.parent.name}/{p.name}",
)
def test_every_sample_recipe_validates_against_the_schema(path: Path) -> None:
    jsonschema.validate(yaml.safe_load(path.read_text()), json.loads(SCHEMA.read_text()))


def test_schema_rejects_what_the_model_rejects() -> None:
    schema = json.loads(SCHEMA.read_text())
    bad = {
        "name": "x",
        "description": "d",
        "version": "1.0.0",
        "distro": "debian",
        "from": {"image": "debian:12"},
        "pakages": [],
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    bad_user = {**bad, "user": {"name": "root", "uid": 1, "gid": 1}}
    bad_user.pop("pakages")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad_user, schema)


def test_the_sample_overlay_validates_and_a_typo_does_not() -> None:
    schema = json.loads(OVERLAY_SCHEMA.read_text())
    overlay = yaml.safe_load((REPO / "tests/fixtures/org-channel/recipes/_overlay.yaml").read_text())
    jsonschema.validate(overlay, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**overlay, "ca_certificate": []}, schema)


def test_a_recipe_without_a_name_validates() -> None:
    schema = json.loads(SCHEMA.read_text())
    recipe = {"description": "d", "version": "1.0.0", "distro": "debian", "from": "debian:bookworm-slim"}
    jsonschema.validate(recipe, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**recipe, "name": "Not A Name"}, schema)


def _schema_patterns(node: object) -> list[str]:
    if isinstance(node, list):
        return [found for item in node for found in _schema_patterns(item)]
    if not isinstance(node, dict):
        return []
    own = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
    own += list(node.get("patternProperties", {}))
    return own + [found for value in node.values() for found in _schema_patterns(value)]


def test_every_schema_pattern_is_a_validator_pattern() -> None:
    # One copy of each allow-list: the schemas anchor the very patterns the validators match.
    validators = {
        anchored(value)
        for module in (names, runtime, patterns, vex_entry)
        for value in vars(module).values()
        if isinstance(value, re.Pattern)
    }
    recipe, overlay = schema_files.json_schema(), schema_files.overlay_json_schema()
    found = set(_schema_patterns(recipe)) | set(_schema_patterns(overlay))
    assert len(found) >= 8
    assert sorted(found - validators) == []
