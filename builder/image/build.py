"""Execute a plan: build, check, test, push, and record locks, level by level.

Independent images of a level build in parallel (--jobs); a level starts when the one
before it has finished; an image whose parent failed is skipped; one failure never stops
the others. Nothing is recorded for an image that did not pass every check, and nothing at
all without --push: locks record what was published.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Literal

from builder.channel import fingerprint, history, lifecycle, sbom, versioning
from builder.channel import lock as lockfile
from builder.channel.candidates import Candidates
from builder.channel.layout import ImageFiles
from builder.channel.lock import Lock
from builder.core import plaintext
from builder.core.errors import BuilderError, BuildError, BuildFailed
from builder.core.facts import BaseLock, ImageLock, Update
from builder.core.files import write_many_atomic
from builder.core.reference import ImageRef
from builder.core.settings import Settings
from builder.dockerfile import render
from builder.image import checks, engine, progress, strict
from builder.image.plan import Plan, Step, dockerfile_sha256
from builder.recipe import inputs
from builder.recipe.graph import Channel
from builder.recipe.variants import ImageSpec, effective_spec, spec_sha256
from builder.upstream import apt_index, debian_changelog, fixes, registry

CANDIDATE = "candidate"


@dataclass
class Outcome:
    image: str
    status: Literal["built", "pushed", "failed", "skipped"]
    message: str = ""
    results: list[checks.CheckResult] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)
    lock: Lock | None = None
    seconds: float | None = None  # None: never started


@dataclass(frozen=True)
class Options:
    push: bool
    jobs: int | None  # images built at once within a level; None: one per core
    revision: str | None
    source_url: str | None
    log: Callable[[str], None]


@dataclass
class _Context:
    settings: Settings
    channel: Channel
    engine: engine.Engine
    options: Options
    candidates: Candidates
    indexes: apt_index.IndexCache
    logs: debian_changelog.ChangelogCache
    registry: registry.RegistryClient
    progress: progress.Progress
    done: dict[str, Outcome] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def run(
    settings: Settings,
    channel: Channel,
    plan: Plan,
    eng: engine.Engine,
    options: Options,
    *,
    candidates: Candidates | None = None,
    indexes: apt_index.IndexCache | None = None,
    client: registry.RegistryClient | None = None,
) -> list[Outcome]:
    """`client` looks up which version tags exist (default: the registry, with Docker's credentials)."""
    ctx = _Context(
        settings,
        channel,
        eng,
        options,
        candidates or Candidates(settings),
        indexes or apt_index.IndexCache(settings.cache_dir, mirrors=dict(settings.apt_mirrors)),
        debian_changelog.ChangelogCache(settings.cache_dir),
        client or registry.RegistryClient(registry.docker_config_credentials()),
        progress.Progress(options.log),
    )
    with ctx.progress.ticking():
        for level in plan.levels:
            steps = [s for s in level if s.needed]
            for outcome in run_level(steps, lambda s: _one(ctx, s), workers(options.jobs, len(steps))):
                ctx.done[outcome.image] = outcome
    return list(ctx.done.values())


def workers(requested: int | None, width: int) -> int:
    """Threads for a level of `width` images: as requested (default: one per core), never more than it has."""
    return max(1, min(requested or os.cpu_count() or 1, width))


def run_level(steps: Sequence[Step], build_one: Callable[[Step], Outcome], jobs: int) -> list[Outcome]:
    """Build the steps of one level on `jobs` threads; the outcomes in the plan's order.

    Every started build runs to its end even when another fails, so none is left half
    recorded; an unexpected exception (a bug) is raised once all of them have ended.
    """
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="build")
    try:
        futures = [pool.submit(build_one, step) for step in steps]
        wait(futures)
    except BaseException:  # interrupted: start nothing more
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return [future.result() for future in futures]


