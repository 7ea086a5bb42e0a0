"""Releases against the real registry: versions, tags by digest, immutability, changelogs, catalog,
crashes between tag writes, and releases at once."""

from __future__ import annotations

import email.utils
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from builder.cli import main as cli
from builder.core.errors import RegistryError
from builder.image.engine import Engine
from builder.release import publish as release
from builder.upstream.registry import Manifest, RegistryClient
from tests.support.aptrepo import AptRepo, ChangelogEntry
from tests.support.channel import make_channel
from tests.support.faultproxy import FaultProxy

FIX = "Fix CVE-2026-4242: out-of-bounds read in the widget parser"


def recipe(repo: AptRepo, packages: str = "demo") -> str:
    return (
        f"name: app\ndescription: release test\nversion: 1.0.0\ndistro: debian\n"
        f"from: debian:bookworm-slim\npackages: [{packages}]\n"
        f"repositories: [{{url: '{repo.url}', suite: bookworm-security, trusted: true}}]\n"
    )


def tag_digests(repository: str, tags: list[str]) -> dict[str, str | None]:
    client = RegistryClient()
    return {tag: client.digest_or_none(f"{repository}:{tag}") for tag in tags}


def lock_of(root: Path) -> dict[str, object]:
    return json.loads((root / "base-images" / "app" / "image.lock.json").read_text())  # type: ignore[no-any-return]


def test_security_rebuild_then_recipe_change(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: Engine,
    registry: str,
    repo: AptRepo,
) -> None:
    root = make_channel(tmp_path, registry, monkeypatch, {"app": recipe(repo)})
    monkeypatch.setenv("BUILDER_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    assert cli.main(["--root", str(root), "release"]) == 0
    first = lock_of(root)["result"]["digest"]  # type: ignore[index]
    repository = lock_of(root)["result"]["repository"]  # type: ignore[index]
    assert tag_digests(repository, ["1.0.0", "1.0", "1", "latest"]) == dict.fromkeys(
        ["1.0.0", "1.0", "1", "latest"], first
    )

    consumer = tmp_path / "consumer" / "Dockerfile"
    consumer.parent.mkdir()
    consumer.write_text(f"FROM {repository}:1@{first}\nUSER 65532:65532\n")
    assert cli.main(["--root", str(root), "check-pins", str(consumer)]) == 0

    # 1. A security fix lands; watch finds it; the rebuild is a patch release naming the CVE.
    repo.add_package(
        "demo",
        "1.1-1",
        changelog=[ChangelogEntry("1.1-1", lines=[FIX]), ChangelogEntry("1.0-1", lines=["Initial release."])],
    )
    repo.publish()
    release_date = next(
        line.removeprefix("Date: ")
        for line in (repo.root / "dists" / repo.suite / "Release").read_text().splitlines()
        if line.startswith("Date: ")
    )
    assert cli.main(["--root", str(root), "build", "--push", "--watch"]) == 0
    assert lock_of(root)["version"] == "1.0.1"
    # Patch latency: the lock keeps when the fixed version appeared in its suite (the Release Date).
    appeared = email.utils.parsedate_to_datetime(release_date).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [u["published"] for u in lock_of(root)["updates"] if u["name"] == "demo"] == [appeared]  # type: ignore[attr-defined]
    capsys.readouterr()
    assert cli.main(["--root", str(root), "release", "--dry-run", "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)["releases"]
    assert [(m["tag"], m["action"]) for m in planned[0]["tags"]] == [
        ("1.0.1", "create"),
        ("1.0", "move"),
        ("1", "move"),
        ("latest", "move"),
    ]
    assert cli.main(["--root", str(root), "release"]) == 0
    second = lock_of(root)["result"]["digest"]  # type: ignore[index]
    assert second != first
    assert tag_digests(repository, ["1.0.0", "1.0.1", "1.0", "1", "latest"]) == {
        "1.0.0": first,
        "1.0.1": second,
        "1.0": second,
        "1": second,
        "latest": second,
    }
    changelog = (root / "base-images" / "app" / "CHANGELOG.md").read_text()
    assert "## [1.0.1] - " in changelog
    link = "[CVE-2026-4242](https://security-tracker.debian.org/tracker/CVE-2026-4242)"
    assert f"Security rebuild: fixes {link}." in changelog
    assert "| demo | 1.0-1 | 1.1-1 | CVE-2026-4242 |" in changelog
    assert "- Tags: `1.0.1` created; `1.0`, `1`, `latest` moved from 1.0.0" in changelog
    assert "- Tags: `1.0.0`, `1.0`, `1`, `latest` created" in changelog
    index = json.loads((root / "base-images" / "index.json").read_text())
    (entry,) = index["images"]
    assert entry["current"] == "1.0.1"
    assert entry["form"] == "hardened"
    assert entry["tags"]["latest"] == second
    assert entry["versions"][0]["cves_fixed"] == ["CVE-2026-4242"]
    assert "CVE-2026-4242" in (root / "base-images" / "README.md").read_text()
    assert cli.main(["--root", str(root), "catalog", "--site", str(tmp_path / "site")]) == 0
    page = (tmp_path / "site" / "images" / "app.html").read_text()
    released = json.loads((root / "base-images" / "app" / "releases.json").read_text())["releases"][-1]["date"]
    assert f'<tr><th scope="row">CVE-2026-4242</th><td>demo</td><td>{appeared[:10]}</td><td>{released}</td>' in page
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
        "1.0.0": first,
        "1.0.1": second,
        "1.0": second,
        "1.1.0": third,
        "1.1": third,
        "1": third,
        "latest": third,
    }
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


def test_interrupted_retag_is_finished_by_a_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], engine: Engine, registry: str
) -> None:
    with FaultProxy(f"http://{registry}") as proxy:
        through = proxy.start().removeprefix("http://")
        root = make_channel(
            tmp_path,
            registry,
            monkeypatch,
            {"app": "name: app\ndescription: r\nversion: 2.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"},
        )
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
            "2.0.0": digest,
            "2.0": digest,
            "2": digest,
            "latest": None,
        }
        proxy.clear()
        assert cli.main(["--root", str(root), "release"]) == 0
        assert tag_digests(repository, ["2.0.0", "2.0", "2", "latest"]) == dict.fromkeys(
            ["2.0.0", "2.0", "2", "latest"], digest
        )
        record = json.loads((root / "base-images" / "app" / "releases.json").read_text())
        assert [r["version"] for r in record["releases"]] == ["2.0.0"]


