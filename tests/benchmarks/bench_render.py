"""Render benchmark: load, validate, render and write 1, 100 and 1,000 generated recipes.

Run on demand: `python3 tests/benchmarks/bench_render.py`. Prints one row per size and
the per-recipe cost relative to the smallest run, measured in the same process.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from builder import graph, recipes, render, settings

SIZES = (1, 100, 1000)
REPEATS = 5
TEMPLATE = """\
name: img{i}
description: Generated image {i}
version: 1.{i}.0
distro: {distro}
from: {frm}
packages: [ca-certificates, curl, pkg{i}]
user: {{name: app, uid: {uid}, gid: {uid}}}
env: {{APP_ID: "{i}", LANG: C.UTF-8}}
labels: {{org.example.index: "{i}"}}
entrypoint: [curl]
variants:
  - {{name: next, from: {{image: "debian:trixie-slim"}}}}
tests:
  - {{name: runs, run: [curl, --version]}}
"""


def make_channel(root: Path, count: int) -> None:
    (root / "recipes").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.builder]\nupstream_mirrors = { "docker.io" = "127.0.0.1:5000" }\n')
    for i in range(count):
        # Every tenth image builds on the one before it, so the graph has edges.
        frm = f"{{recipe: img{i - 1}}}" if i % 10 and i else '"debian:bookworm-slim"'
        (root / "recipes" / f"img{i}.yaml").write_text(
            TEMPLATE.format(i=i, distro="debian", frm=frm, uid=10000))
    # Flush the set-up's own writes (and earlier runs' deletions) so they are not timed.
    os.sync()


def run_once(root: Path) -> tuple[float, float]:
    """Seconds spent loading, validating and rendering; and seconds spent writing."""
    start = time.perf_counter()
    config = settings.load(root, environ={})
    channel = graph.build(recipes.load_dir(config.recipes_dir, root))
    outputs = render.render_all(config, channel, sorted(channel.images))
    rendered = time.perf_counter()
    render.write(outputs)
    return rendered - start, time.perf_counter() - rendered


def main() -> None:
    measure(None, "the disk (TMPDIR)")
    if Path("/dev/shm").is_dir():
        measure("/dev/shm", "memory (/dev/shm), to tell our cost from the disk's")


def measure(where: str | None, label: str) -> None:
    print(f"channel on {label}")
    rows = []
    for count in SIZES:
        compute, write = [], []
        for _ in range(REPEATS):
            with tempfile.TemporaryDirectory(dir=where) as tmp:
                root = Path(tmp)
                make_channel(root, count)
                seconds = run_once(root)
                compute.append(seconds[0])
                write.append(seconds[1])
        rows.append((count, statistics.median(compute), statistics.median(write)))
    print(f"{'recipes':>8} {'images':>7} {'load+render s':>14} {'write s':>8} {'total s':>8} "
          f"{'ms/recipe':>10} {'cpu ms/recipe':>14}")
    for count, compute_s, write_s in rows:
        total = compute_s + write_s
        print(f"{count:>8} {count * 2:>7} {compute_s:>14.3f} {write_s:>8.3f} {total:>8.3f} "
              f"{total / count * 1000:>10.2f} {compute_s / count * 1000:>14.2f}")
    mid, big = rows[1], rows[-1]
    cpu_ratio = (big[1] / big[0]) / (mid[1] / mid[0])
    total_ratio = ((big[1] + big[2]) / big[0]) / ((mid[1] + mid[2]) / mid[0])
    print(f"per-recipe cost {big[0]} vs {mid[0]} recipes: load+render {cpu_ratio:.2f}x, "
          f"total {total_ratio:.2f}x (flat is 1.00x; the write column "
          f"is file creation and rename, and follows the disk)")
    print(f"{big[0]} recipes end to end: {big[1] + big[2]:.2f} s (target < 2 s)\n")


if __name__ == "__main__":
    main()
