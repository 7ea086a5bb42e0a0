"""Build benchmarks, run on demand against the local environment (`bash .ci/local-env`).

    python3 tests/benchmarks/bench_build.py

(1) A second `builder build --push` with nothing changed, as a ratio of the first full
    build of the sample channel (target: builds nothing, under 5% of the full build).
(2) The size of each sample image against a naive Dockerfile with the same packages on
    the same base (`apt-get install` without any hardening), as a ratio (target: <= 1.0).
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from builder.channel import layout
from builder.channel import lock as lockfile
from builder.cli import main as cli
from builder.core import settings
from builder.image.docker_engine import DockerEngine
from builder.image.engine import Engine
from builder.recipe import graph
from builder.recipe import load as recipes
from builder.recipe.variants import ImageSpec

REPO = Path(__file__).resolve().parents[2]
REGISTRY = os.environ.get("BUILDER_TEST_REGISTRY", "127.0.0.1:5000")


def timed_build(root: Path) -> tuple[float, int, str]:
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(["--root", str(root), "build", "--push", "--jobs", "2"])
    return time.perf_counter() - start, code, out.getvalue().strip().splitlines()[-1]


def naive_size(engine: Engine, base: str, packages: tuple[str, ...], tag: str) -> int:
    dockerfile = (f"FROM {base}\nRUN apt-get update && apt-get install -y "
                  f"{' '.join(packages)}\n")
    image_id = engine.build(dockerfile, tag, {}, pull=False, on_line=lambda _line: None)
    return engine.inspect(image_id).size


def main() -> None:
    engine = DockerEngine.connect()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
        shutil.copytree(REPO / "recipes", root / "recipes")
        os.environ.update(BUILDER_REGISTRY=REGISTRY, BUILDER_NAMESPACE=f"bench-{secrets.token_hex(4)}",
                          BUILDER_UPSTREAM_MIRRORS=f"docker.io={REGISTRY}")
        first, code1, _ = timed_build(root)
        second, code2, last = timed_build(root)
        print("(1) rebuild with nothing changed")
        print(f"{'run':>8} {'seconds':>9} {'exit':>5}")
        print(f"{'full':>8} {first:>9.2f} {code1:>5}")
        print(f"{'again':>8} {second:>9.2f} {code2:>5}   {last}")
        print(f"second / first = {second / first:.3f} (target < 0.05)\n")

        config = settings.load(root)
        channel = graph.build(recipes.load_dir(config.recipes_dir, root))
        print("(2) image size against a naive Dockerfile with the same packages on the same base")
        print(f"{'image':>14} {'hardened MB':>12} {'naive MB':>9} {'ratio':>6}")
        for image_id, image in sorted(channel.images.items()):
            lock = lockfile.read(config.output_dir / image_id / layout.LOCK)
            assert lock is not None
            assert lock.result is not None
            root_image = channel.root_of(image)
            root_lock = lockfile.read(config.output_dir / root_image.id / layout.LOCK)
            assert root_lock is not None
            upstream = f"{root_lock.base.reference}@{root_lock.base.digest}"
            wanted = tuple(sorted({p for img in _chain(channel, image) for p in img.packages}))
            naive = naive_size(engine, upstream, wanted, f"{config.registry}/bench-naive/{image.name}:x")
            print(f"{image_id:>14} {lock.result.size / 1e6:>12.1f} {naive / 1e6:>9.1f} "
                  f"{lock.result.size / naive:>6.2f}")


def _chain(channel: graph.Channel, image: ImageSpec) -> list[ImageSpec]:
    chain = [image]
    while (parent := channel.parent(chain[-1])) is not None:
        chain.append(parent)
    return chain


if __name__ == "__main__":
    main()
