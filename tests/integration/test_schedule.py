"""Weeks of scheduled runs, each from a fresh clone, as GitHub Actions runs rebuild.yml and release.yml.

Every job starts from a new clone of the bare remote (all branches, as `fetch-depth: 0`
checks out), runs the workflow's commands in the workflow's order, and hands on only the
files the workflow's artifacts carry. Between runs, upstream things happen: security fixes
land, the base image moves, a package breaks a build, maintainers decline and merge pull
requests, a release dies half-way and two releases run at once. After every run the
channel's promises are checked; the test prints one row per run.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from builder.channel import layout
from builder.cli import main as cli
from builder.core.errors import RegistryError
from builder.image.engine import Engine
from builder.upstream.registry import RegistryClient
from tests.support import cleanup
from tests.support.aptrepo import AptRepo, ChangelogEntry
from tests.support.channel import make_channel, read_github_outputs
from tests.support.github_standin import GitHubStandIn

OWNER, NAME = "acme", "channel"
LINES = ("demo", "other")
ARTIFACTS = ("Dockerfile", "image.lock.json", layout.SBOM, "releases.json", "CHANGELOG.md")


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class Row:
    run: int
    event: str
    builds: int = 0
    pushes: int = 0
    writes: int = 0


@dataclass
class Schedule:
    """The remote, the stand-in, the upstream image and a fresh clone per job."""

    tmp: Path
    remote: Path
    api: GitHubStandIn
    engine: Engine
    registry: str
    upstream: str  # repository of the test's own upstream image, tag `bookworm`
    capsys: pytest.CaptureFixture[str]
    clones: int = 0
    rows: list[Row] = field(default_factory=list)
    version_tags: dict[str, str] = field(default_factory=dict)  # repository:X.Y.Z -> digest, once seen

    # -- jobs ---------------------------------------------------------------------------------------------
    def checkout(self) -> Path:
        self.clones += 1
        where = self.tmp / f"job-{self.clones:03d}"
        git(self.tmp, "clone", "-q", str(self.remote), str(where))
        git(where, "config", "user.email", "builder-bot@users.noreply.github.com")
        git(where, "config", "user.name", "builder-bot")
        return where

    def cli(self, root: Path, *args: str) -> tuple[int, str]:
        self.capsys.readouterr()
        code = cli.main(["--root", str(root / "channel"), *args])
        return code, self.capsys.readouterr().out

    def rebuild(self, event: str, images: tuple[str, ...] = (), force: bool = False) -> Row:
        """rebuild.yml: watch; plan; one build job, level by level in the plan's order; bot."""
        row = Row(len(self.rows) + 1, event)
        writes = self.api.writes()
        job = self.checkout()
        code, out = self.cli(job, "watch", "--json", "--github-output", str(self.github_output(job)), *images)
        assert code in (0, 1, 12), out
        stale = read_github_outputs(self.github_output(job))["stale"] == "true"
        assert stale == bool(json.loads(out)["stale"])
        dispatched = bool(images) or force
        if stale or dispatched:
            job = self.checkout()
            code, out = self.cli(
                job,
                "plan",
                "--json",
                "--watch",
                "--github-output",
                str(self.github_output(job)),
                *(["--force"] if force else []),
                *images,
            )
            assert code == 0, out
            outputs = read_github_outputs(self.github_output(job))
            levels = [line.split() for line in outputs["levels"].splitlines()]
            assert levels == [level["image"] for level in json.loads(out)["matrix"]]
            assert int(outputs["count"]) == sum(len(level) for level in levels)
            if levels:
                artifacts = self.tmp / f"artifacts-{row.run}"
                job = self.checkout()
                flags = ["--push", "--watch", "--exact", *(["--force"] if force else [])]
                for level in levels:
                    row.builds += len(level)
                    code, out = self.cli(job, "build", *flags, *level)
                    row.pushes += sum(1 for line in out.splitlines() if line.strip().startswith("pushed "))
                    self.cli(job, "release", "--auto", *level)
                for image in (image for level in levels for image in level):
                    _pack(job, image, artifacts)
                job = self.checkout()
                _unpack(artifacts, job)
                code, out = self.cli(job, "bot")
                assert code == 0, out
        row.writes = self.api.writes() - writes
        self.rows.append(row)
        return row

    @staticmethod
    def github_output(job: Path) -> Path:
        return job.parent / f"{job.name}.github-output"

    def release(self, *, crash_after: int | None = None) -> int:
        """release.yml: builder release, builder catalog, commit and push to main (rebasing if it moved)."""
        job = self.checkout()
        if crash_after is None:
            code, _ = self.cli(job, "release")
        else:
            code, _ = _crashing_release(self, job, crash_after)
        if code != 0:
            return code
        assert self.cli(job, "catalog")[0] == 0
        git(job, "add", "--", "channel/base-images")
        if subprocess.run(["git", "diff", "--cached", "--quiet"], cwd=job, check=False).returncode == 0:
            return 0
        git(job, "commit", "-qm", "chore(release): written by builder release")
        for _ in range(3):
            if (
                subprocess.run(
                    ["git", "push", "-q", "origin", "HEAD:refs/heads/main"], cwd=job, check=False, capture_output=True
                ).returncode
                == 0
            ):
                return 0
            git(job, "fetch", "-q", "origin", "main")
            git(job, "rebase", "-q", "origin/main")
        raise AssertionError("the release commit could not be pushed")

    def merge(self, line: str) -> None:
        """A maintainer merges the line's open pull request (a merge commit, as GitHub's button makes)."""
        (pull,) = self.open_pulls(line)
        job = self.checkout()
        git(job, "merge", "-q", "--no-ff", "-m", f"Merge pull request #{pull['number']}", f"origin/builder/{line}")
        git(job, "push", "-q", "origin", "HEAD:refs/heads/main")
        self.api.merge(OWNER, NAME, pull["number"])

    def move_upstream(self, generation: int) -> None:
        base = f"{self.registry}/library/debian:bookworm-slim"
        self.engine.build(
            f"FROM {base}\nLABEL org.example.generation={generation}\n",
            f"{self.upstream}:bookworm",
            {},
            pull=False,
            on_line=lambda _line: None,
        )
        self.engine.push(self.upstream, "bookworm")

    # -- what the channel promises ----------------------------------------------------------------------
    def open_pulls(self, line: str) -> list[dict[str, Any]]:
        return [
            p for p in self.api.pulls(OWNER, NAME) if p["state"] == "open" and p["head"]["ref"] == f"builder/{line}"
        ]

    def main_lock(self, line: str) -> dict[str, Any]:
        text = git(self.remote, "show", f"main:channel/base-images/{line}/image.lock.json")
        return dict(json.loads(text))

    def check(self, expected_cves: dict[str, set[str]], allowed_closed: set[int]) -> None:
        for line in LINES:
            pulls = self.open_pulls(line)
            assert len(pulls) <= 1, f"{line}: {len(pulls)} open pull requests"
            for pull in pulls:
                listed = set(_cves(str(pull["body"])))
                assert listed == expected_cves[line], f"{line} #{pull['number']} lists {sorted(listed)}"
        for pull in self.api.pulls(OWNER, NAME):
            if pull["state"] == "closed" and not pull["merged_at"]:
                assert pull["number"] in allowed_closed, f"#{pull['number']} was closed by the bot"
        client = RegistryClient()
        for line in LINES:
            record = json.loads(git(self.remote, "show", f"main:channel/base-images/{line}/releases.json"))
            repository = str(self.main_lock(line)["result"]["repository"])
            for tag in client.tags(repository):
                if tag.count(".") == 2:
                    digest = client.digest(f"{repository}:{tag}")
                    assert self.version_tags.setdefault(f"{repository}:{tag}", digest) == digest, f"{tag} moved"
            versions = [str(r["version"]) for r in record["releases"]]
            assert len(versions) == len(set(versions)), f"{line}: a version released twice: {versions}"
            last = versions[-1]
            assert f"{repository}:{last}" in self.version_tags, f"{line} {last} has no tag"
            catalog = json.loads(git(self.remote, "show", "main:channel/base-images/index.json"))
            (entry,) = [i for i in catalog["images"] if i["image"] == line]
            assert entry["current"] == last, f"{line}: the catalog says {entry['current']}, releases.json {last}"
            assert entry["tags"][last] == self.version_tags[f"{repository}:{last}"], f"{line}: catalog digest"

    def table(self) -> str:
        lines = ["run | event                                      | builds | pushes | PR writes"]
        lines += [f"{r.run:>3} | {r.event:<42} | {r.builds:>6} | {r.pushes:>6} | {r.writes:>9}" for r in self.rows]
        return "\n".join(lines)


