"""The PR bot on builds of the fake engine, against the GitHub stand-in (every request checked against
GitHub's OpenAPI description) reached in the process, with a bare git repository as the remote."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from builder.github import bot
from builder.github.client import GitHub
from builder.image import build, plan
from builder.upstream.registry import RegistryClient
from tests.support.channel import load_channel
from tests.support.fake_engine import FakeEngine
from tests.support.github_standin import IN_PROCESS, GitHubStandIn

pytestmark = pytest.mark.allow_subprocess  # git

OWNER, NAME = "acme", "images"
UPSTREAM = "sha256:" + "1" * 64
BASE = "name: base\ndescription: b\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=m@example.com", "-c", "user.name=M", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@dataclass
class World:
    root: Path
    remote: Path
    github: GitHubStandIn
    engine: FakeEngine

    def build(self) -> None:
        config, channel = load_channel(self.root, environ={})
        made = plan.make(config, channel, sorted(channel.images), lambda _ref: UPSTREAM)
        outcomes = build.run(
            config,
            channel,
            made,
            self.engine,
            build.Options(push=True, jobs=1, revision=None, source_url=None, log=lambda _line: None),
            client=RegistryClient(session=self.engine.registry.session()),
        )
        assert [o.status for o in outcomes] == ["pushed"], outcomes

    def bot(self) -> list[str]:
        config, channel = load_channel(self.root, environ={})
        client = GitHub(IN_PROCESS, f"{OWNER}/{NAME}", "bot-token", session=self.github.session())
        outcomes = [str(o) for o in bot.Bot(config, channel, client).run(["base"])]
        assert (self.github.violations, self.github.response_errors) == ([], [])
        return outcomes

    def branch(self, *args: str) -> str:
        return git(self.remote, *args)


@pytest.fixture
def world(tmp_path: Path) -> World:
    root, remote = tmp_path / "channel", tmp_path / "remote.git"
    (root / "recipes").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.builder]\nregistry = "registry.test"\nnamespace = "base"\n')
    (root / "recipes" / "base.yaml").write_text(BASE)
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "recipes")
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "-q", "origin", "main")
    github = GitHubStandIn(token="bot-token")
    github.add_repo(OWNER, NAME, "main", git_dir=remote)
    return World(root, remote, github, FakeEngine())


def test_a_build_opens_one_pull_request_with_exactly_its_files(world: World) -> None:
    world.build()
    (outcome,) = world.bot()
    assert outcome.startswith("   opened base: #1 ")
    (pull,) = world.github.pulls(OWNER, NAME)
    assert (pull["head"]["ref"], pull["base"]["ref"]) == ("builder/base", "main")
    assert {label["name"] for label in pull["labels"]} == {"automated", "base"}
    assert world.branch("ls-tree", "-r", "--name-only", "builder/base", "--", "base-images").splitlines() == [
        "base-images/base/CHANGELOG.md",
        "base-images/base/Dockerfile",
        "base-images/base/image.lock.json",
        "base-images/base/sbom.spdx.json",
    ]
    assert world.branch("log", "-1", "--format=%ae", "builder/base") == bot.BOT_EMAIL
    head = world.branch("rev-parse", "builder/base")
    assert [(s["sha"], s["context"], s["state"]) for s in world.github.statuses] == [
        (head, bot.STATUS_CONTEXT, "success")
    ]
    assert git(world.root, "status", "--porcelain") == "?? base-images/"  # the working tree was left alone


def test_nothing_new_leaves_the_pull_request_and_branch_alone(world: World) -> None:
    world.build()
    world.bot()
    tip = world.branch("rev-parse", "builder/base")
    writes = world.github.writes()
    assert world.bot() == ["unchanged base: #1"]
    assert (world.branch("rev-parse", "builder/base"), world.github.writes()) == (tip, writes)


def test_a_rebuild_with_other_inputs_updates_the_same_pull_request(world: World) -> None:
    world.build()
    world.bot()
    tip = world.branch("rev-parse", "builder/base")
    (world.root / "recipes" / "base.yaml").write_text(BASE + "env: {LANG: C.UTF-8}\n")
    world.build()
    (outcome,) = world.bot()
    assert outcome.startswith("  updated base: #1 ")
    assert len(world.github.pulls(OWNER, NAME)) == 1
    assert world.branch("rev-parse", "builder/base^") != tip  # rebuilt on the base, not stacked on the old tip
    assert "LANG=" in world.branch("show", "builder/base:base-images/base/Dockerfile")


def test_a_pull_request_closed_unmerged_is_not_opened_again_for_the_same_build(world: World) -> None:
    world.build()
    world.bot()
    world.github.decline(OWNER, NAME, 1)
    assert world.bot() == [
        " declined base: #1 was closed without merging and its inputs have not changed since; reopen it, "
        "or delete builder/base, to have it again"
    ]
    assert [p["state"] for p in world.github.pulls(OWNER, NAME)] == ["closed"]


def test_a_branch_with_someone_elses_commits_is_left_alone(world: World) -> None:
    git(world.root, "-c", "user.email=someone@example.com", "commit", "-q", "--allow-empty", "-m", "mine")
    git(world.root, "push", "-q", "origin", "HEAD:refs/heads/builder/base")
    git(world.root, "reset", "-q", "--hard", "HEAD~1")
    world.build()
    assert world.bot() == ["  skipped base: builder/base carries commits by someone@example.com; left alone"]
    assert world.github.pulls(OWNER, NAME) == []
