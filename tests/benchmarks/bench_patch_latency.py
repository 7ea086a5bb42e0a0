"""Patch latency, run on demand against the local environment (`bash .ci/local-env`).

    python3 -m tests.benchmarks.bench_patch_latency

From a security fix published in a local apt repository to the pull request open with its
CVE id, in one scheduled run as rebuild.yml makes it (watch, plan, one build job that builds
the plan level by level, bot), on a git channel whose origin is a bare repository and whose GitHub
is the stand-in. Measured for the sample channel, with the repository and its package
added to every image by an organization overlay. Goal: under 120 s per image on this
machine, the run as a whole under 120 s times the number of images. What it builds and pushes
is removed at the end, locally and in the registry.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from builder.cli import main as cli
from tests.support import cleanup
from tests.support.aptrepo import AptRepo, ChangelogEntry
from tests.support.github_standin import GitHubStandIn

REPO = Path(__file__).resolve().parents[2]
REGISTRY = os.environ.get("BUILDER_TEST_REGISTRY", "127.0.0.1:5000")
GOAL = 120.0  # seconds per image
CVE = "CVE-2026-8001"


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def run(root: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(["--root", str(root), *args])
    return code, out.getvalue()


def timed(root: Path, *args: str) -> tuple[float, int, str]:
    start = time.perf_counter()
    code, out = run(root, *args)
    return time.perf_counter() - start, code, out


def verdict(seconds: float, goal: float) -> str:
    return f"goal < {goal:.0f} s  {'ok' if seconds < goal else 'MISS'}"


def main() -> None:
    namespace = cleanup.scratch("bench")
    try:
        measure(namespace)
    finally:
        cleanup.remove([(REGISTRY, None)], {namespace})


def measure(namespace: str) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        AptRepo(Path(tmp) / "apt", suite="bookworm-security") as apt,
        GitHubStandIn(token="bench-token") as api,
    ):
        top = Path(tmp)
        apt.add_package("demo", "1.0-1", changelog=[ChangelogEntry("1.0-1", lines=["Initial release."])])
        apt.publish()
        apt.serve()
        root = top / "channel"
        root.mkdir()
        shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
        shutil.copytree(REPO / "recipes", root / "recipes")
        (root / "recipes" / "_overlay.yaml").write_text(
            f"repositories:\n  - {{url: '{apt.url}', suite: bookworm-security, trusted: true}}\npackages: [demo]\n",
            encoding="utf-8",
        )
        os.environ.update(
            BUILDER_REGISTRY=REGISTRY,
            BUILDER_NAMESPACE=namespace,
            BUILDER_UPSTREAM_MIRRORS=f"docker.io={REGISTRY}",
            BUILDER_CACHE_DIR=str(top / "cache"),
            GITHUB_API_URL=api.start(),
            GITHUB_REPOSITORY="acme/channel",
            GITHUB_TOKEN="bench-token",
        )
        remote = top / "remote.git"
        git(top, "init", "-q", "--bare", "-b", "main", str(remote))
        api.add_repo("acme", "channel", "main", git_dir=remote)
        git(top, "init", "-q", "-b", "main", str(top))
        git(top, "remote", "add", "origin", str(remote))
        assert run(root, "render")[0] == 0
        assert run(root, "build", "--push", "--jobs", "2")[0] == 0, "the starting build failed"
        assert run(root, "release")[0] == 0
        git(top, "add", "-A", "channel")
        git(top, "-c", "user.email=m@example.com", "-c", "user.name=M", "commit", "-qm", "start")
        git(top, "push", "-q", "origin", "main")

        # The fix lands; one scheduled run takes it to pull requests.
        apt.add_package(
            "demo",
            "1.1-1",
            changelog=[
                ChangelogEntry("1.1-1", lines=[f"Fix {CVE}."]),
                ChangelogEntry("1.0-1", lines=["Initial release."]),
            ],
        )
        apt.publish()
        start = time.perf_counter()
        watch_s, _, _ = timed(root, "watch", "--json")
        plan_s, code, out = timed(root, "plan", "--json", "--watch")
        assert code == 0, out
        builds: list[tuple[list[str], float, int]] = []
        for level in json.loads(out)["matrix"]:
            seconds, code, _ = timed(root, "build", "--push", "--watch", "--exact", *level["image"])
            builds.append((level["image"], seconds, code))
        bot_s, code, out = timed(root, "bot")
        total = time.perf_counter() - start
        opened = [p for p in api.pulls("acme", "channel") if CVE in str(p["body"])]
        images = [image for level, _, _ in builds for image in level]
        lines = {image.split("/")[0] for image in images}

        print("patch latency: fix published -> pull request open with its CVE id, one scheduled run")
        print(f"{'step':<28} {'seconds':>8}  exit")
        print(f"{'watch':<28} {watch_s:>8.1f}")
        print(f"{'plan --watch':<28} {plan_s:>8.1f}")
        for number, (level, seconds, code) in enumerate(builds, start=1):
            print(
                f"{f'build level {number} ({len(level)} image(s))':<28} {seconds:>8.1f}  {code:>4}  "
                f"{verdict(seconds, GOAL * len(level))}"
            )
        print(f"{'bot':<28} {bot_s:>8.1f}  {code:>4}")
        per_image = total / max(len(images), 1)
        print(
            f"\nwhole run: {total:.1f} s for {len(images)} image(s), {per_image:.1f} s per image  "
            f"{verdict(per_image, GOAL)}"
        )
        print(
            f"pull requests naming {CVE}: {len(opened)} of {len(lines)} image line(s)  "
            f"{'ok' if len(opened) == len(lines) else 'MISS'}"
        )


if __name__ == "__main__":
    main()
