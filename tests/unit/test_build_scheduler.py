"""The build scheduler: images of a level side by side, levels in order, failures kept apart."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from builder.cli import main as cli
from builder.cli.parser import parser
from builder.core import settings
from builder.core.errors import BuildError
from builder.image import build
from builder.image.plan import Plan, Step
from builder.recipe import graph
from builder.recipe import load as recipes
from builder.recipe.variants import ImageSpec

WAIT = 30  # seconds before a test gives up waiting for another thread (a deadlock guard, not a timing check)


def step(image: str) -> Step:
    return Step(image, ("forced",), "debian:bookworm-slim", "sha256:" + "1" * 64)


@pytest.mark.parametrize(
    ("requested", "width", "cores", "expected"),
    [
        (None, 3, 8, 3),  # default: one per core, at most the level's width
        (None, 6, 2, 2),
        (None, 1, 8, 1),
        (None, 4, None, 1),  # cores unknown
        (2, 6, 8, 2),
        (5, 2, 8, 2),
        (1, 6, 8, 1),
        (3, 0, 8, 1),  # an empty level still gets a pool of one
    ],
)
def test_workers(
    requested: int | None, width: int, cores: int | None, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: cores)
    assert build.workers(requested, width) == expected


def test_a_level_builds_side_by_side_and_reports_in_plan_order() -> None:
    finished: list[str] = []
    last_done = threading.Event()

    def build_one(item: Step) -> build.Outcome:
        if item.image == "a":  # ends last: it waits until "c" has ended
            assert last_done.wait(WAIT), "the images of a level did not build at the same time"
        finished.append(item.image)
        if item.image == "c":
            last_done.set()
        return build.Outcome(item.image, "built")

    outcomes = build.run_level([step("a"), step("b"), step("c")], build_one, jobs=3)
    assert [o.image for o in outcomes] == ["a", "b", "c"]
    assert finished[-1] == "a"


def test_a_bug_in_one_build_lets_the_others_finish_then_is_raised() -> None:
    finished: list[str] = []

    def build_one(item: Step) -> build.Outcome:
        if item.image == "b":
            raise RuntimeError("a bug")
        finished.append(item.image)
        return build.Outcome(item.image, "built")

    with pytest.raises(RuntimeError, match="a bug"):
        build.run_level([step("a"), step("b"), step("c"), step("d")], build_one, jobs=2)
    assert sorted(finished) == ["a", "c", "d"]


def load(root: Path) -> tuple[settings.Settings, graph.Channel]:
    config = settings.load(root, environ={})
    return config, graph.build(recipes.load_dir(config.recipes_dir, root))


def sample_plan(channel: graph.Channel) -> Plan:
    levels: dict[int, list[Step]] = {}
    for image in channel.images.values():
        depth, parent = 0, channel.parent(image)
        while parent is not None:
            depth, parent = depth + 1, channel.parent(parent)
        levels.setdefault(depth, []).append(step(image.id))
    return Plan([sorted(levels[depth], key=lambda s: s.image) for depth in sorted(levels)])


def test_a_failed_image_skips_its_children_only_and_the_next_level_waits(
    channel_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, channel = load(channel_copy)
    plan = sample_plan(channel)
    assert [[s.image for s in level] for level in plan.levels] == [
        ["curl", "curl/trixie", "debian-base"],
        ["python", "python/dev", "python/distroless", "python/distroless-debug", "static", "static/debug"],
    ]
    events: list[str] = []
    lock = threading.Lock()

    def fake_build(ctx: build._Context, image: ImageSpec, item: Step) -> build.Outcome:
        with lock:
            events.append(f"start {image.id}")
        ctx.progress.say(image.id, "working")
        if image.id == "curl":
            raise BuildError("build of curl failed: exit 100", ["E: Unable to locate package curl"])
        with lock:
            events.append(f"end {image.id}")
        return build.Outcome(image.id, "built", "ok")

    monkeypatch.setattr(build, "_build_one", fake_build)
    lines: list[str] = []
    options = build.Options(push=False, jobs=None, revision=None, source_url=None, log=lines.append)
    outcomes = build.run(config, channel, plan, None, options)  # type: ignore[arg-type]
    assert [(o.image, o.status, o.message, o.tail) for o in outcomes] == [
        ("curl", "failed", "build of curl failed: exit 100", ["E: Unable to locate package curl"]),
        ("curl/trixie", "built", "ok", []),
        ("debian-base", "built", "ok", []),
        ("python", "built", "ok", []),
        ("python/dev", "built", "ok", []),
        ("python/distroless", "built", "ok", []),
        ("python/distroless-debug", "built", "ok", []),
        ("static", "built", "ok", []),
        ("static/debug", "built", "ok", []),
    ]
    assert all(o.seconds is not None for o in outcomes)
    second_level = min(events.index(f"start {s.image}") for s in plan.levels[1])
    assert second_level > max(i for i, e in enumerate(events) if e.split()[1] in ("curl/trixie", "debian-base"))
    assert "[curl] failed after 0s" in lines
    assert "[python/distroless] working" in lines


def test_a_failed_parent_skips_its_children(channel_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, channel = load(channel_copy)

    def fake_build(ctx: build._Context, image: ImageSpec, item: Step) -> build.Outcome:
        if image.id == "debian-base":
            raise BuildError("build of debian-base failed", [])
        return build.Outcome(image.id, "built", "ok")

    monkeypatch.setattr(build, "_build_one", fake_build)
    options = build.Options(push=False, jobs=2, revision=None, source_url=None, log=lambda _line: None)
    outcomes = build.run(config, channel, sample_plan(channel), None, options)  # type: ignore[arg-type]
    assert {o.image: (o.status, o.message) for o in outcomes} == {
        "curl": ("built", "ok"),
        "curl/trixie": ("built", "ok"),
        "debian-base": ("failed", "build of debian-base failed"),
        "python": ("skipped", "parent debian-base did not build"),
        "python/distroless": ("skipped", "parent debian-base did not build"),
        "python/dev": ("skipped", "parent debian-base did not build"),
        "python/distroless-debug": ("skipped", "parent debian-base did not build"),
        "static": ("skipped", "parent debian-base did not build"),
        "static/debug": ("skipped", "parent debian-base did not build"),
    }
    assert [o.seconds for o in outcomes if o.status == "skipped"] == [None] * 6


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5", ""])
def test_jobs_is_a_whole_number_of_one_or_more(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["build", "--jobs", value])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"builder build: error: argument --jobs: {value!r} is not a whole number of 1 or more"
    )


def test_jobs_defaults_to_one_per_core() -> None:
    assert parser().parse_args(["build"]).jobs is None
    assert parser().parse_args(["build", "--jobs", "3"]).jobs == 3
