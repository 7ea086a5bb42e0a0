"""The recipe graph: which image builds FROM which, checked and put in build order."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from builder.core.errors import Problem, RecipeError, UsageError
from builder.recipe.load import LoadedRecipe
from builder.recipe.source import Document
from builder.recipe.variants import ImageSpec, expand


@dataclass(frozen=True)
class Channel:
    """Every image of the channel, with its parent edges; acyclic by construction."""

    images: dict[str, ImageSpec]
    recipes: dict[str, LoadedRecipe]

    def parent(self, image: ImageSpec) -> ImageSpec | None:
        parent_id = image.parent_id
        return self.images[parent_id] if parent_id else None

    def children(self, image_id: str) -> list[ImageSpec]:
        return [img for img in self.images.values() if img.parent_id == image_id]

    def root_of(self, image: ImageSpec) -> ImageSpec:
        """The image at the bottom of the chain, the one that names an upstream image."""
        while (parent := self.parent(image)) is not None:
            image = parent
        return image

    def levels(self, selected: set[str] | None = None) -> list[list[str]]:
        """Image ids by level: parents before children, independent images side by side."""
        depth: dict[str, int] = {}
        for image_id in self.images:
            chain = 0
            probe = self.images[image_id]
            while (parent := self.parent(probe)) is not None:
                chain += 1
                probe = parent
            depth[image_id] = chain
        wanted = selected if selected is not None else set(self.images)
        by_level: dict[int, list[str]] = {}
        for image_id in sorted(wanted):
            by_level.setdefault(depth[image_id], []).append(image_id)
        return [by_level[level] for level in sorted(by_level)]

    def with_ancestors(self, image_ids: set[str]) -> set[str]:
        result: set[str] = set()
        for image_id in image_ids:
            probe: ImageSpec | None = self.images[image_id]
            while probe is not None:
                result.add(probe.id)
                probe = self.parent(probe)
        return result


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


def build(loaded: list[LoadedRecipe]) -> Channel:
    images: dict[str, ImageSpec] = {}
    docs = {item.recipe.name: item for item in loaded}
    for item in loaded:
        for image in expand(item.recipe, item.source, item.inputs):
            images[image.id] = image
    problems: list[Problem] = []
    for image in images.values():
        problems.extend(_check_edge(image, images, docs))
    if problems:
        raise RecipeError("invalid recipe graph", tuple(problems))
    problems.extend(_find_cycles(images, docs))
    if problems:
        raise RecipeError("invalid recipe graph", tuple(problems))
    return Channel(images, docs)


def _from_path(image: ImageSpec) -> tuple[str | int, ...]:
    if image.variant is not None and image.variant.from_ is not None:
        index = image.recipe.variants.index(image.variant)
        return ("variants", index, "from")
    return ("from",)


def _check_edge(image: ImageSpec, images: dict[str, ImageSpec], docs: dict[str, LoadedRecipe]) -> list[Problem]:
    parent_id = image.parent_id
    if parent_id is None:
        return []
    doc = docs[image.name].document
    where = _from_path(image)
    parent = images.get(parent_id)
    if parent is None:
        return [_missing_parent(image, doc, where, docs)]
    problems = []
    hardening = parent.recipe.hardening
    if parent.final == "distroless":
        problems.append(
            doc.problem(
                where,
                f"{image.id} builds FROM {parent.id}, a distroless image: "
                "it has no shell or package manager to build with",
                "build FROM the hardened image of that recipe; a distroless "
                "image restates its ancestors' packages itself",
            )
        )
    elif hardening.remove_shells or hardening.remove_package_manager:
        problems.append(
            doc.problem(
                where,
                f"{image.id} builds FROM {parent.id}, which removes its "
                "shell or package manager, so nothing can be installed on it",
                "build FROM its parent instead, or keep them in the parent",
            )
        )
    if parent.recipe.distro != image.recipe.distro:
        problems.append(
            doc.problem(
                ("distro",),
                f"{image.id} is {image.recipe.distro} but builds FROM {parent.id}, which is {parent.recipe.distro}",
                f"set distro: {parent.recipe.distro}",
            )
        )
    mine, theirs = image.user, parent.user
    if mine != theirs and (mine.name == theirs.name or mine.uid == theirs.uid):
        problems.append(
            doc.problem(
                ("user",),
                f"user {mine.name} {mine.uid}:{mine.gid} clashes with "
                f"{theirs.name} {theirs.uid}:{theirs.gid} of {parent.id}",
                "reuse the parent's user exactly or pick another name and uid",
            )
        )
    return problems


def _missing_parent(
    image: ImageSpec, doc: Document, where: tuple[str | int, ...], docs: dict[str, LoadedRecipe]
) -> Problem:
    """`from: {recipe: ...}` names no recipe, or no variant of it: say so, with the closest name."""
    wanted, variant = str(image.from_.recipe), image.from_.variant
    if wanted not in docs:
        close = difflib.get_close_matches(wanted, sorted(docs), 1)
        hint = f"did you mean {close[0]!r}?" if close else f"add recipes/{wanted}.yaml or fix the name"
        return doc.problem((*where, "recipe"), f"there is no recipe {wanted!r} in this channel", hint)
    declared = [v.name for v in docs[wanted].recipe.variants]
    close = difflib.get_close_matches(str(variant), declared, 1)
    hint = f"did you mean {close[0]!r}?" if close else f"its variants: {', '.join(declared) or 'none'}"
    return doc.problem((*where, "variant"), f"recipe {wanted!r} has no variant {variant!r}", hint)


def _find_cycles(images: dict[str, ImageSpec], docs: dict[str, LoadedRecipe]) -> list[Problem]:
    problems: list[Problem] = []
    reported: set[frozenset[str]] = set()
    for start in sorted(images):
        path: list[str] = []
        probe: str | None = start
        while probe is not None and probe not in path:
            path.append(probe)
            probe = images[probe].parent_id
        if probe is None:
            continue
        cycle = path[path.index(probe) :]
        key = frozenset(cycle)
        if key in reported:
            continue
        reported.add(key)
        first = images[min(cycle)]
        chain = " -> ".join([*cycle[cycle.index(first.id) :], *cycle[: cycle.index(first.id)], first.id])
        problems.append(
            docs[first.name].document.problem(
                _from_path(first),
                f"recipes build FROM each other in a cycle: {chain}",
                "one of them must build FROM an upstream image",
            )
        )
    return problems