def _cves(text: str) -> list[str]:
    return sorted(set(re.findall(r"CVE-\d{4}-\d{4,}", text)))


def _pack(job: Path, image: str, artifacts: Path) -> None:
    """The build job's upload: the files its build wrote, for the next level and the bot."""
    folder = job / "channel" / "base-images" / image
    for path in folder.rglob("*"):
        if path.is_file() and path.name in ARTIFACTS:
            target = artifacts / path.relative_to(job)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)


def _unpack(artifacts: Path, job: Path) -> None:
    if artifacts.is_dir():
        shutil.copytree(artifacts, job, dirs_exist_ok=True)


def _crashing_release(schedule: Schedule, job: Path, crash_after: int) -> tuple[int, str]:
    """`builder release` whose runner dies after `crash_after` tag writes."""
    original = RegistryClient.put_manifest
    writes = 0

    def put(self: RegistryClient, reference: str, manifest: object) -> None:
        nonlocal writes
        if writes >= crash_after:
            raise RegistryError(f"{reference}: the runner lost its network")
        writes += 1
        original(self, reference, manifest)  # type: ignore[arg-type]

    RegistryClient.put_manifest = put  # type: ignore[method-assign]
    try:
        return schedule.cli(job, "release")
    finally:
        RegistryClient.put_manifest = original  # type: ignore[method-assign]


