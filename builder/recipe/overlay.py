"""recipes/_overlay.yaml: what an organization adds to every recipe, without forking any.

Merge rules: lists append, the overlay's items first (repositories, CA certificates, files,
packages); maps merge (labels). The same item twice is kept once. Two different values
for one label key, one file destination or one repository (URL and suite) are an error
that names both places.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from builder.core.errors import Problem, RecipeError
from builder.recipe import source
from builder.recipe.model import FileEntry, Overlay, Recipe, Repository
from builder.recipe.problems import error_path, to_problem
from builder.recipe.source import Origin

OVERLAY_NAME = "_overlay.yaml"


@dataclass(frozen=True)
class LoadedOverlay:
    overlay: Overlay
    document: source.Document


def load(path: Path, display: str) -> LoadedOverlay | None:
    """The channel's overlay, or None when there is none."""
    if not path.exists():
        return None
    try:
        doc = source.load(path, display)
    except source.YamlProblems as exc:
        raise RecipeError(f"{display}: invalid overlay", tuple(exc.problems)) from None
    if not isinstance(doc.data, dict):
        problem = doc.problem(
            (),
            "the overlay is a mapping of fields (repositories:, ca_certificates:, files:, packages:, labels:)",
            "see docs/overlays.md",
        )
        raise RecipeError(f"{display}: invalid overlay", (problem,))
    try:
        overlay = Overlay.model_validate(doc.data, by_alias=True)
    except ValidationError as exc:
        problems = tuple(sorted(to_problem(doc, error, Overlay) for error in exc.errors()))
        raise RecipeError(f"{display}: invalid overlay", problems) from None
    return LoadedOverlay(overlay, doc)


def apply(
    loaded_overlay: LoadedOverlay, recipe: Recipe, rdoc: source.Document
) -> tuple[Recipe, dict[tuple[str | int, ...], Origin]]:
    """The recipe with the overlay merged in, and where each merged list item was written.

    RecipeError naming both sides on a conflict.
    """
    overlay, odoc = loaded_overlay.overlay, loaded_overlay.document
    problems: list[Problem] = []
    origins: dict[tuple[str | int, ...], Origin] = {}

    def merge_list(
        field: str, ours: tuple[Any, ...], theirs: list[tuple[int, Any]], key: Callable[[Any], Hashable]
    ) -> list[Any]:
        merged: list[Any] = []
        by_key: dict[Hashable, tuple[Any, Origin]] = {}
        sides: list[tuple[Any, Origin]] = [(value, (odoc, (field, i))) for i, value in theirs]
        sides += [(value, (rdoc, (field, i))) for i, value in enumerate(ours)]
        for value, origin in sides:
            seen = by_key.get(key(value))
            if seen is None:
                by_key[key(value)] = (value, origin)
                origins[(field, len(merged))] = origin
                merged.append(value)
            elif seen[0] != value:
                problems.append(_conflict(origin, seen[1], f"{field} entry {key(value)} differs"))
        return merged

    wanted = [(i, r.for_recipe()) for i, r in enumerate(overlay.repositories) if r.distro in (None, recipe.distro)]
    repositories = merge_list("repositories", recipe.repositories, wanted, _repository_key)
    certificates = merge_list("ca_certificates", recipe.ca_certificates, list(enumerate(overlay.ca_certificates)), str)
    files = merge_list("files", recipe.files, list(enumerate(overlay.files)), _file_key)
    packages = merge_list("packages", recipe.packages, list(enumerate(overlay.packages)), str)
    labels = dict(overlay.labels)
    for key, value in recipe.labels.items():
        if key in labels and labels[key] != value:
            problems.append(
                _conflict(
                    (rdoc, ("labels", key)),
                    (odoc, ("labels", key)),
                    f"label {key} is {value!r} here and {labels[key]!r}",
                )
            )
        labels[key] = value
    for index, variant in enumerate(recipe.variants):
        for key, value in variant.labels.items():
            if key in overlay.labels and overlay.labels[key] != value:
                problems.append(
                    _conflict(
                        (rdoc, ("variants", index, "labels", key)),
                        (odoc, ("labels", key)),
                        f"label {key} is {value!r} here and {overlay.labels[key]!r}",
                    )
                )
    if problems:
        raise RecipeError(f"{rdoc.file}: conflicts with the overlay", tuple(problems))
    data = recipe.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data.update(
        repositories=[r.model_dump(mode="json", exclude_defaults=True) for r in repositories],
        ca_certificates=certificates,
        files=[f.model_dump(mode="json", exclude_defaults=True) for f in files],
        packages=packages,
        labels=labels,
    )
    try:
        merged = Recipe.model_validate(data, context={"distro": recipe.distro}, by_alias=True)
    except ValidationError as exc:
        found = sorted(_located(error, rdoc, origins) for error in exc.errors())
        raise RecipeError(
            f"{rdoc.file}: invalid with the overlay",
            tuple(replace(p, hint=_with_overlay(p.hint, odoc.file)) for p in found),
        ) from None
    return merged, origins


def _located(error: Any, rdoc: source.Document, origins: dict[tuple[str | int, ...], Origin]) -> Problem:
    """The error at the place its value was written: the overlay, for what the overlay added."""
    loc = error_path(error)
    doc, path = origins.get(loc[:2], (rdoc, loc[:2]))
    return to_problem(doc, error, Recipe, (*path, *loc[2:]))


def _repository_key(repo: Repository) -> Hashable:
    return f"{repo.url} {repo.suite or ''}".strip()


def _file_key(entry: FileEntry) -> Hashable:
    return entry.destination


def _conflict(here: Origin, there: Origin, what: str) -> Problem:
    doc, path = here
    other_doc, other_path = there
    return doc.problem(
        path,
        f"{what} in {other_doc.where(other_path)}",
        "lists append and maps merge, but one key cannot have two values: keep one",
    )


def _with_overlay(hint: str, overlay_file: str) -> str:
    note = f"after merging {overlay_file}"
    return f"{hint}; {note}" if hint else note
