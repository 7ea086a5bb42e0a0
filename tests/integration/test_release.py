"""Releases against the real registry: versions, tags by digest, immutability, changelogs, catalog."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder import cli
from builder.engine import Engine
from builder.registry import RegistryClient
from tests.integration.aptrepo import AptRepo, ChangelogEntry
from tests.integration.faultproxy import FaultProxy
from tests.integration.tests_support import make_channel

FIX = "Fix CVE-2026-4242: out-of-bounds read in the widget parser"


def recipe(repo: AptRepo, packages: str = "demo") -> str:
    return (f"name: app\ndescription: release test\nversion: 1.0.0\ndistro: debian\n"
            f"from: debian:bookworm-slim\npackages: [{packages}]\n"
            f"repositories: [{{url: '{repo.url}', suite: bookworm-security, trusted: true}}]\n")


def tag_digests(repository: str, tags: list[str]) -> dict[str, str | None]:
    client = RegistryClient()
    return {tag: client.digest_or_none(f"{repository}:{tag}") for tag in tags}


def lock_of(root: Path) -> dict[str, object]:
    return json.loads((root / "base-images" / "app" / "image.lock.json").read_text())  # type: ignore[no-any-return]


def test_security_rebuild_then_recipe_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str], engine: Engine,
                                            registry: str, repo: AptRepo) -> None:
    root = make_channel(tmp_path, registry, monkeypatch, {"app": recipe(repo)})
    monkeypatch.setenv("BUILDER_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    assert cli.main(["--root", str(root), "release"]) == 0
    first = lock_of(root)["result"]["digest"]  # type: ignore[index]
    repository = lock_of(root)["result"]["repository"]  # type: ignore[index]
    assert tag_digests(repository, ["1.0.0", "1.0", "1", "latest"]) == dict.fromkeys(
        ["1.0.0", "1.0", "1", "latest"], first)

    consumer = tmp_path / "consumer" / "Dockerfile"
    consumer.parent.mkdir()
    consumer.write_text(f"FROM {repository}:1@{first}\nUSER 65532:65532\n")
    assert cli.main(["--root", str(root), "check-pins", str(consumer)]) == 0

    # 1. A security fix lands; watch finds it; the rebuild is a patch release naming the CVE.
    repo.add_package("demo", "1.1-1", changelog=[ChangelogEntry("1.1-1", lines=[FIX]),
                                                 ChangelogEntry("1.0-1", lines=["Initial release."])])
    repo.publish()
    assert cli.main(["--root", str(root), "build", "--push", "--watch"]) == 0
    assert lock_of(root)["version"] == "1.0.1"
    capsys.readouterr()
    assert cli.main(["--root", str(root), "release", "--dry-run", "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)["releases"]
    assert [(m["tag"], m["action"]) for m in planned[0]["tags"]] == [
        ("1.0.1", "create"), ("1.0", "move"), ("1", "move"), ("latest", "move")]
    assert cli.main(["--root", str(root), "release"]) == 0
    second = lock_of(root)["result"]["digest"]  # type: ignore[index]
    assert second != first
    assert tag_digests(repository, ["1.0.0", "1.0.1", "1.0", "1", "latest"]) == {
        "1.0.0": first, "1.0.1": second, "1.0": second, "1": second, "latest": second}
    changelog = (root / "base-images" / "app" / "CHANGELOG.md").read_text()
    assert "## [1.0.1] - " in changelog
    assert "Security rebuild: fixes CVE-2026-4242." in changelog
    assert "| demo | 1.0-1 | 1.1-1 | CVE-2026-4242 |" in changelog
    index = json.loads((root / "base-images" / "index.json").read_text())
    (entry,) = index["images"]
    assert entry["current"] == "1.0.1"
    assert entry["form"] == "hardened"
    assert entry["tags"]["latest"] == second
    assert entry["versions"][0]["cves_fixed"] == ["CVE-2026-4242"]
    assert "CVE-2026-4242" in (root / "base-images" / "README.md").read_text()
    assert cli.main(["--root", str(root), "check-pins", str(consumer)]) == 1
    assert cli.main(["--root", str(root), "check-pins", "--fix", str(consumer)]) == 0
    assert consumer.read_text() == f"FROM {repository}:1@{second}\nUSER 65532:65532\n"

    # 2. A recipe change that adds a package is a minor release.
    (root / "recipes" / "app.yaml").write_text(recipe(repo, "demo, ca-certificates"))
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    assert lock_of(root)["version"] == "1.1.0"
    assert cli.main(["--root", str(root), "release"]) == 0
    third = lock_of(root)["result"]["digest"]  # type: ignore[index]
    assert tag_digests(repository, ["1.0.0", "1.0.1", "1.0", "1.1.0", "1.1", "1", "latest"]) == {
        "1.0.0": first, "1.0.1": second, "1.0": second, "1.1.0": third, "1.1": third, "1": third,
        "latest": third}
    changelog = (root / "base-images" / "app" / "CHANGELOG.md").read_text()
    assert "Recipe change (minor): packages added: ca-certificates." in changelog
    assert changelog.index("## [1.1.0]") < changelog.index("## [1.0.1]") < changelog.index("## [1.0.0]")

    # Released twice is released once: nothing left to do.
    capsys.readouterr()
    assert cli.main(["--root", str(root), "release"]) == 0
    assert capsys.readouterr().out.strip() == "0 image(s) released"

    # Nothing re-points an immutable version tag: not even a lost record and a lock that
    # claims an old version for the newest image.
    (root / "base-images" / "app" / "releases.json").unlink()
    lock_path = root / "base-images" / "app" / "image.lock.json"
    lock_path.write_text(lock_path.read_text().replace('"version": "1.1.0"', '"version": "1.0.0"'))
    assert cli.main(["--root", str(root), "release"]) == 13
    assert f"{repository}:1.0.0 already points at {first[:19]}; version tags are immutable" in capsys.readouterr().err
    assert tag_digests(repository, ["1.0.0"]) == {"1.0.0": first}


def test_interrupted_retag_is_finished_by_a_rerun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str], engine: Engine,
                                                  registry: str) -> None:
    with FaultProxy(f"http://{registry}") as proxy:
        through = proxy.start().removeprefix("http://")
        root = make_channel(tmp_path, registry, monkeypatch, {
            "app": "name: app\ndescription: r\nversion: 2.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"})
        monkeypatch.setenv("BUILDER_REGISTRY", through)
        assert cli.main(["--root", str(root), "build", "--push"]) == 0
        proxy.fail(500, times=10, path_contains="/manifests/latest", method="PUT")
        capsys.readouterr()
        assert cli.main(["--root", str(root), "release"]) == 11
        assert "HTTP 500 after 5 attempts" in capsys.readouterr().err
        assert not (root / "base-images" / "app" / "releases.json").exists()
        repository = lock_of(root)["result"]["repository"]  # type: ignore[index]
        digest = lock_of(root)["result"]["digest"]  # type: ignore[index]
        assert tag_digests(repository, ["2.0.0", "2.0", "2", "latest"]) == {
            "2.0.0": digest, "2.0": digest, "2": digest, "latest": None}
        proxy.clear()
        assert cli.main(["--root", str(root), "release"]) == 0
        assert tag_digests(repository, ["2.0.0", "2.0", "2", "latest"]) == dict.fromkeys(
            ["2.0.0", "2.0", "2", "latest"], digest)
        record = json.loads((root / "base-images" / "app" / "releases.json").read_text())
        assert [r["version"] for r in record["releases"]] == ["2.0.0"]


def test_auto_release_promotes_patch_rebuilds_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str], engine: Engine,
                                                   registry: str, repo: AptRepo) -> None:
    root = make_channel(tmp_path, registry, monkeypatch, {"app": recipe(repo)})
    monkeypatch.setenv("BUILDER_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    assert cli.main(["--root", str(root), "release"]) == 0
    repository = lock_of(root)["result"]["repository"]  # type: ignore[index]
    repo.add_package("demo", "1.1-1", changelog=[ChangelogEntry("1.1-1", lines=[FIX]),
                                                 ChangelogEntry("1.0-1", lines=["Initial release."])])
    repo.publish()
    assert cli.main(["--root", str(root), "build", "--push", "--watch"]) == 0
    capsys.readouterr()
    assert cli.main(["--root", str(root), "release", "--auto"]) == 0
    assert "auto-release is off" in capsys.readouterr().out
    monkeypatch.setenv("BUILDER_AUTO_RELEASE", "patch")
    assert cli.main(["--root", str(root), "release", "--auto"]) == 0
    patched = lock_of(root)["result"]["digest"]  # type: ignore[index]
    assert tag_digests(repository, ["1.0.1", "latest"]) == {"1.0.1": patched, "latest": patched}

    # A recipe change is not a patch: it waits for a reviewed merge.
    (root / "recipes" / "app.yaml").write_text(recipe(repo, "demo, ca-certificates"))
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    capsys.readouterr()
    assert cli.main(["--root", str(root), "release", "--auto"]) == 0
    assert capsys.readouterr().out.strip() == "0 image(s) released"
    assert tag_digests(repository, ["1.1.0", "latest"]) == {"1.1.0": None, "latest": patched}
