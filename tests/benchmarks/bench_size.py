"""Size benchmark, run on demand against the local environment (`bash .ci/local-env`).

    python3 -m tests.benchmarks.bench_size

Each sample recipe's main image, hardened and distroless, against a naive Dockerfile with
the same packages on the same upstream base, written as people commonly write it
(`apt-get update && apt-get install -y`, recommends included, nothing cleaned), as ratios.
Target: the runtime image (python) in distroless form at or below 0.4x naive. What it builds
and pushes is removed at the end, locally and in the registry.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from builder.channel import layout
from builder.channel import lock as lockfile
from builder.cli import main as cli
from builder.core import settings
from builder.core.errors import BuilderError
from builder.image.build import CANDIDATE
from builder.image.docker_engine import DockerEngine
from builder.image.engine import Engine
from builder.recipe import distroless, graph
from builder.recipe import load as recipes
from builder.recipe.variants import ImageSpec
from tests.support import cleanup

REPO = Path(__file__).resolve().parents[2]
REGISTRY = os.environ.get("BUILDER_TEST_REGISTRY", "127.0.0.1:5000")
RUNTIME = "python"
TARGET = 0.4


@dataclass(frozen=True)
class Forms:
    """The image ids of one recipe's main image in each final form (None: no such form)."""

    recipe: str
    hardened: str | None
    distroless: str | None
    note: str  # what the copy of the recipe needed, if anything


@dataclass(frozen=True)
class Size:
    bytes: int | None
    pushed: bool = True  # False: built but rejected by its checks, measured in the engine


@dataclass(frozen=True)
class Row:
    recipe: str
    hardened: Size
    distroless: Size
    naive: int | None


def main() -> None:
    namespace = cleanup.scratch("bench")
    try:
        measure(namespace)
    finally:
        cleanup.remove([(REGISTRY, None)], {namespace, f"{namespace}-naive"})


def measure(namespace: str) -> None:
    started = time.perf_counter()
    engine = DockerEngine.connect()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
        shutil.copytree(REPO / "recipes", root / "recipes")
        os.environ.update(
            BUILDER_REGISTRY=REGISTRY, BUILDER_NAMESPACE=namespace, BUILDER_UPSTREAM_MIRRORS=f"docker.io={REGISTRY}"
        )
        forms = [ensure_forms(path) for path in sample_recipes(root / "recipes")]
        for form in forms:
            if form.note:
                print(f"{form.recipe}: {form.note}")

        seconds, code, failures = build(root)
        print(f"build --push of the channel: {seconds:.1f} s, exit {code}")
        # Figures for the images that did build are still worth printing.
        print("\n".join(f"  {line}" for line in failures))

        config = settings.load(root)
        channel = graph.build(recipes.load_dir(config.recipes_dir, root))
        rows: list[Row] = []
        for form in forms:
            tag = f"{config.registry}/{namespace}-naive/{form.recipe}:size"
            # Both forms share the main image's base and packages: either one names the naive build.
            main_image = channel.images[form.hardened or form.distroless or form.recipe]
            rows.append(
                Row(
                    form.recipe,
                    built_size(engine, config, channel, form.hardened),
                    built_size(engine, config, channel, form.distroless),
                    naive_size(engine, channel, config.output_dir, main_image, tag),
                )
            )

        print(
            "\nmain image size, hardened and distroless, against a naive Dockerfile "
            "(same packages, same base, plain apt-get install -y)"
        )
        print(
            f"{'recipe':>12} {'hardened MB':>12} {'distroless MB':>14} {'naive MB':>9} "
            f"{'hard/naive':>11} {'dl/naive':>9} {'dl/hard':>8}"
        )
        for row in rows:
            hardened, slim = row.hardened.bytes, row.distroless.bytes
            print(
                f"{row.recipe:>12} {_mb(row.hardened):>12} {_mb(row.distroless):>14} "
                f"{_mb(Size(row.naive)):>9} {_ratio(hardened, row.naive):>11} "
                f"{_ratio(slim, row.naive):>9} {_ratio(slim, hardened):>8}"
            )
        if any(not size.pushed for row in rows for size in (row.hardened, row.distroless)):
            print("* built but failed its checks, so not pushed: measured on the rejected candidate")

        runtime = next((row for row in rows if row.recipe == RUNTIME), Row(RUNTIME, Size(None), Size(None), None))
        slim, naive = runtime.distroless.bytes, runtime.naive
        verdict = "not measured" if slim is None or not naive else "met" if slim <= TARGET * naive else "NOT met"
        if not runtime.distroless.pushed:
            verdict += " (on a candidate that failed its checks)"
        print(f"\ntarget: {RUNTIME} distroless <= {TARGET}x naive; measured {_ratio(slim, naive)}: {verdict}")
    print(f"benchmark took {time.perf_counter() - started:.1f} s")


