"""The whole loop: a security fix lands, watch sees it, the image is rebuilt, the bot opens
one pull request, later fixes update it, merging it releases the image.

Real engine, registry, apt repository and git (a bare repository as the remote); GitHub's
API is the stand-in that validates every request against GitHub's OpenAPI description.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import git
import pytest

from builder.cli import main as cli
from builder.core import settings
from builder.github import bot
from builder.github.client import GitHub
from builder.image.engine import Engine
from builder.upstream.registry import RegistryClient
from tests.support.aptrepo import AptRepo, ChangelogEntry
from tests.support.channel import load_channel, make_channel
from tests.support.github_standin import GitHubStandIn

OWNER, NAME = "acme", "channel"
CVE_1, CVE_2 = "CVE-2026-5001", "CVE-2026-5002"


@pytest.fixture
def github_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[GitHubStandIn]:
    with GitHubStandIn(token="loop-token") as api:
        url = api.start()
        monkeypatch.setenv("GITHUB_API_URL", url)
        monkeypatch.setenv("GITHUB_REPOSITORY", f"{OWNER}/{NAME}")
        monkeypatch.setenv("GITHUB_TOKEN", "loop-token")
        yield api


def sh(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def git_channel(root: Path, remote: Path, github_api: GitHubStandIn) -> Path:
    """Make `root` a git repository whose origin is a new bare repository the stand-in knows."""
    sh(remote.parent, "init", "--bare", "-b", "main", str(remote))
    github_api.add_repo(OWNER, NAME, "main", git_dir=remote)
    sh(root, "init", "-b", "main")
    sh(root, "-c", "user.email=m@example.com", "-c", "user.name=M", "commit", "-q", "--allow-empty", "-m", "start")
    sh(root, "remote", "add", "origin", str(remote))
    sh(root, "push", "-q", "origin", "main")
    return remote


def publish(repo: AptRepo, version: str, cve: str, older: list[ChangelogEntry]) -> list[ChangelogEntry]:
    entries = [ChangelogEntry(version, lines=[f"Fix {cve}: use after free in the gizmo"]), *older]
    repo.add_package("demo", version, changelog=entries)
    repo.publish()
    return entries


def main(root: Path, *args: str) -> int:
    return cli.main(["--root", str(root), *args])


def test_the_loop(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: Engine,
    registry: str,
    repo: AptRepo,
    github_api: GitHubStandIn,
) -> None:
    monkeypatch.setenv("BUILDER_CACHE_DIR", str(tmp_path / "cache"))
    root = make_channel(
        tmp_path,
        registry,
        monkeypatch,
        {
            "demo": (
                f"name: demo\ndescription: installs demo\nversion: 1.0.0\ndistro: debian\n"
                f"from: debian:bookworm-slim\npackages: [demo]\n"
                f"repositories: [{{url: '{repo.url}', suite: bookworm-security, trusted: true}}]\n"
                "tests:\n  - {name: demo installed, run: [dpkg-query, -W, '-f=${Status}', demo], "
                "stdout: install ok installed}\n"
            ),
        },
    )
    remote = tmp_path / "remote.git"
    sh(tmp_path, "init", "--bare", "-b", "main", str(remote))
    github_api.add_repo(OWNER, NAME, "main", git_dir=remote)
    sh(root, "init", "-b", "main")
    sh(root, "config", "user.email", "maintainer@example.com")
    sh(root, "config", "user.name", "Maintainer")
    sh(root, "remote", "add", "origin", str(remote))

    # Version 1 is built, released and merged: the channel's starting point.
    assert main(root, "build", "--push") == 0
    assert main(root, "release") == 0
    sh(root, "add", "-A")
    sh(root, "commit", "-qm", "channel: demo 1.0.0")
    sh(root, "push", "-q", "origin", "main")

    # A fix lands upstream; the scheduled loop runs: watch, build, bot.
    older = publish(repo, "1.1-1", CVE_1, [ChangelogEntry("1.0-1", lines=["Initial release."])])
    assert main(root, "watch") == 1
    assert main(root, "build", "--push", "--watch") == 0
    capsys.readouterr()
    assert main(root, "bot") == 0
    assert capsys.readouterr().out.strip().startswith("opened demo: #1 fix(demo): security rebuild 1.0.1 (demo")
    (pull,) = github_api.pulls(OWNER, NAME)
    assert pull["head"]["ref"] == "builder/demo"
    assert pull["title"] == f"fix(demo): security rebuild 1.0.1 (demo {CVE_1})"
    assert f"| demo | 1.0-1 | 1.1-1 | {CVE_1} |" in pull["body"]
    assert {label["name"] for label in pull["labels"]} == {"automated", "demo", "security"}
    branch_files = sh(root, "ls-tree", "-r", "--name-only", "origin/builder/demo").splitlines()
    assert "base-images/demo/image.lock.json" in branch_files
    changelog = sh(root, "show", "origin/builder/demo:base-images/demo/CHANGELOG.md")
    assert changelog.index("## [Unreleased]") < changelog.index("## [1.0.0]")
    assert "Released as 1.0.1 when its pull request is merged." in changelog
    assert f"| demo | 1.0-1 | 1.1-1 | {CVE_1} |" in changelog
    assert sh(root, "log", "-1", "--format=%s", "origin/builder/demo") == pull["title"]
    assert sh(root, "rev-parse", "--abbrev-ref", "HEAD") == "main"  # the working tree was left alone

    # The loop again, with nothing new: still one PR, untouched.
    assert main(root, "build", "--push", "--watch") == 0
    tip = sh(root, "rev-parse", "origin/builder/demo")
    capsys.readouterr()
    assert main(root, "bot") == 0
    assert capsys.readouterr().out.strip() == "unchanged demo: #1"
    assert len(github_api.pulls(OWNER, NAME)) == 1
    sh(root, "fetch", "-q", "origin")
    assert sh(root, "rev-parse", "origin/builder/demo") == tip

    # Another fix lands before anyone merged: the same PR is updated.
    publish(repo, "1.2-1", CVE_2, older)
    assert main(root, "build", "--push", "--watch") == 0
    assert main(root, "bot") == 0
    (pull,) = github_api.pulls(OWNER, NAME)
    assert pull["number"] == 1
    assert "| demo | 1.0-1 | 1.2-1 |" in pull["body"]
    assert CVE_2 in pull["body"]

    # Merge it (fast-forward the remote's main) and run the release job.
    subprocess.run(
        ["git", "--git-dir", str(remote), "update-ref", "refs/heads/main", "refs/heads/builder/demo"], check=True
    )
    github_api.merge(OWNER, NAME, 1)
    sh(root, "fetch", "-q", "origin")
    sh(root, "reset", "-q", "--hard", "origin/main")
    assert main(root, "release") == 0
    released = (root / "base-images" / "demo" / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" not in released
    assert "## [1.0.1] - " in released
    repository = json.loads((root / "base-images" / "demo" / "image.lock.json").read_text())["result"]["repository"]
    latest = RegistryClient().digest(f"{repository}:latest")
    engine.pull(f"{repository}@{latest}")
    installed = engine.run(f"{repository}@{latest}", ["dpkg-query", "-W", "-f=${Version}", "demo"])
    assert installed.stdout.strip() == "1.2-1"
    assert github_api.violations == []
    assert github_api.response_errors == []


def test_two_bots_at_once_open_one_pull_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: Engine, registry: str, github_api: GitHubStandIn
) -> None:
    root = make_channel(
        tmp_path,
        registry,
        monkeypatch,
        {"twin": "name: twin\ndescription: raced\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"},
    )
    git_channel(root, tmp_path / "remote.git", github_api)
    assert main(root, "build", "--push") == 0
    # A second checkout of the same channel, as a second runner would have.
    other = tmp_path / "other"
    shutil.copytree(root, other)

    config = settings.load(root)
    results: list[list[bot.LineOutcome]] = []

    def run(where: Path) -> None:
        conf, channel = load_channel(where)
        client = GitHub(conf.github_api_url, conf.github_repository, "loop-token")
        results.append(bot.Bot(conf, channel, client).run(["twin"]))

    threads = [threading.Thread(target=run, args=(where,)) for where in (root, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert config.github_repository == f"{OWNER}/{NAME}"
    assert len([p for p in github_api.pulls(OWNER, NAME) if p["state"] == "open"]) == 1
    actions = sorted(outcome.action for result in results for outcome in result)
    assert actions[0] in ("failed", "opened", "unchanged", "updated")
    assert "opened" in actions
    assert github_api.violations == []


def test_a_branch_with_someone_elses_commits_is_left_alone(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: Engine,
    registry: str,
    github_api: GitHubStandIn,
) -> None:
    root = make_channel(
        tmp_path,
        registry,
        monkeypatch,
        {"mine": "name: mine\ndescription: hands off\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"},
    )
    remote = git_channel(root, tmp_path / "remote.git", github_api)
    sh(
        root,
        "-c",
        "user.email=someone@example.com",
        "-c",
        "user.name=Someone",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "my own work",
    )
    sh(root, "push", "-q", "origin", "HEAD:refs/heads/builder/mine")
    sh(root, "reset", "-q", "--hard", "HEAD~1")
    assert main(root, "build", "--push") == 0
    capsys.readouterr()
    assert main(root, "bot") == 0
    assert capsys.readouterr().out.strip() == (
        "skipped mine: builder/mine carries commits by someone@example.com; left alone"
    )
    assert github_api.pulls(OWNER, NAME) == []
    assert git.Repo(remote).git.log("-1", "--format=%ae", "builder/mine") == "someone@example.com"
