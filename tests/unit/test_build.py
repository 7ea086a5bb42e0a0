"""build.run with the fake engine and registry: levels, pins, checks, skips, what is recorded."""

from __future__ import annotations

import json
from pathlib import Path

from builder.channel.layout import ImageFiles
from builder.core.settings import Settings
from builder.image import build, plan
from builder.recipe.graph import Channel
from builder.upstream.registry import RegistryClient
from tests.support.channel import load_channel
from tests.support.fake_engine import FakeEngine, clean_debian, entry

UPSTREAM = "sha256:" + "1" * 64
BASE = "name: base\ndescription: b\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"
APP = "name: app\ndescription: a\nversion: 1.0.0\ndistro: debian\nfrom: {recipe: base}\n"


def channel(tmp_path: Path, recipes: dict[str, str] | None = None) -> tuple[Settings, Channel]:
    (tmp_path / "recipes").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.builder]\nregistry = "registry.test"\nnamespace = "base"\n')
    for name, text in (recipes or {"base": BASE, "app": APP}).items():
        (tmp_path / "recipes" / f"{name}.yaml").write_text(text)
    return load_channel(tmp_path, environ={})


def run(
    config: Settings, chan: Channel, engine: FakeEngine, *, push: bool = True, log: list[str] | None = None
) -> dict[str, build.Outcome]:
    made = plan.make(config, chan, sorted(chan.images), lambda _ref: UPSTREAM)
    options = build.Options(
        push=push, jobs=2, revision="abc123", source_url=None, log=(log if log is not None else []).append
    )
    client = RegistryClient(session=engine.registry.session())
    outcomes = build.run(config, chan, made, engine, options, client=client)
    return {o.image: o for o in outcomes}


def test_a_pushed_build_records_what_the_registry_holds_and_children_build_from_it(tmp_path: Path) -> None:
    config, chan = channel(tmp_path)
    engine = FakeEngine()
    outcomes = run(config, chan, engine)
    assert {i: o.status for i, o in outcomes.items()} == {"base": "pushed", "app": "pushed"}
    base_lock = ImageFiles.of(config, chan.images["base"]).read_lock()
    app_lock = ImageFiles.of(config, chan.images["app"]).read_lock()
    assert base_lock is not None
    assert base_lock.result is not None
    assert app_lock is not None
    assert app_lock.result is not None
    # What the lock records is what the registry serves under the candidate tag.
    assert base_lock.result.digest == engine.registry.tag("registry.test/base/base", "candidate")
    assert app_lock.result.digest == engine.registry.tag("registry.test/base/app", "candidate")
    # The root builds FROM the pinned upstream (pulled); the child FROM its parent's pushed digest.
    first, second = engine.builds
    assert (first.tag, first.pull, second.tag, second.pull) == (
        "registry.test/base/base:candidate",
        True,
        "registry.test/base/app:candidate",
        False,
    )
    assert f"FROM registry.test/base/base:1.0.0@{base_lock.result.digest}\n" in second.dockerfile
    assert app_lock.base.digest == base_lock.result.digest
    assert first.labels["org.opencontainers.image.revision"] == "abc123"
    assert [p.name for p in app_lock.packages] == ["libc6", "tzdata"]
    assert app_lock.os is not None
    assert app_lock.os.version_id == "12"
    files = ImageFiles.of(config, chan.images["app"])
    assert files.dockerfile.read_text() == second.dockerfile
    assert json.loads(files.sbom.read_text())["spdxVersion"] == "SPDX-2.3"


def test_a_failed_parent_skips_its_child_and_records_nothing(tmp_path: Path) -> None:
    config, chan = channel(tmp_path)
    engine = FakeEngine(fail_builds={"registry.test/base/base:": "E: Unable to locate package nope"})
    outcomes = run(config, chan, engine)
    assert (outcomes["base"].status, outcomes["base"].message) == (
        "failed",
        "build of registry.test/base/base:candidate failed: E: Unable to locate package nope",
    )
    assert outcomes["base"].tail[-1] == "E: Unable to locate package nope"
    assert (outcomes["app"].status, outcomes["app"].message) == ("skipped", "parent base did not build")
    assert [b.tag for b in engine.builds] == ["registry.test/base/base:candidate"]
    assert engine.pushes == []
    assert not ImageFiles.of(config, chan.images["base"]).lock.exists()


def test_an_image_that_fails_a_check_is_neither_pushed_nor_recorded(tmp_path: Path) -> None:
    config, chan = channel(tmp_path, {"base": BASE})
    engine = FakeEngine(filesystem=[*clean_debian(), entry("usr/bin/su", mode=0o4755, data=b"\x7fELF")])
    outcomes = run(config, chan, engine)
    assert (outcomes["base"].status, outcomes["base"].message) == (
        "failed",
        "IC002 no setuid/setgid files: FAILED: /usr/bin/su",
    )
    assert engine.pushes == []
    assert not ImageFiles.of(config, chan.images["base"]).lock.exists()


def test_without_push_nothing_is_pushed_or_written(tmp_path: Path) -> None:
    config, chan = channel(tmp_path)
    engine = FakeEngine()
    outcomes = run(config, chan, engine, push=False)
    assert {i: o.status for i, o in outcomes.items()} == {"base": "built", "app": "built"}
    # Not pushed: the child builds FROM its parent's local candidate tag.
    assert "FROM registry.test/base/base:candidate\n" in engine.builds[1].dockerfile
    assert engine.pushes == []
    assert not (tmp_path / config.output_dir.name).exists()


def test_a_version_tag_already_in_the_registry_is_skipped_with_a_warning(tmp_path: Path) -> None:
    config, chan = channel(tmp_path, {"base": BASE})
    engine = FakeEngine()
    taken = engine.registry.put("registry.test/base/base", "1.0.0", b'{"schemaVersion": 2}')
    log: list[str] = []
    outcomes = run(config, chan, engine, log=log)
    lock = outcomes["base"].lock
    assert lock is not None
    assert lock.version == "1.0.1"
    assert [line for line in log if "warning" in line] == [
        f"[base] warning: 1.0.0 was tagged at {taken} by a release that did not finish; this build is 1.0.1"
    ]


def test_a_push_error_fails_the_image_without_a_lock(tmp_path: Path) -> None:
    config, chan = channel(tmp_path, {"base": BASE})
    engine = FakeEngine(fail_pushes={"registry.test/base/base": "denied: requested access is refused"})
    outcomes = run(config, chan, engine)
    assert (outcomes["base"].status, outcomes["base"].message) == (
        "failed",
        "push of registry.test/base/base:candidate failed: denied: requested access is refused",
    )
    assert not ImageFiles.of(config, chan.images["base"]).lock.exists()


def test_the_committed_files_are_in_the_context_and_checked_in_the_image(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "app.toml").write_text("debug = false\n")
    config, chan = channel(tmp_path, {"base": BASE + "files: [{source: files/app.toml, destination: /etc/app.toml}]\n"})
    engine = FakeEngine()
    outcomes = run(config, chan, engine)
    assert outcomes["base"].status == "pushed", outcomes["base"].message
    assert engine.builds[0].files == {"files/app.toml": (b"debug = false\n", 0o644)}
    assert "IC008 committed files in place, unchanged, with their owner and mode: ok" in [
        str(r) for r in outcomes["base"].results
    ]