def _one(ctx: _Context, step: Step) -> Outcome:
    image = ctx.channel.images[step.image]
    parent = ctx.channel.parent(image)
    if parent is not None:
        parent_outcome = ctx.done.get(parent.id)
        if parent_outcome is not None and parent_outcome.status in ("failed", "skipped"):
            return Outcome(image.id, "skipped", f"parent {parent.id} did not build")
    started = time.monotonic()
    try:
        outcome = _build_one(ctx, image, step)
    except BuildError as exc:
        outcome = Outcome(image.id, "failed", exc.message, tail=exc.tail)
    except BuilderError as exc:
        outcome = Outcome(image.id, "failed", exc.message)
    outcome.seconds = time.monotonic() - started
    ctx.progress.finish(image.id, f"{outcome.status} after {progress.elapsed(outcome.seconds)}")
    return outcome


def _base(ctx: _Context, image: ImageSpec, step: Step) -> tuple[ImageRef, str]:
    """The base to build FROM: pinned when its digest is known, and its display name."""
    base, display = render.base_reference(ctx.settings, ctx.channel, image)
    parent = ctx.channel.parent(image)
    if parent is None:
        if step.base_digest is None:
            raise BuildFailed(f"{image.id}: upstream digest of {display} was not resolved")
        return base.with_digest(step.base_digest), display
    rebuilt = ctx.done.get(parent.id)
    if rebuilt is not None and rebuilt.lock is not None and rebuilt.lock.result is not None:
        return base.with_digest(rebuilt.lock.result.digest), display
    if rebuilt is not None:
        # Built here but not pushed: build FROM the local candidate tag, unpinned.
        repo = ctx.settings.image_repository(parent.name)
        domain, path = repo.split("/", 1)
        return ImageRef(domain, path, f"{CANDIDATE}{parent.tag_suffix}"), display
    parent_lock = ctx.candidates.effective(parent)  # its open candidate, when it has one
    if parent_lock is None or parent_lock.result is None:
        raise BuildFailed(f"{image.id}: parent {parent.id} has never been pushed; build it with --push first")
    return base.with_digest(parent_lock.result.digest), display


def _build_one(ctx: _Context, image: ImageSpec, step: Step) -> Outcome:
    shown = ctx.progress
    base, display = _base(ctx, image, step)
    parent = ctx.channel.parent(image)
    files = ImageFiles.of(ctx.settings, image)
    last = files.read_history().last
    prior = files.read_lock()
    spec = effective_spec(image)
    version = versioning.next_version(
        last.version if last else None, last.spec if last else None, spec, image.recipe.version
    )
    repository = ctx.settings.image_repository(image.name)
    skipped: tuple[str, ...] = ()
    if ctx.options.push:
        # A release that died after tagging spent its version: never reuse it (tags are immutable).
        version, skipped = versioning.next_free_version(
            version, image.tag_suffix, lambda tag: ctx.registry.digest_or_none(f"{repository}:{tag}")
        )
        for note in skipped:
            shown.say(image.id, f"warning: {note}")
    dockerfile = render.render_dockerfile(
        render.with_ancestry(
            ctx.channel, render.RenderInput(image, base, display, parent.user if parent else None, version)
        )
    )
    tag = f"{CANDIDATE}{image.tag_suffix}"
    built_at = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    labels = {"org.opencontainers.image.created": built_at}
    if ctx.options.revision:
        labels["org.opencontainers.image.revision"] = ctx.options.revision
    if ctx.options.source_url:
        labels["org.opencontainers.image.source"] = ctx.options.source_url
    shown.start(image.id, "build", f"building FROM {base} ({', '.join(step.reasons)})")
    image_id = ctx.engine.build(
        dockerfile,
        f"{repository}:{tag}",
        labels,
        pull=parent is None,
        on_line=lambda line: _progress(shown, image.id, line),
        files=_committed_files(ctx.settings, image),
    )
    shown.start(image.id, "checking", f"checking {image_id[:19]}")
    facts = checks.gather(ctx.engine, image_id, [i.destination for i in image.inputs if i.kind == "file"])
    tests = checks.run_tests(ctx.engine, image_id, image)
    results = checks.static_checks(image, facts) + tests + strict.run_tests(ctx.engine, image_id, image, tests)
    bad = checks.failed(results)
    if bad:
        return Outcome(image.id, "failed", "; ".join(str(r) for r in bad), results)
    if not ctx.options.push:
        return Outcome(image.id, "built", f"{image_id[:19]}, {len(results)} checks passed", results)
    auth = engine.credentials(ctx.settings.registry)
    shown.start(image.id, "pushing", f"pushing {repository}:{tag}")
    digest = ctx.engine.push(repository, tag, auth)
    base_digest = base.digest or ""
    new_lock = Lock(
        image=image.id,
        version=version,
        recipe_sha256=spec_sha256(image),
        spec=spec,
        reasons=(*step.reasons, *skipped),
        updates=_fixes(ctx, image, prior, last, facts),
        checks=tuple(str(r) for r in results),
        dockerfile_sha256=dockerfile_sha256(dockerfile),
        base=BaseLock(reference=display, digest=base_digest),
        result=ImageLock(repository=repository, tag=tag, digest=digest, image_id=image_id, size=facts.size),
        os=facts.os(),
        apt_sources=facts.apt_sources(),
        inputs=image.inputs,
        packages=facts.packages(),
        built_at=built_at,
        revision=ctx.options.revision,
        runtime=strict.profile(image),
        lifecycle=lifecycle.recorded(ctx.settings, image.recipe.distro, facts.os()),
    )
    new_lock = new_lock.model_copy(update={"fingerprint": fingerprint.of_lock(new_lock)})
    with ctx.lock:
        write_many_atomic(
            {
                files.dockerfile: dockerfile,
                files.sbom: sbom.render(new_lock, image.recipe.distro, new_lock.os.version_id if new_lock.os else None),
            }
        )
        lockfile.write(files.lock, new_lock)
    return Outcome(image.id, "pushed", f"{repository}@{digest}", results, lock=new_lock)