def test_auto_release_promotes_patch_rebuilds_only(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: Engine,
    registry: str,
    repo: AptRepo,
) -> None:
    root = make_channel(tmp_path, registry, monkeypatch, {"app": recipe(repo)})
    monkeypatch.setenv("BUILDER_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    assert cli.main(["--root", str(root), "release"]) == 0
    repository = lock_of(root)["result"]["repository"]  # type: ignore[index]
    repo.add_package(
        "demo",
        "1.1-1",
        changelog=[ChangelogEntry("1.1-1", lines=[FIX]), ChangelogEntry("1.0-1", lines=["Initial release."])],
    )
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


MINIMAL = "name: app\ndescription: r\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"
TAGS = ["1.0.1", "1.0", "1", "latest"]


def crash_after_first_tag(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make `builder release` die right after its first tag write, as a killed job would."""
    real = RegistryClient.put_manifest
    written: list[str] = []

    def put_then_die(self: RegistryClient, reference: str, manifest: Manifest) -> None:
        real(self, reference, manifest)
        written.append(reference)
        raise RegistryError(f"injected crash after writing {reference}")

    monkeypatch.setattr(RegistryClient, "put_manifest", put_then_die)
    return written


def released_then_crashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], registry: str
) -> tuple[Path, str, str, str]:
    """1.0.0 released; 1.0.1 built and its release killed after the version tag: (root, repo, 1.0.0, 1.0.1)."""
    root = make_channel(tmp_path, registry, monkeypatch, {"app": MINIMAL})
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    assert cli.main(["--root", str(root), "release"]) == 0
    first = lock_of(root)["result"]["digest"]  # type: ignore[index]
    repository = lock_of(root)["result"]["repository"]  # type: ignore[index]
    assert cli.main(["--root", str(root), "build", "--push", "--force"]) == 0
    assert lock_of(root)["version"] == "1.0.1"
    orphan = lock_of(root)["result"]["digest"]  # type: ignore[index]
    with monkeypatch.context() as crashing:
        written = crash_after_first_tag(crashing)
        capsys.readouterr()
        assert cli.main(["--root", str(root), "release"]) == 11
    assert written == [f"{repository}:1.0.1"]
    assert "injected crash after writing" in capsys.readouterr().err
    assert tag_digests(repository, TAGS) == {"1.0.1": orphan, "1.0": first, "1": first, "latest": first}
    record = json.loads((root / "base-images" / "app" / "releases.json").read_text())
    assert [r["version"] for r in record["releases"]] == ["1.0.0"]
    return root, repository, first, orphan


def test_a_release_that_crashed_after_its_first_tag_is_completed_by_a_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], engine: Engine, registry: str
) -> None:
    root, repository, first, candidate = released_then_crashed(tmp_path, monkeypatch, capsys, registry)
    assert cli.main(["--root", str(root), "release"]) == 0
    assert tag_digests(repository, TAGS) == dict.fromkeys(TAGS, candidate)
    record = json.loads((root / "base-images" / "app" / "releases.json").read_text())
    assert [(r["version"], r["digest"]) for r in record["releases"]] == [("1.0.0", first), ("1.0.1", candidate)]
    changelog = (root / "base-images" / "app" / "CHANGELOG.md").read_text()
    assert "- Tags: `1.0.1` created; `1.0`, `1`, `latest` moved from 1.0.0" in changelog
    index = json.loads((root / "base-images" / "index.json").read_text())
    assert index["images"][0]["tags"] == {
        "1": candidate,
        "1.0": candidate,
        "1.0.0": first,
        "1.0.1": candidate,
        "latest": candidate,
    }


def test_a_rebuild_after_a_crashed_release_moves_past_the_orphaned_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], engine: Engine, registry: str
) -> None:
    root, repository, first, orphan = released_then_crashed(tmp_path, monkeypatch, capsys, registry)
    assert cli.main(["--root", str(root), "build", "--push", "--force"]) == 0
    note = f"1.0.1 was tagged at {orphan} by a release that did not finish; this build is 1.0.2"
    assert f"[app] warning: {note}" in capsys.readouterr().err
    assert lock_of(root)["version"] == "1.0.2"
    assert note in lock_of(root)["reasons"]  # type: ignore[operator]
    rebuilt = lock_of(root)["result"]["digest"]  # type: ignore[index]
    assert cli.main(["--root", str(root), "release"]) == 0
    assert tag_digests(repository, ["1.0.0", "1.0.1", "1.0.2", "1.0", "1", "latest"]) == {
        "1.0.0": first,
        "1.0.1": orphan,
        "1.0.2": rebuilt,
        "1.0": rebuilt,
        "1": rebuilt,
        "latest": rebuilt,
    }
    changelog = (root / "base-images" / "app" / "CHANGELOG.md").read_text()
    assert (
        f"Version `1.0.1` was skipped: a release that did not finish tagged `{orphan}` with it, "
        "and version tags are never reused."
    ) in changelog
    assert ("- Tags: `1.0.2` created; `1.0`, `1`, `latest` moved from 1.0.0") in changelog


def test_a_second_release_in_the_same_checkout_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], engine: Engine, registry: str
) -> None:
    root = make_channel(tmp_path, registry, monkeypatch, {"app": MINIMAL})
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    repository = lock_of(root)["result"]["repository"]  # type: ignore[index]
    capsys.readouterr()
    with release.exclusive(root / "base-images"):
        assert cli.main(["--root", str(root), "release"]) == 13
    assert capsys.readouterr().err.strip() == (
        f"error: {root / 'base-images' / '.release.lock'}: another `builder release` is running in this "
        f"checkout (pid {os.getpid()}); wait for it to finish, then run it again"
    )
    assert tag_digests(repository, ["1.0.0"]) == {"1.0.0": None}
    assert cli.main(["--root", str(root), "release"]) == 0


def test_two_releases_of_the_same_candidate_from_two_clones_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: Engine, registry: str
) -> None:
    root = make_channel(tmp_path, registry, monkeypatch, {"app": MINIMAL})
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    clone = tmp_path / "clone"
    shutil.copytree(root, clone)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "builder", "--root", str(where), "release"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for where in (root, clone)
    ]
    results = [(run.wait(timeout=120), run.communicate()) for run in runs]
    assert [code for code, _ in results] == [0, 0], results
    digest = lock_of(root)["result"]["digest"]  # type: ignore[index]
    repository = lock_of(root)["result"]["repository"]  # type: ignore[index]
    assert tag_digests(repository, ["1.0.0", "1.0", "1", "latest"]) == dict.fromkeys(
        ["1.0.0", "1.0", "1", "latest"], digest
    )
    records = [json.loads((where / "base-images" / "app" / "releases.json").read_text()) for where in (root, clone)]
    assert [[(r["version"], r["digest"], r["tags"]) for r in record["releases"]] for record in records] == [
        [("1.0.0", digest, ["1.0.0", "1.0", "1", "latest"])]
    ] * 2
