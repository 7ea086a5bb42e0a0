"""Build benchmark, run on demand against the local environment (`bash .ci/local-env`), from the
repository root:

    python3 -m tests.benchmarks.bench_build

(1) The full build of the sample channel (`builder build --push`), one image at a time
    (`--jobs 1`) and then with `--jobs 2`, in one run on the same machine, each from nothing
    into its own namespace. Goal: `--jobs 2` takes at most 0.6x the sequential time.
(2) A second build with nothing changed, as a ratio of the full build. Goal: under 0.05.

Each figure is printed beside its goal, with MISS when it misses it; the exit code is 0 all the
same. Afterwards it removes what it made: the engine's tags and the registry's manifests of its
namespaces.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from builder.cli import main as cli
from builder.core import settings
from builder.image.docker_engine import DockerEngine
from builder.recipe import graph
from builder.recipe import load as recipes
from builder.upstream.registry import RegistryClient

REPO = Path(__file__).resolve().parents[2]
REGISTRY = os.environ.get("BUILDER_TEST_REGISTRY", "127.0.0.1:5000")
PARALLEL_GOAL = 0.6
NOTHING_CHANGED_GOAL = 0.05


def timed_build(root: Path, *args: str) -> tuple[float, int, list[str]]:
    """Seconds, exit code and the lines the build printed on stdout (its final table)."""
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(["--root", str(root), "build", "--push", *args])
    return time.perf_counter() - start, code, out.getvalue().strip().splitlines()


@contextlib.contextmanager
def sample_channel(namespace: str) -> Iterator[Path]:
    """A copy of the sample channel that pushes to `namespace`; what it pushed is removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
        shutil.copytree(REPO / "recipes", root / "recipes")
        os.environ.update(
            BUILDER_REGISTRY=REGISTRY, BUILDER_NAMESPACE=namespace, BUILDER_UPSTREAM_MIRRORS=f"docker.io={REGISTRY}"
        )
        try:
            yield root
        finally:
            remove_pushed(root)


def remove_pushed(root: Path) -> None:
    """Drop the channel's images from the engine, and their manifests from the registry."""
    config = settings.load(root)
    names = {image.name for image in graph.build(recipes.load_dir(config.recipes_dir, root)).images.values()}
    repositories = {config.image_repository(name) for name in names}
    engine = DockerEngine.connect()
    for tag in engine.tags():
        if tag.rsplit(":", 1)[0] in repositories:
            engine.remove(tag)
    client = RegistryClient()
    for repository in sorted(repositories):
        host, path = repository.split("/", 1)
        listing = requests.get(f"http://{host}/v2/{path}/tags/list", timeout=30)
        if listing.status_code == 404:  # nothing was pushed there
            continue
        listing.raise_for_status()
        # Tags that share a manifest go with it: delete each manifest once.
        digests = {client.digest(f"{repository}:{tag}") for tag in listing.json().get("tags") or []}
        for digest in sorted(digests):
            requests.delete(f"http://{host}/v2/{path}/manifests/{digest}", timeout=30).raise_for_status()


def verdict(ratio: float, goal: float, strict: bool = False) -> str:
    missed = ratio >= goal if strict else ratio > goal
    return f"(goal {'<' if strict else '<='} {goal:.2f}){'   MISS' if missed else ''}"


def main() -> None:
    token = secrets.token_hex(4)
    results = {}
    for label, jobs in (("sequential", "1"), ("--jobs 2", "2")):
        with sample_channel(f"bench-{label.strip('-').replace(' ', '')}-{token}") as root:
            results[label] = timed_build(root, "--jobs", jobs)
            if label == "--jobs 2":
                results["again"] = timed_build(root, "--jobs", jobs)
    sequential, parallel, again = results["sequential"][0], results["--jobs 2"][0], results["again"][0]
    print(f"(1) full build of the sample channel, same machine, same run ({os.cpu_count()} cores)")
    print(f"{'run':>12} {'seconds':>9} {'exit':>5}")
    for label in ("sequential", "--jobs 2"):
        seconds, code, _ = results[label]
        print(f"{label:>12} {seconds:>9.1f} {code:>5}")
    print(f"--jobs 2 / sequential = {parallel / sequential:.2f} {verdict(parallel / sequential, PARALLEL_GOAL)}")
    print("\n    per image, --jobs 2:")
    for line in results["--jobs 2"][2]:
        print(f"    {line}")
    print("\n(2) a second build with nothing changed")
    print(f"    {results['again'][2][-1] if results['again'][2] else ''}")
    print(f"again / full = {again / parallel:.3f} {verdict(again / parallel, NOTHING_CHANGED_GOAL, strict=True)}")


if __name__ == "__main__":
    main()