@pytest.fixture
def github_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    with GitHubStandIn(token="schedule-token") as api:
        monkeypatch.setenv("GITHUB_API_URL", api.start())
        monkeypatch.setenv("GITHUB_REPOSITORY", f"{OWNER}/{NAME}")
        monkeypatch.setenv("GITHUB_TOKEN", "schedule-token")
        yield api


def test_weeks_of_scheduled_runs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: Engine,
    registry: str,
    repo: AptRepo,
    github_api: GitHubStandIn,
) -> None:
    monkeypatch.setenv("BUILDER_CACHE_DIR", str(tmp_path / "cache"))  # actions/cache would keep the indexes
    upstream_name = cleanup.scratch("library/sim").removeprefix("library/")
    recipes = {
        "demo": (
            f"name: demo\ndescription: installs demo\nversion: 1.0.0\ndistro: debian\n"
            f"from: {upstream_name}:bookworm\npackages: [demo]\n"
            f"repositories: [{{url: '{repo.url}', suite: bookworm-security, trusted: true}}]\n"
        ),
        "other": (
            f"name: other\ndescription: the base alone\nversion: 1.0.0\ndistro: debian\n"
            f"from: {upstream_name}:bookworm\n"
        ),
    }
    seed = tmp_path / "seed"
    seed.mkdir()
    root = make_channel(seed, registry, monkeypatch, recipes)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    github_api.add_repo(OWNER, NAME, "main", git_dir=remote)
    schedule = Schedule(tmp_path, remote, github_api, engine, registry, f"{registry}/library/{upstream_name}", capsys)
    schedule.move_upstream(0)

    # The starting point: both lines built, released and on main, as a maintainer set them up.
    git(seed, "init", "-q", "-b", "main")
    git(seed, "remote", "add", "origin", str(remote))
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    assert cli.main(["--root", str(root), "release"]) == 0
    git(seed, "add", "-A")
    git(seed, "-c", "user.email=m@example.com", "-c", "user.name=M", "commit", "-qm", "channel: demo, other 1.0.0")
    git(seed, "push", "-q", "origin", "main")

    cves: dict[str, set[str]] = {"demo": set(), "other": set()}
    declined: set[int] = set()
    changelog = [ChangelogEntry("1.0-1", lines=["Initial release."])]

    def publish(version: str, cve: str, depends: str | None = None) -> None:
        changelog.insert(0, ChangelogEntry(version, lines=[f"Fix {cve}: overflow in the gizmo"]))
        repo.add_package("demo", version, changelog=changelog, depends=depends)
        repo.publish()

    def after(row: Row, *, builds: int | None = None, quiet: bool = False) -> None:
        schedule.check(cves, declined)
        if builds is not None:
            assert row.builds == builds, schedule.table()
        if quiet:
            assert (row.builds, row.pushes, row.writes) == (0, 0, 0), schedule.table()

    publish("1.1-1", "CVE-2026-7001")
    cves["demo"] |= {"CVE-2026-7001"}
    after(schedule.rebuild("a security fix lands for demo"), builds=1)
    (first,) = schedule.open_pulls("demo")

    after(schedule.rebuild("nothing new"), quiet=True)
    after(schedule.rebuild("nothing new"), quiet=True)

    schedule.move_upstream(1)
    after(schedule.rebuild("the upstream digest moves"), builds=2)
    assert [p["number"] for p in schedule.open_pulls("demo")] == [first["number"]]
    (other_pull,) = schedule.open_pulls("other")
    assert "new base digest" in str(other_pull["title"]) or "rebuild" in str(other_pull["title"])

    publish("1.2-1", "CVE-2026-7002")
    cves["demo"] |= {"CVE-2026-7002"}
    after(schedule.rebuild("a second fix for demo"), builds=1)

    after(schedule.rebuild("dispatch: other only, forced", images=("other",), force=True), builds=1)
    assert [p["number"] for p in schedule.open_pulls("demo")] == [first["number"]]

    publish("1.3-1", "CVE-2026-7003", depends="no-such-package-anywhere")
    row = schedule.rebuild("demo's build fails")
    after(row, builds=1)
    assert row.pushes == 0
    assert [p["number"] for p in schedule.open_pulls("demo")] == [first["number"]]

    github_api.decline(OWNER, NAME, int(other_pull["number"]))
    declined.add(int(other_pull["number"]))
    repo.remove_package("demo", "1.3-1")
    repo.publish()
    after(schedule.rebuild("other declined; the broken demo withdrawn"), quiet=True)
    assert schedule.open_pulls("other") == []

    git_tip = git(remote, "rev-parse", "refs/heads/builder/demo")
    schedule.merge("demo")
    assert schedule.release(crash_after=1) != 0  # the runner dies after the version tag
    assert schedule.release() == 0  # the workflow's re-run completes it
    cves["demo"] = set()
    schedule.rows.append(Row(len(schedule.rows) + 1, "demo merged; release crashed, then re-run"))
    released = json.loads(git(remote, "show", "main:channel/base-images/demo/releases.json"))
    assert released["releases"][-1]["version"] == "1.0.1"
    catalog = json.loads(git(remote, "show", "main:channel/base-images/index.json"))
    (demo,) = [i for i in catalog["images"] if i["image"] == "demo"]
    assert demo["versions"][0]["cves_fixed"] == ["CVE-2026-7001", "CVE-2026-7002"]
    assert git(remote, "rev-parse", "refs/heads/builder/demo") == git_tip
    after(schedule.rebuild("nothing new after the release"), quiet=True)

    schedule.move_upstream(2)
    after(schedule.rebuild("the upstream digest moves again"), builds=2)
    assert len(schedule.open_pulls("other")) == 1  # new inputs lift the decline

    schedule.merge("demo")
    schedule.merge("other")
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(schedule.release())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [0, 0]
    schedule.rows.append(Row(len(schedule.rows) + 1, "both merged; two releases at once"))
    after(schedule.rebuild("nothing new after both releases"), quiet=True)

    print("\n" + schedule.table())
    assert github_api.violations == []
    assert github_api.response_errors == []
    assert len([r for r in schedule.rows if r.builds or r.writes or "release" in r.event]) >= 8
