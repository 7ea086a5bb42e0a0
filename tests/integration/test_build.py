"""Build, check, test and push the sample channel on the real engine and registry."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from debian.debian_support import Version

from builder import checks, cli, graph, recipes, settings
from builder import lock as lockfile
from builder.engine import Engine
from tests.integration.tests_support import make_channel

UPSTREAM_BOOKWORM = "library/debian:bookworm-slim"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, engine: Engine, registry: str) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        root = make_channel(tmp_path_factory.mktemp("built"), registry, patch)
        assert cli.main(["--root", str(root), "build", "--push", "--jobs", "2"]) == 0
        yield root


def load(root: Path) -> tuple[settings.Settings, graph.Channel]:
    config = settings.load(root)
    return config, graph.build(recipes.load_dir(config.recipes_dir, root))


def test_every_sample_image_is_pushed_with_lock_sbom_and_pinned_dockerfile(built: Path) -> None:
    config, channel = load(built)
    for image in channel.images.values():
        folder = config.output_dir / image.id
        lock = lockfile.read(folder / lockfile.LOCK_NAME)
        assert lock is not None, image.id
        assert lock.result is not None
        assert lock.result.repository == config.image_repository(image.name)
        dockerfile = (folder / "Dockerfile").read_text()
        assert f"@{lock.base.digest}\n" in dockerfile
        sbom = json.loads((folder / "sbom.spdx.json").read_text())
        assert len(sbom["packages"]) == len(lock.packages) + 1
        assert set(image.packages) <= {p.name for p in lock.packages}
    assert cli.main(["--root", str(built), "render", "--check"]) == 0


def test_pulled_back_by_digest_it_matches_its_lock_and_runs_as_the_recipe_user(
        built: Path, engine: Engine) -> None:
    config, channel = load(built)
    for image in channel.images.values():
        lock = lockfile.read(config.output_dir / image.id / lockfile.LOCK_NAME)
        assert lock is not None
        assert lock.result is not None
        reference = f"{lock.result.repository}@{lock.result.digest}"
        engine.remove(reference)
        assert engine.pull(reference) == lock.result.image_id
        facts = checks.gather(engine, reference)
        assert facts.packages() == lock.packages
        uid = engine.run(reference, ["id", "-u"])
        assert (uid.exit_code, uid.stdout.strip()) == (0, str(image.user.uid))
        assert facts.user == f"{image.user.uid}:{image.user.gid}"


def test_security_updates_are_applied_over_the_lagging_upstream(built: Path, engine: Engine,
                                                                registry: str) -> None:
    config, _ = load(built)
    lock = lockfile.read(config.output_dir / "debian-base" / lockfile.LOCK_NAME)
    assert lock is not None
    upstream = {p.name: p.version for p in checks.gather(engine, f"{registry}/{UPSTREAM_BOOKWORM}").packages()}
    newer = [p.name for p in lock.packages
             if p.name in upstream and Version(p.version) > Version(upstream[p.name])]
    assert newer, "the seeded upstream lags -security, so the build must have upgraded something"


def test_second_build_builds_nothing(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert cli.main(["--root", str(built), "build", "--push"]) == 0
    assert capsys.readouterr().out.strip() == "nothing to build: 4 image(s) up to date"
    assert cli.main(["--root", str(built), "plan", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["matrix"] == []


def test_lint_is_clean_and_pinned_after_build(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert cli.main(["--root", str(built), "lint", "--strict", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []


def test_engine_unreachable_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str], registry: str) -> None:
    root = make_channel(tmp_path, registry, monkeypatch)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    assert cli.main(["--root", str(root), "build"]) == 10
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"error: cannot reach Docker Engine at unix://{tmp_path}/no.sock")
    assert os.environ["DOCKER_HOST"].endswith("no.sock")
