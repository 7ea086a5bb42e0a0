"""Load recipes/*.yaml into validated models; every problem of every recipe, located."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from builder.core.errors import Problem, RecipeError
from builder.core.facts import InputFile
from builder.recipe import inputs, names, overlay
from builder.recipe import source as yamlsource
from builder.recipe.model import Recipe
from builder.recipe.problems import to_problem
from builder.recipe.source import Document, Origin


@dataclass(frozen=True)
class LoadedRecipe:
    recipe: Recipe
    source: str
    document: Document
    # Where merged list items came from, when not from this recipe at the same path.
    origins: dict[tuple[str | int, ...], Origin] = field(default_factory=dict)
    inputs: tuple[InputFile, ...] = ()  # the committed files it uses, resolved and hashed

    def origin(self, path: tuple[str | int, ...]) -> Origin:
        """The document and path where the value at `path` of the merged recipe was written."""
        doc, base = self.origins.get(path[:2], (self.document, path[:2]))
        return doc, (*base, *path[2:])


def load_file(path: Path, display: str) -> LoadedRecipe:
    """Load one recipe or raise RecipeError with all of its problems."""
    try:
        doc = yamlsource.load(path, display)
    except yamlsource.YamlProblems as exc:
        # A refused merge or duplicate key must not hide an unknown field until the next run.
        unknown = _unknown_fields(exc.document) if exc.document is not None else []
        raise RecipeError(f"{display}: invalid recipe", tuple(sorted([*exc.problems, *unknown]))) from None
    if not isinstance(doc.data, dict):
        problem = doc.problem(
            (),
            "a recipe is a mapping of fields (name:, description:, ...)",
            "see the recipe reference in docs/recipes.md",
        )
        raise RecipeError(f"{display}: invalid recipe", (problem,))
    distro = doc.data.get("distro")
    data = doc.data
    if "name" not in data:  # the image is named after its file
        try:
            data = {"name": names.image_name(path.stem), **data}
        except ValueError as exc:
            problem = Problem(
                display,
                None,
                None,
                "",
                f"without `name:` the image is named after the file, but {exc}",
                "rename the file, or give `name:`",
            )
            raise RecipeError(f"{display}: invalid recipe", (problem,)) from None
    try:
        recipe = Recipe.model_validate(data, context={"distro": distro}, by_alias=True)
    except ValidationError as exc:
        problems = tuple(sorted(to_problem(doc, error, Recipe) for error in exc.errors()))
        raise RecipeError(f"{display}: invalid recipe", problems) from None
    if recipe.name != path.stem:
        problem = doc.problem(
            ("name",),
            f"{recipe.name!r} does not match the file name",
            f"rename the file to {recipe.name}.yaml or set name: {path.stem}",
        )
        raise RecipeError(f"{display}: invalid recipe", (problem,))
    return LoadedRecipe(recipe, display, doc)


def _unknown_fields(doc: Document) -> list[Problem]:
    """The unknown-field problems of what was read of a file that has YAML problems."""
    if not isinstance(doc.data, dict):
        return []
    try:
        Recipe.model_validate(doc.data, context={"distro": doc.data.get("distro")}, by_alias=True)
    except ValidationError as exc:
        return [to_problem(doc, error, Recipe) for error in exc.errors() if error["type"] == "extra_forbidden"]
    return []


def load_dir(directory: Path, root: Path) -> list[LoadedRecipe]:
    """Every recipe of the channel, sorted by name; all problems raised at once."""
    loaded: list[LoadedRecipe] = []
    problems: list[Problem] = []
    if not directory.is_dir():
        # Shown whole: outside a channel, the folder looked in is the news.
        raise RecipeError(
            f"{directory}: no recipes folder",
            (
                Problem(
                    str(directory),
                    None,
                    None,
                    "",
                    "no recipes folder here",
                    "run builder inside a channel repository, one whose pyproject.toml has "
                    "[tool.builder], or give its path with --root PATH; a new channel starts "
                    "with recipes/NAME.yaml files",
                ),
            ),
        )
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith(("_", ".")):
            continue  # reserved for channel-wide files, not image lines
        try:
            loaded.append(load_file(path, _display(path, root)))
        except RecipeError as exc:
            problems.extend(exc.problems)
    stray = sorted(p.name for p in directory.glob("*.yml"))
    problems.extend(
        Problem(
            _display(directory / name, root),
            None,
            None,
            "",
            "recipes end in .yaml",
            f"rename it to {Path(name).stem}.yaml",
        )
        for name in stray
    )
    if problems:
        raise RecipeError("invalid recipes", tuple(problems))
    found = overlay.load(directory / overlay.OVERLAY_NAME, _display(directory / overlay.OVERLAY_NAME, root))
    finished: list[LoadedRecipe] = []
    resolver = inputs.Resolver(root)
    for item in loaded:
        try:
            merged = item
            if found is not None:
                recipe, origins = overlay.apply(found, item.recipe, item.document)
                merged = LoadedRecipe(recipe, item.source, item.document, origins)
            finished.append(
                LoadedRecipe(
                    merged.recipe,
                    merged.source,
                    merged.document,
                    merged.origins,
                    resolver.resolve(merged.recipe, merged.origin),
                )
            )
        except RecipeError as exc:
            problems.extend(exc.problems)
    if problems:
        raise RecipeError("invalid recipes", tuple(problems))
    return finished


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
