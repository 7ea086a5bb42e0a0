"""Render benchmark: load, validate, render and write 1, 100 and 1,000 generated recipes.

Run on demand, from the repository root: `python3 -m tests.benchmarks.bench_render`. Prints one row per size and run:
"fresh" renders into an empty output folder, "no-op" renders the same channel again (every
file is already current, so nothing is written). Then the goals for 1,000 recipes, with
"MISS" beside a missed one (exit 0 regardless: a benchmark reports, the tests decide), and the
process's CPU time beside each: on a shared machine the wall time also counts others' work.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from builder.core import settings
from builder.dockerfile import render
from builder.recipe import graph
from builder.recipe import load as recipes

SIZES = (1, 100, 1000)
REPEATS = 5
GOALS = {"fresh": 2.0, "no-op": 0.5}  # seconds for 1,000 recipes, end to end
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
        (root / "recipes" / f"img{i}.yaml").write_text(TEMPLATE.format(i=i, distro="debian", frm=frm, uid=10000))
    # Flush the set-up's own writes (and earlier runs' deletions) so they are not timed.
    os.sync()


def run_once(root: Path) -> tuple[float, float, int, float]:
    """Seconds spent loading, validating and rendering; seconds spent writing; files written; CPU seconds."""
    start, cpu = time.perf_counter(), time.process_time()
    config = settings.load(root, environ={})
    channel = graph.build(recipes.load_dir(config.recipes_dir, root))
    outputs = render.render_all(config, channel, sorted(channel.images))
    rendered = time.perf_counter()
    written = render.write(outputs)
    return rendered - start, time.perf_counter() - rendered, len(written), time.process_time() - cpu


def main() -> None:
    measure(None, "the disk (TMPDIR)")
    if Path("/dev/shm").is_dir():
        measure("/dev/shm", "memory (/dev/shm), to tell our cost from the disk's")


def measure(where: str | None, label: str) -> None:
    print(f"channel on {label}")
    rows = []
    totals: dict[str, float] = {}
    cpu: dict[str, float] = {}
    print(
        f"{'recipes':>8} {'images':>7} {'run':>6} {'written':>8} {'load+render s':>14} {'write s':>8} "
        f"{'total s':>8} {'ms/recipe':>10} {'cpu ms/recipe':>14}"
    )
    for count in SIZES:
        timings: dict[str, list[tuple[float, float, int, float]]] = {"fresh": [], "no-op": []}
        for _ in range(REPEATS):
            with tempfile.TemporaryDirectory(dir=where) as tmp:
                root = Path(tmp)
                make_channel(root, count)
                timings["fresh"].append(run_once(root))
                timings["no-op"].append(run_once(root))
        for kind, runs in timings.items():
            compute_s = statistics.median(r[0] for r in runs)
            write_s = statistics.median(r[1] for r in runs)
            total = compute_s + write_s
            totals[kind] = total
            cpu[kind] = statistics.median(r[3] for r in runs)
            print(
                f"{count:>8} {count * 2:>7} {kind:>6} {runs[0][2]:>8} {compute_s:>14.3f} {write_s:>8.3f} "
                f"{total:>8.3f} {total / count * 1000:>10.2f} {compute_s / count * 1000:>14.2f}"
            )
        rows.append(
            (
                count,
                statistics.median(r[0] for r in timings["fresh"]),
                statistics.median(r[1] for r in timings["fresh"]),
            )
        )
    mid, big = rows[1], rows[-1]
    cpu_ratio = (big[1] / big[0]) / (mid[1] / mid[0])
    total_ratio = ((big[1] + big[2]) / big[0]) / ((mid[1] + mid[2]) / mid[0])
    print(
        f"fresh, per-recipe cost {big[0]} vs {mid[0]} recipes: load+render {cpu_ratio:.2f}x, "
        f"total {total_ratio:.2f}x (flat is 1.00x; the write column "
        f"is file creation and rename, and follows the disk)"
    )
    for kind, goal in GOALS.items():
        print(
            f"{big[0]} recipes end to end, {kind}: {totals[kind]:.2f} s "
            f"(goal <= {goal:g} s{'' if totals[kind] <= goal else ', MISS'}; CPU {cpu[kind]:.2f} s)"
        )
    print()


if __name__ == "__main__":
    main()
