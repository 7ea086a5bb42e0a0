"""The plan: levels, and the reason each image would be built."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.channel import lock as lockfile
from builder.channel.layout import ImageFiles
from builder.channel.lock import Lock
from builder.core import settings
from builder.core.facts import BaseLock, ImageLock
from builder.dockerfile import render
from builder.image import plan
from builder.recipe import graph
from builder.recipe.variants import spec_sha256
from tests.support.channel import load_channel

BASE = "name: base\ndescription: b\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"
APP = "name: app\ndescription: a\nversion: 1.0.0\ndistro: debian\nfrom: {recipe: base}\n"
OTHER = "name: other\ndescription: o\nversion: 1.0.0\ndistro: debian\nfrom: debian:trixie-slim\n"
UPSTREAM = "sha256:" + "1" * 64


def load(root: Path) -> tuple[settings.Settings, graph.Channel]:
    return load_channel(root, environ={})


def record(root: Path, image_id: str, base_digest: str, digest: str) -> None:
    """Write the lock a successful build --push would have written."""
    config, channel = load(root)
    image = channel.images[image_id]
    _, display = render.base_reference(config, channel, image)
    pinned = render.render_input(config, channel, image)
    pinned = render.RenderInput(image, pinned.base.with_digest(base_digest), display, pinned.inherited_user)
    text = render.render_dockerfile(pinned)
    lock = Lock(
        image=image_id,
        version="1.0.0",
        recipe_sha256=spec_sha256(image),
        dockerfile_sha256=plan.dockerfile_sha256(text),
        base=BaseLock(reference=display, digest=base_digest),
        result=ImageLock(
            repository=config.image_repository(image.name), tag="candidate", digest=digest, image_id=digest, size=1
        ),
    )
    lockfile.write(ImageFiles.of(config, image).lock, lock)


def make_channel(tmp_path: Path) -> Path:
    (tmp_path / "recipes").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.builder]\n")
    for name, text in {"base": BASE, "app": APP, "other": OTHER}.items():
        (tmp_path / "recipes" / f"{name}.yaml").write_text(text)
    return tmp_path


def reasons(root: Path, resolve: plan.Resolver | None = None) -> dict[str, tuple[str, ...]]:
    config, channel = load(root)
    made = plan.make(config, channel, sorted(channel.images), resolve or (lambda _ref: UPSTREAM))
    return {step.image: step.reasons for step in made.steps()}


def test_levels_put_parents_first_and_independents_side_by_side(tmp_path: Path) -> None:
    config, channel = load(make_channel(tmp_path))
    made = plan.make(config, channel, ["app"], None)
    assert [[s.image for s in level] for level in made.levels] == [["base"], ["app"]]
    everything = plan.make(config, channel, sorted(channel.images), None)
    assert [[s.image for s in level] for level in everything.levels] == [["base", "other"], ["app"]]
    assert everything.as_json()["matrix"] == [{"image": ["base", "other"]}, {"image": ["app"]}]


def test_reasons(tmp_path: Path) -> None:
    root = make_channel(tmp_path)
    assert reasons(root) == {"base": ("never built",), "other": ("never built",), "app": ("never built",)}
    record(root, "base", UPSTREAM, "sha256:" + "a" * 64)
    record(root, "other", UPSTREAM, "sha256:" + "b" * 64)
    record(root, "app", "sha256:" + "a" * 64, "sha256:" + "c" * 64)
    assert reasons(root) == {"base": (), "other": (), "app": ()}

    moved = "sha256:" + "9" * 64
    assert reasons(root, lambda ref: moved if "bookworm" in ref else UPSTREAM) == {
        "base": ("upstream digest moved: sha256:111111111111 -> sha256:999999999999",),
        "other": (),
        "app": ("parent base is rebuilt",),
    }

    (root / "recipes" / "other.yaml").write_text(OTHER + "packages: [curl]\n")
    assert reasons(root)["other"] == ("recipe changed", "Dockerfile changed")

    record(root, "base", UPSTREAM, "sha256:" + "d" * 64)  # base rebuilt and pushed on its own
    assert reasons(root)["app"] == ("parent base was rebuilt",)


def test_raising_the_recipe_version_is_a_reason_and_nothing_else(tmp_path: Path) -> None:
    root = make_channel(tmp_path)
    record(root, "other", UPSTREAM, "sha256:" + "b" * 64)
    (root / "recipes" / "other.yaml").write_text(OTHER.replace("1.0.0", "2.0.0"))
    assert reasons(root)["other"] == ("recipe version raised to 2.0.0",)


def test_a_run_renders_each_dockerfile_once_until_its_lock_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`plan --watch` and `build --watch` share one Rendered between the watch and the plan."""
    root = make_channel(tmp_path)
    record(root, "base", UPSTREAM, "sha256:" + "a" * 64)
    record(root, "other", UPSTREAM, "sha256:" + "b" * 64)
    record(root, "app", "sha256:" + "a" * 64, "sha256:" + "c" * 64)
    config, channel = load(root)
    rendered = plan.Rendered(config, channel)
    renders: list[str] = []
    real = render.render_dockerfile

    def counted(data: render.RenderInput) -> str:
        renders.append(data.image.id)
        return real(data)

    monkeypatch.setattr(render, "render_dockerfile", counted)
    first = plan.make(config, channel, sorted(channel.images), lambda _ref: UPSTREAM, rendered=rendered)
    again = plan.make(config, channel, sorted(channel.images), lambda _ref: UPSTREAM, rendered=rendered)
    assert first == again
    assert [step.reasons for step in first.steps()] == [(), (), ()]
    assert sorted(renders) == ["app", "base", "other"]

    record(root, "other", UPSTREAM, "sha256:" + "e" * 64)  # a new lock: its Dockerfile is asked again
    renders.clear()
    plan.make(config, channel, sorted(channel.images), lambda _ref: UPSTREAM, rendered=rendered)
    assert renders == ["other"]
