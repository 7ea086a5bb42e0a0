"""publish.plan and publish.execute on candidates the fake engine pushed into the in-process registry:
tags put by digest, immutable version tags, moving tags held back, a release that died completed."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.channel.layout import ImageFiles
from builder.core.errors import RegistryError, ReleaseError
from builder.core.settings import Settings
from builder.image import build, plan
from builder.recipe.graph import Channel
from builder.release import publish
from builder.upstream.registry import RegistryClient
from tests.support.channel import load_channel
from tests.support.fake_engine import FakeEngine

UPSTREAM = "sha256:" + "1" * 64
BASE = "name: base\ndescription: b\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"
REPOSITORY = "registry.test/base/base"
TAGS = ["1.0.0", "1.0", "1", "latest"]


def pushed(tmp_path: Path, engine: FakeEngine) -> tuple[Settings, Channel, RegistryClient]:
    """The channel (one image, base) after `build --push` with the fake engine; a client of its registry."""
    if not (tmp_path / "recipes").exists():
        (tmp_path / "recipes").mkdir()
        (tmp_path / "pyproject.toml").write_text('[tool.builder]\nregistry = "registry.test"\nnamespace = "base"\n')
        (tmp_path / "recipes" / "base.yaml").write_text(BASE)
    config, channel = load_channel(tmp_path, environ={})
    client = RegistryClient(session=engine.registry.session())
    made = plan.make(config, channel, ["base"], lambda _ref: UPSTREAM)
    outcomes = build.run(
        config,
        channel,
        made,
        engine,
        build.Options(push=True, jobs=1, revision=None, source_url=None, log=lambda _line: None),
        client=client,
    )
    assert [o.status for o in outcomes] == ["pushed"], outcomes
    return config, channel, client


def moves(steps: list[publish.ReleaseStep]) -> list[tuple[str, str]]:
    return [(m.tag, m.action) for step in steps for m in step.moves]


def test_a_first_release_puts_every_tag_at_the_candidate_and_records_it(tmp_path: Path) -> None:
    engine = FakeEngine()
    config, channel, client = pushed(tmp_path, engine)
    candidate = engine.registry.tag(REPOSITORY, "candidate")
    steps = publish.plan(config, channel, ["base"], client)
    assert moves(steps) == [(tag, "create") for tag in TAGS]
    release = publish.execute(config, channel, steps[0], client, today="2026-11-30")
    assert [engine.registry.tag(REPOSITORY, tag) for tag in TAGS] == [candidate] * 4
    assert (release.version, release.digest, release.tags, release.date) == (
        "1.0.0",
        candidate,
        tuple(TAGS),
        "2026-11-30",
    )
    files = ImageFiles.of(config, channel.images["base"])
    assert files.read_history().releases == (release,)
    assert "- Tags: `1.0.0`, `1.0`, `1`, `latest` created\n" in files.changelog.read_text()
    # Released: nothing more to plan.
    assert publish.plan(config, channel, ["base"], client) == []


def test_a_version_tag_at_another_digest_is_refused(tmp_path: Path) -> None:
    engine = FakeEngine()
    config, channel, client = pushed(tmp_path, engine)
    other = engine.registry.put(REPOSITORY, "1.0.0", b'{"schemaVersion": 2, "someone": "else"}')
    with pytest.raises(ReleaseError) as caught:
        publish.plan(config, channel, ["base"], client)
    assert caught.value.message == (
        f"{REPOSITORY}:1.0.0 already points at {other[:19]}; version tags are "
        "immutable: rebuild (`builder build --push`) to get the next free version"
    )


def test_moving_tags_move_forward_and_version_tags_stay(tmp_path: Path) -> None:
    engine = FakeEngine()
    config, channel, client = pushed(tmp_path, engine)
    publish.execute(config, channel, publish.plan(config, channel, ["base"], client)[0], client)
    (tmp_path / "recipes" / "base.yaml").write_text(BASE + "env: {LANG: C.UTF-8}\n")
    config, channel, client = pushed(tmp_path, engine)
    steps = publish.plan(config, channel, ["base"], client)
    assert (steps[0].version, moves(steps)) == (
        "1.1.0",
        [("1.1.0", "create"), ("1.1", "create"), ("1", "move"), ("latest", "move")],
    )
    assert steps[0].moves[2].note == "from 1.0.0"
    publish.execute(config, channel, steps[0], client)
    assert [engine.registry.tag(REPOSITORY, tag) for tag in ("1.0.0", "1", "latest")] == [
        ImageFiles.of(config, channel.images["base"]).read_history().releases[0].digest,
        steps[0].digest,
        steps[0].digest,
    ]


def test_a_release_that_died_after_the_version_tag_is_completed_by_a_rerun(tmp_path: Path) -> None:
    engine = FakeEngine()
    config, channel, client = pushed(tmp_path, engine)
    candidate = engine.registry.tag(REPOSITORY, "candidate")
    step = publish.plan(config, channel, ["base"], client)[0]
    # GET the manifest, HEAD and PUT the version tag: then the registry refuses (the run dies).
    engine.registry.fail_after(3, 400)
    with pytest.raises(RegistryError):
        publish.execute(config, channel, step, client)
    assert [engine.registry.tag(REPOSITORY, tag) for tag in TAGS] == [candidate, None, None, None]
    assert ImageFiles.of(config, channel.images["base"]).read_history().releases == ()
    rerun = publish.plan(config, channel, ["base"], client)
    assert moves(rerun) == [("1.0.0", "keep"), ("1.0", "create"), ("1", "create"), ("latest", "create")]
    release = publish.execute(config, channel, rerun[0], client)
    assert [engine.registry.tag(REPOSITORY, tag) for tag in TAGS] == [candidate] * 4
    assert release.tags == tuple(TAGS)