def sample_recipes(directory: Path) -> list[Path]:
    # The selection recipes.load_dir makes: `_` and dot files are channel-wide, not image lines.
    return [p for p in sorted(directory.glob("*.yaml")) if not p.name.startswith(("_", "."))]


def ensure_forms(path: Path) -> Forms:
    """Find (or add to this copy) a variant that is the main image in its other final form."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    name = str(data.get("name", path.stem))  # `name:` defaults to the file name
    main_final = str(data.get("final", "hardened"))
    other = "hardened" if main_final == "distroless" else "distroless"
    ids: dict[str, str | None] = {"hardened": None, "distroless": None, main_final: name}
    if other == "distroless" and (
        data.get("distro") == "alpine" or distroless.refused_packages(data.get("packages") or ())
    ):
        # The model refuses these as distroless; the variant would fail the whole channel.
        return Forms(name, name, None, "cannot be distroless (alpine, or lists a shell or package manager)")
    variants: list[dict[str, Any]] = list(data.get("variants") or [])
    # Only a variant with the main image's base and packages is the same image in another form.
    same = [
        v for v in variants if str(v.get("final") or main_final) == other and "from" not in v and not v.get("packages")
    ]
    note = ""
    if same:
        variant = str(same[0]["name"])
    else:
        taken = {str(v["name"]) for v in variants}
        variant = other
        # A distroless variant also claims its debug companion's name.
        while variant in taken or distroless.companion(variant) in taken:
            variant = f"{variant}-bench"
        added: dict[str, Any] = {"name": variant, "final": other}
        if other == "distroless":
            # Sample tests call `id` and `test`, which a distroless image does not have.
            added["tests"] = []
        variants.append(added)
        data["variants"] = variants
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        note = f"appended variant {variant!r} (final: {other}) to the copy"
    ids[other] = f"{name}/{variant}"
    return Forms(name, ids["hardened"], ids["distroless"], note)


def build(root: Path) -> tuple[float, int, list[str]]:
    """Seconds, exit code, and the report lines of images that failed or were skipped."""
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(["--root", str(root), "build", "--push", "--jobs", "2"])
    failures = [
        line.strip() for line in out.getvalue().splitlines() if line.strip().startswith(("failed ", "skipped "))
    ]
    return time.perf_counter() - start, code, failures


def built_size(engine: Engine, config: settings.Settings, channel: graph.Channel, image_id: str | None) -> Size:
    if image_id is None:
        return Size(None)
    # The lock records the engine's inspect "Size" of the pushed image.
    lock = lockfile.read(config.output_dir / image_id / layout.LOCK)
    if lock is not None and lock.result is not None:
        return Size(lock.result.size)
    # A rejected build writes no lock but keeps its candidate tag; the namespace is this
    # run's own, so the tag cannot be a leftover of another run.
    image = channel.images[image_id]
    candidate = f"{config.image_repository(image.name)}:{CANDIDATE}{image.tag_suffix}"
    try:
        return Size(engine.inspect(candidate).size, pushed=False)
    except BuilderError:
        return Size(None)


def naive_size(engine: Engine, channel: graph.Channel, output_dir: Path, image: ImageSpec, tag: str) -> int | None:
    root_lock = lockfile.read(output_dir / channel.root_of(image).id / layout.LOCK)
    if root_lock is None or not root_lock.base.digest:
        print(f"{image.id}: its root image has no lock, so no upstream digest to build naive on")
        return None
    upstream = f"{root_lock.base.reference}@{root_lock.base.digest}"
    packages = sorted({p for img in _chain(channel, image) for p in img.packages})
    dockerfile = f"FROM {upstream}\nRUN apt-get update && apt-get install -y {' '.join(packages)}\n"
    try:
        image_id = engine.build(dockerfile, tag, {}, pull=False, on_line=lambda _line: None)
        return engine.inspect(image_id).size
    except BuilderError as exc:
        print(f"{image.id}: naive build failed: {exc}")
        return None


def _chain(channel: graph.Channel, image: ImageSpec) -> list[ImageSpec]:
    chain = [image]
    while (parent := channel.parent(chain[-1])) is not None:
        chain.append(parent)
    return chain


def _mb(size: Size) -> str:
    if size.bytes is None:
        return "n/a"
    return f"{size.bytes / 1e6:.1f}" + ("" if size.pushed else "*")


def _ratio(size: int | None, against: int | None) -> str:
    return f"{size / against:.2f}" if size is not None and against else "n/a"


if __name__ == "__main__":
    main()
