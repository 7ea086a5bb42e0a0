"""What would be built, in which order, and why: computed as data before anything runs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import semver

from builder.channel.candidates import Candidates
from builder.channel.lock import Lock
from builder.core.settings import Settings
from builder.dockerfile import render
from builder.recipe.graph import Channel
from builder.recipe.variants import spec_sha256

Resolver = Callable[[str], str]  # pull reference (tag) -> current digest


@dataclass(frozen=True)
class Step:
    image: str
    reasons: tuple[str, ...]
    base: str  # what it builds FROM, as pulled (tag)
    base_digest: str | None  # the upstream's current digest, when resolved

    @property
    def needed(self) -> bool:
        return bool(self.reasons)

    def as_json(self) -> dict[str, object]:
        return {
            "image": self.image,
            "build": self.needed,
            "reasons": list(self.reasons),
            "base": self.base,
            "base_digest": self.base_digest,
        }


@dataclass(frozen=True)
class Plan:
    levels: list[list[Step]] = field(default_factory=list)

    def steps(self) -> list[Step]:
        return [step for level in self.levels for step in level]

    def to_build(self) -> list[Step]:
        return [step for step in self.steps() if step.needed]

    def as_json(self) -> dict[str, object]:
        return {
            "levels": [[step.as_json() for step in level] for level in self.levels],
            # One GitHub Actions matrix per level: `strategy.matrix: ${{ fromJSON(...) }}`.
            "matrix": [{"image": ids} for ids in self.building_levels()],
        }

    def building_levels(self) -> list[list[str]]:
        """The image ids to build, level by level, parents first; levels with none left out."""
        return [ids for ids in ([s.image for s in level if s.needed] for level in self.levels) if ids]

    def outputs(self) -> dict[str, str]:
        """Step outputs for a CI job that builds the plan in order: `count` images, and
        `levels`, one line per level holding its image ids separated by spaces."""
        levels = self.building_levels()
        return {"count": str(sum(len(ids) for ids in levels)), "levels": "\n".join(" ".join(ids) for ids in levels)}

    def summary_markdown(self) -> str:
        levels = self.building_levels()
        lines = ["### builder plan", "", f"{sum(len(ids) for ids in levels)} image(s) to build, parents first:", ""]
        lines += [
            f"- level {number}: " + ", ".join(f"`{image}`" for image in ids)
            for number, ids in enumerate(levels, start=1)
        ]
        return "\n".join(lines)


def dockerfile_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Rendered:
    """What each image's recipe renders to now, with its lock's base and version: rendered once
    per run, though `plan --watch` and `build --watch` ask in the watch and again in the plan."""

    def __init__(self, settings: Settings, channel: Channel) -> None:
        self._settings = settings
        self._channel = channel
        self.read: dict[str, Lock | None] = {}  # local locks read so far (parents name their version)
        self._found: dict[str, tuple[Lock, str]] = {}

    def sha256(self, image_id: str, lock: Lock) -> str:
        known = self._found.get(image_id)
        if known is None or known[0] != lock:
            data = render.render_input(
                self._settings, self._channel, self._channel.images[image_id], lock, read=self.read
            )
            known = self._found[image_id] = (lock, dockerfile_sha256(render.render_dockerfile(data)))
        return known[1]


def make(
    settings: Settings,
    channel: Channel,
    selected: list[str],
    resolve: Resolver | None,
    *,
    force: bool = False,
    extra: dict[str, list[str]] | None = None,
    candidates: Candidates | None = None,
    rendered: Rendered | None = None,
) -> Plan:
    """Steps for the selected images and their ancestors, parents first.

    `resolve` looks up upstream digests (None: skip that question, e.g. offline); `extra`
    adds reasons found elsewhere (`builder watch`: package updates). Each image is compared
    with its open candidate when it has one (`candidates`), else with its lock. `rendered`: the
    Dockerfiles the run's watch rendered already.
    """
    locks = candidates or Candidates(settings)
    rendered = rendered or Rendered(settings, channel)
    wanted = channel.with_ancestors(set(selected))
    steps: dict[str, Step] = {}
    levels = []
    resolved: dict[str, str] = {}
    effective: dict[str, Lock | None] = {}
    for level in channel.levels(wanted):
        row = []
        for image_id in level:
            image = channel.images[image_id]
            lock = effective[image_id] = locks.effective(image, read=rendered.read)
            base, display = render.base_reference(settings, channel, image, read=rendered.read)
            reasons: list[str] = ["forced"] if force else []
            reasons += (extra or {}).get(image_id, [])
            digest = None
            parent = channel.parent(image)
            if parent is None and resolve is not None:
                key = str(base)
                if key not in resolved:
                    resolved[key] = resolve(key)
                digest = resolved[key]
            reasons += _reasons(
                channel,
                image_id,
                lock,
                rendered,
                digest=digest,
                display=display,
                parent_step=steps.get(parent.id) if parent else None,
                parent_lock=effective[parent.id] if parent else None,
            )  # parents come first
            step = Step(image_id, tuple(dict.fromkeys(reasons)), display, digest)
            steps[image_id] = step
            if image_id in selected or step.needed:
                row.append(step)
        if row:
            levels.append(row)
    return Plan(levels)


def _reasons(
    channel: Channel,
    image_id: str,
    lock: Lock | None,
    rendered: Rendered,
    *,
    digest: str | None,
    display: str,
    parent_step: Step | None,
    parent_lock: Lock | None,
) -> list[str]:
    image = channel.images[image_id]
    if lock is None or lock.result is None:
        return ["never built"]
    reasons = []
    if semver.Version.parse(image.recipe.version) > semver.Version.parse(lock.version):
        reasons.append(f"recipe version raised to {image.recipe.version}")
    if lock.recipe_sha256 != spec_sha256(image):
        reasons.append("recipe changed")
    if lock.base.reference != display:
        reasons.append(f"base changed: {lock.base.reference} -> {display}")
    elif digest is not None and digest != lock.base.digest:
        reasons.append(f"upstream digest moved: {lock.base.digest[:19]} -> {digest[:19]}")
    if lock.dockerfile_sha256 != rendered.sha256(image_id, lock):  # the recipe renders to another Dockerfile now
        reasons.append("Dockerfile changed")
    parent = channel.parent(image)
    if parent is not None:
        if parent_step is not None and parent_step.needed:
            reasons.append(f"parent {parent.id} is rebuilt")
        elif parent_lock and parent_lock.result and parent_lock.result.digest != lock.base.digest:
            reasons.append(f"parent {parent.id} was rebuilt")
    return reasons