def _fixes(
    ctx: _Context, image: ImageSpec, prior: Lock | None, last: history.Release | None, facts: checks.ImageFacts
) -> tuple[Update, ...]:
    """Every package changed since the last release, with the ids it fixes."""
    released_digest = last.digest if last is not None else None
    released = fixes.released_packages(prior, released_digest)
    if released is None:
        return ()
    packages = facts.packages()
    with ctx.lock:  # the index and changelog caches are shared by the builds of a level
        return fixes.since_release(
            released,
            packages,
            facts.apt_sources(),
            arch=fixes.arch_of(packages),
            indexes=ctx.indexes,
            logs=ctx.logs,
            warn=lambda text: ctx.progress.say(image.id, f"warning: {text}"),
            seen=fixes.first_seen(prior),
        )


def _committed_files(settings: Settings, image: ImageSpec) -> dict[str, tuple[bytes, int]]:
    """The files the Dockerfile COPYs, with their modes, exactly as checked when the recipes loaded."""
    files = {}
    for item in image.inputs:
        data = inputs.read_committed(settings.root, item.path)
        if isinstance(data, str):
            raise BuildFailed(f"{image.id}: {data}")
        if inputs.sha256(data) != item.sha256:
            raise BuildFailed(f"{image.id}: {item.path} changed during the build; run it again")
        files[item.path] = (data, int(item.mode, 8))
    return files


def _progress(shown: progress.Progress, image_id: str, line: str) -> None:
    # The build steps are progress enough; the full output is kept for failures.
    step = progress.step_line(line)
    if step is not None:
        shown.start(image_id, *step)


_PRINT = threading.Lock()


def print_log(line: str) -> None:
    with _PRINT:  # one write per line: lines from two threads never mix
        sys.stderr.write(plaintext.line(line) + "\n")
        sys.stderr.flush()


def result_table(outcomes: list[Outcome]) -> list[str]:
    """The final table of a build: each image's result and time, and the end of a failed build's log."""
    return progress.table([progress.Row(o.image, o.status, o.seconds, o.message, o.tail) for o in outcomes])


def summary_markdown(outcomes: list[Outcome]) -> str:
    rows = ["| image | result | time | detail |", "|---|---|---|---|"]
    for outcome in outcomes:
        detail = outcome.message.replace("|", "\\|")
        took = "-" if outcome.seconds is None else progress.elapsed(outcome.seconds)
        rows.append(f"| `{outcome.image}` | {outcome.status} | {took} | {detail} |")
    return "### builder build\n\n" + "\n".join(rows) + "\n"
