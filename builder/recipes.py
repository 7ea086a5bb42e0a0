"""Load recipes/*.yaml into validated models; every problem of every recipe, located."""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from builder import yamlsource
from builder.errors import Problem, RecipeError
from builder.model import Recipe
from builder.yamlsource import Document, Path_


@dataclass(frozen=True)
class LoadedRecipe:
    recipe: Recipe
    source: str
    document: Document


def load_file(path: Path, display: str) -> LoadedRecipe:
    """Load one recipe or raise RecipeError with all of its problems."""
    try:
        doc = yamlsource.load(path, display)
    except yamlsource.YamlProblems as exc:
        raise RecipeError(f"{display}: invalid recipe", tuple(exc.problems)) from None
    if not isinstance(doc.data, dict):
        problem = doc.problem((), "a recipe is a mapping of fields (name:, description:, ...)",
                              "see the recipe reference in README.md")
        raise RecipeError(f"{display}: invalid recipe", (problem,))
    distro = doc.data.get("distro")
    try:
        recipe = Recipe.model_validate(doc.data, context={"distro": distro}, by_alias=True)
    except ValidationError as exc:
        problems = tuple(sorted(_to_problem(doc, error) for error in exc.errors()))
        raise RecipeError(f"{display}: invalid recipe", problems) from None
    if recipe.name != path.stem:
        problem = doc.problem(("name",), f"{recipe.name!r} does not match the file name",
                              f"rename the file to {recipe.name}.yaml or set name: {path.stem}")
        raise RecipeError(f"{display}: invalid recipe", (problem,))
    return LoadedRecipe(recipe, display, doc)


def load_dir(directory: Path, root: Path) -> list[LoadedRecipe]:
    """Every recipe of the channel, sorted by name; all problems raised at once."""
    loaded: list[LoadedRecipe] = []
    problems: list[Problem] = []
    if not directory.is_dir():
        raise RecipeError(f"{_display(directory, root)}: no recipes folder",
                          (Problem(_display(directory, root), None, None, "",
                                   "no recipes folder", "create it and add NAME.yaml files"),))
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith(("_", ".")):
            continue  # reserved for channel-wide files, not image lines
        try:
            loaded.append(load_file(path, _display(path, root)))
        except RecipeError as exc:
            problems.extend(exc.problems)
    stray = sorted(p.name for p in directory.glob("*.yml"))
    problems.extend(Problem(_display(directory / name, root), None, None, "",
                            "recipes end in .yaml", f"rename it to {Path(name).stem}.yaml")
                    for name in stray)
    if problems:
        raise RecipeError("invalid recipes", tuple(problems))
    return loaded


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


_MESSAGES = {
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "int_from_float": "expected a whole number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected a single text value",
    "tuple_type": "expected a list, e.g. [a, b]",
    "list_type": "expected a list, e.g. [a, b]",
    "dict_type": "expected a mapping of key: value",
    "model_type": "expected a mapping of key: value",
    "model_attributes_type": "expected a mapping of key: value",
    "missing": "required field is missing",
}


def _to_problem(doc: Document, error: Any) -> Problem:
    loc: Path_ = tuple(part for part in error["loc"] if part != "[key]")
    kind = error["type"]
    value = error.get("input")
    hint = ""
    if kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
    elif kind == "extra_forbidden":
        message = f"unknown field {loc[-1]!r}"
        hint = _did_you_mean(str(loc[-1]), _fields_at(loc[:-1]))
    elif kind == "literal_error":
        allowed = str(error["ctx"]["expected"]).replace("'", "")
        message = f"{value!r} is not one of {allowed}"
        close = difflib.get_close_matches(str(value), allowed.replace(" or ", ", ").split(", "), 1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {allowed}"
    elif kind == "missing":
        message = _MESSAGES[kind]
        hint = f"add `{loc[-1]}:`" if loc else ""
    elif kind in _MESSAGES:
        message = _MESSAGES[kind]
        if isinstance(value, str):
            message += f", got {value!r}"
    elif kind in ("too_short", "too_long"):
        message = "must not be empty" if kind == "too_short" else "has too many items"
    elif kind in ("greater_than_equal", "less_than_equal"):
        message = f"{value} is out of range ({error['msg'].lower()})"
    else:
        message = str(error["msg"])
    return doc.problem(loc, message, hint)


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, 1, 0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    return "allowed fields: " + ", ".join(choices) if choices else "remove it"


def _fields_at(loc: Path_) -> list[str]:
    """The field names allowed at `loc`, by walking the model's type hints."""
    model: Any = Recipe
    for part in loc:
        if isinstance(part, int):
            continue
        fields = model.model_fields
        field = next((f for n, f in fields.items() if (f.alias or n) == part), None)
        if field is None:
            return []
        nested = _model_in(field.annotation)
        if nested is None:
            return []
        model = nested
    return sorted(f.alias or n for n, f in model.model_fields.items())


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, tuple, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
