"""Pydantic validation errors as located, readable Problems: file:line:col: field: what (fix)."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel

from builder.core.errors import Problem
from builder.recipe.source import Document, Path_

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


class FieldError(ValueError):
    """A model-wide check's finding, raised with the path (under the model) of the field at fault."""

    def __init__(self, path: Path_, message: str) -> None:
        super().__init__(message)
        self.path = path


def error_path(error: Any) -> Path_:
    """Where a pydantic error belongs: its location, and under it the field a FieldError names."""
    loc: Path_ = tuple(part for part in error["loc"] if part != "[key]")
    cause = (error.get("ctx") or {}).get("error")
    return (*loc, *cause.path) if isinstance(cause, FieldError) else loc


def to_problem(doc: Document, error: Any, model: type[BaseModel], path: Path_ | None = None) -> Problem:
    """One pydantic error as a located Problem; `model` is what was validated (for hints);
    `path` is where it was written in `doc` when not at `error_path(error)`."""
    loc = error_path(error) if path is None else path
    kind = error["type"]
    value = error.get("input")
    hint = ""
    if kind == "value_error":
        message = str(error["msg"]).removeprefix("Value error, ")
    elif kind == "extra_forbidden":
        message = f"unknown field {loc[-1]!r}"
        hint = _did_you_mean(str(loc[-1]), _fields_at(model, loc[:-1]))
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


def _fields_at(root: type[BaseModel], loc: Path_) -> list[str]:
    """The field names allowed at `loc`, by walking the model's type hints."""
    model: Any = root
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
