"""Plan and watch compare with the open candidate on the bot branch, when the checkout has one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from builder.channel.candidates import Candidates
from builder.channel.layout import ImageFiles
from builder.image import plan
from tests.unit.test_plan import UPSTREAM, load, make_channel, record

MOVED = "sha256:" + "9" * 64
pytestmark = pytest.mark.allow_subprocess


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=m@example.com", "-c", "user.name=M", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def reasons(root: Path) -> dict[str, tuple[str, ...]]:
    config, channel = load(root)
    made = plan.make(config, channel, sorted(channel.images), lambda ref: MOVED if "bookworm" in ref else UPSTREAM)
    return {step.image: step.reasons for step in made.steps()}


@pytest.fixture
def channel(tmp_path: Path) -> Path:
    """main holds base, app and other built FROM UPSTREAM; the bot branch of base holds a build FROM MOVED."""
    root = make_channel(tmp_path)
    record(root, "base", UPSTREAM, "sha256:" + "a" * 64)
    record(root, "app", "sha256:" + "a" * 64, "sha256:" + "c" * 64)
    record(root, "other", UPSTREAM, "sha256:" + "b" * 64)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "main")
    git(root, "switch", "-q", "-c", "candidate")
    record(root, "base", MOVED, "sha256:" + "e" * 64)
    git(root, "commit", "-qam", "candidate")
    git(root, "update-ref", "refs/remotes/origin/builder/base", "HEAD")
    git(root, "switch", "-q", "main")
    return root


def test_an_open_candidate_with_the_same_inputs_is_not_built_again(channel: Path) -> None:
    assert reasons(channel) == {"base": (), "other": (), "app": ("parent base was rebuilt",)}
    git(channel, "update-ref", "-d", "refs/remotes/origin/builder/base")
    assert reasons(channel)["base"] == ("upstream digest moved: sha256:111111111111 -> sha256:999999999999",)


def test_a_local_build_not_yet_committed_wins_over_the_branch(channel: Path) -> None:
    record(channel, "base", UPSTREAM, "sha256:" + "f" * 64)
    config, loaded = load(channel)
    effective = Candidates(config).effective(loaded.images["base"])
    assert effective is not None
    assert effective.result is not None
    assert effective.result.digest == "sha256:" + "f" * 64


def test_a_broken_candidate_is_ignored_and_rebuilt(channel: Path) -> None:
    git(channel, "switch", "-q", "candidate")
    config, loaded = load(channel)
    path = ImageFiles.of(config, loaded.images["base"]).lock
    path.write_text("{not json")
    git(channel, "commit", "-qam", "broken")
    git(channel, "update-ref", "refs/remotes/origin/builder/base", "HEAD")
    git(channel, "switch", "-q", "main")
    assert Candidates(config).lock(loaded.images["base"]) is None
    assert reasons(channel)["base"] == ("upstream digest moved: sha256:111111111111 -> sha256:999999999999",)


def test_outside_a_git_checkout_the_lock_is_all_there_is(tmp_path: Path) -> None:
    root = make_channel(tmp_path)
    record(root, "base", UPSTREAM, "sha256:" + "a" * 64)
    config, loaded = load(root)
    assert Candidates(config).lock(loaded.images["base"]) is None
    assert reasons(root)["base"] == ("upstream digest moved: sha256:111111111111 -> sha256:999999999999",)
