"""Watch benchmark: 1, 50 and 200 locks against a local apt repository and registry.

    python3 -m tests.benchmarks.bench_watch     (from the repository root; needs `bash .ci/local-env`)

The locks share two signed suites (a -security and an -updates repository served on
127.0.0.1, checked with their key as a recipe's `signed_by`) and three upstream images;
every lock has packages with pending updates. Each size runs cold (empty cache) and warm
(nothing changed: InRelease answers 304, no index is fetched, changelogs come from disk).
Prints time, the process's peak memory, HTTP requests and bytes (all, and those of the
indexes), then the ratios with their goals, "MISS" beside a missed one. Then the indexes of
Debian's own suites (the sample channel's sources, checked with Debian's archive keyring),
cold and warm. Exit 0 regardless: a benchmark reports, the tests decide. The upstream tags it
pushes are removed from the engine and the registry at the end.
"""

from __future__ import annotations

import os
import resource
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from builder.channel import lock as lockfile
from builder.channel.layout import ImageFiles
from builder.channel.lock import Lock
from builder.core.facts import AptSource, BaseLock, ImageLock, OsRelease, Package
from builder.dockerfile import render
from builder.image import plan, watch
from builder.image.docker_engine import DockerEngine
from builder.recipe.variants import spec_sha256
from builder.upstream import apt_index, debian_changelog
from builder.upstream.registry import ACCEPT, RegistryClient
from tests.support.aptrepo import AptRepo, ChangelogEntry, SigningKey
from tests.support.channel import load_channel

REGISTRY = os.environ.get("BUILDER_TEST_REGISTRY", "127.0.0.1:5000")
SIZES = (1, 50, 200)
PACKAGES = 40  # per suite
SUITES = 2
GOAL_WARM_VS_COLD = 0.15
GOAL_200_VS_1 = 1.5


def make_repos(where: Path, key: SigningKey) -> tuple[AptRepo, AptRepo]:
    security = AptRepo(where / "security", suite="bookworm-security", signing_key=key)
    updates = AptRepo(where / "updates", suite="bookworm-updates", signing_key=key)
    for repo, prefix in ((security, "sec"), (updates, "upd")):
        for i in range(PACKAGES):
            name = f"{prefix}pkg{i}"
            repo.add_package(
                name,
                "1.0-2",
                changelog=[
                    ChangelogEntry("1.0-2", distribution=repo.suite, lines=[f"Fix CVE-2026-{1000 + i}."]),
                    ChangelogEntry("1.0-1", distribution=repo.suite, lines=["Initial release."]),
                ],
            )
        repo.publish()
        repo.serve()
    return security, updates


def make_channel(root: Path, count: int, upstreams: list[str], sources: tuple[AptSource, ...]) -> None:
    (root / "recipes").mkdir(parents=True)
    (root / "pyproject.toml").write_text(f'[tool.builder]\nupstream_mirrors = {{ "docker.io" = "{REGISTRY}" }}\n')
    for i in range(count):
        upstream = upstreams[i % len(upstreams)]
        (root / "recipes" / f"img{i}.yaml").write_text(
            f"name: img{i}\ndescription: generated\nversion: 1.0.0\ndistro: debian\nfrom: {upstream}\n"
        )
    config, channel = load_channel(root, environ={})
    for image in channel.images.values():
        base, display = render.base_reference(config, channel, image)
        digest = "sha256:" + "0" * 64  # an old digest: every upstream has moved since
        text = render.render_dockerfile(render.RenderInput(image, base.with_digest(digest), display, None))
        names = [f"secpkg{j}" for j in range(0, PACKAGES, 2)] + [f"updpkg{j}" for j in range(1, PACKAGES, 2)]
        lock = Lock(
            image=image.id,
            version="1.0.0",
            recipe_sha256=spec_sha256(image),
            dockerfile_sha256=plan.dockerfile_sha256(text),
            base=BaseLock(reference=display, digest=digest),
            result=ImageLock(repository=f"x/{image.name}", tag="candidate", digest=digest, image_id=digest, size=1),
            os=OsRelease(id="debian", version_id="12", codename="bookworm"),
            apt_sources=sources,
            packages=tuple(Package(name=n, version="1.0-1", source=n, architecture="amd64") for n in names),
        )
        lockfile.write(ImageFiles.of(config, image).lock, lock)


@dataclass
class Run:
    seconds: float
    cpu: float  # the process's CPU seconds: on a shared machine the wall time counts others' work too
    peak_mb: float
    stale: int
    requests: int  # every HTTP request of the run: registry, InRelease, indexes, changelogs
    bytes: int  # the body bytes of all of them
    index_requests: int
    index_bytes: int


def run(root: Path, cache: Path, keyrings: dict[str, Path | None]) -> Run:
    config, channel = load_channel(root, environ={})
    start, cpu = time.perf_counter(), time.process_time()
    session = requests.Session()
    answered: list[int] = []  # body size of each answer
    session.hooks["response"].append(lambda answer, *_args, **_kwargs: answered.append(len(answer.content)))
    indexes = apt_index.IndexCache(cache, session=session, keyrings=keyrings)
    report = watch.run(
        config,
        channel,
        sorted(channel.images),
        RegistryClient(session=session).digest,
        indexes=indexes,
        logs=debian_changelog.ChangelogCache(cache, session=session),
    )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert not report.failed, [r.errors for r in report.failed]
    # The process's high-water mark (KiB on Linux): includes everything loaded so far.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Run(seconds, cpu, peak, len(report.stale), len(answered), sum(answered), indexes.requests, indexes.bytes)


DEBIAN = (
    ("http://deb.debian.org/debian", "bookworm"),
    ("http://deb.debian.org/debian", "bookworm-updates"),
    ("http://deb.debian.org/debian-security", "bookworm-security"),
)


def debian_indexes(cache: Path) -> None:
    """Only the index reading of watch, on Debian's mirror: where a cold run spends its time."""
    wanted = {"libc6", "openssl", "libssl3", "curl", "python3.11", "tzdata"}
    seconds: dict[str, float] = {}
    for state in ("cold", "warm"):
        indexes = apt_index.IndexCache(cache)
        start = time.perf_counter()
        for url, suite in DEBIAN:
            indexes.entries(AptSource(url=url, suite=suite, components=("main",)), "amd64", wanted)
        seconds[state] = time.perf_counter() - start
        print(
            f"Debian's 3 suites, {state}: {seconds[state]:.3f} s, {indexes.requests} requests, "
            f"{indexes.bytes} bytes"
            + (
                f" (goal {len(DEBIAN)}, one InRelease per suite{'' if indexes.requests <= len(DEBIAN) else ', MISS'})"
                if state == "warm"
                else ""
            )
        )
    ratio = seconds["warm"] / seconds["cold"]
    print(f"Debian's 3 suites: warm {ratio:.2f}x cold {verdict(ratio, GOAL_WARM_VS_COLD)}")


def verdict(value: float, goal: float) -> str:
    return f"(goal <= {goal:g}{'' if value <= goal else ', MISS'})"


def remove_pushed(engine: DockerEngine, repository: str, tags: list[str]) -> None:
    """Untag `repository:tag` in the engine and delete its manifest from the registry (deletes allowed)."""
    host, path = repository.split("/", 1)
    for tag in tags:
        engine.remove(f"{repository}:{tag}")
        answer = requests.head(f"http://{host}/v2/{path}/manifests/{tag}", headers={"Accept": ACCEPT}, timeout=30)
        digest = answer.headers.get("Docker-Content-Digest")
        if answer.status_code == 200 and digest:  # the tags share one manifest: gone after the first
            requests.delete(f"http://{host}/v2/{path}/manifests/{digest}", timeout=30).raise_for_status()


def main() -> None:
    engine = DockerEngine.connect()
    repository = f"{REGISTRY}/bench-up-{secrets.token_hex(3)}/debian"
    tags = ["a", "b", "c"]
    try:
        for tag in tags:
            engine.tag(f"{REGISTRY}/library/debian:bookworm-slim", repository, tag)
            engine.push(repository, tag)
        measure([f"{repository.split('/', 1)[1]}:{tag}" for tag in tags])
    finally:
        remove_pushed(engine, repository, tags)


def measure(upstreams: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp, SigningKey() as key:
        security, updates = make_repos(Path(tmp) / "repos", key)
        keyring = key.export_public(Path(tmp) / "keys" / "repo.asc", armored=True)
        keyrings: dict[str, Path | None] = {security.url: keyring, updates.url: keyring}
        sources = (
            AptSource(url=security.url, suite="bookworm-security", components=("main",)),
            AptSource(url=updates.url, suite="bookworm-updates", components=("main",)),
        )
        print(
            f"{'images':>7} {'cache':>6} {'seconds':>8} {'cpu s':>6} {'max RSS MB':>11} {'stale':>6} {'requests':>9} "
            f"{'bytes':>9} {'index requests':>15} {'index bytes':>12}"
        )
        rows: dict[tuple[int, str], Run] = {}
        for count in SIZES:
            root = Path(tmp) / f"channel{count}"
            cache = Path(tmp) / f"cache{count}"
            make_channel(root, count, upstreams, sources)
            for state in ("cold", "warm"):
                row = rows[(count, state)] = run(root, cache, keyrings)
                print(
                    f"{count:>7} {state:>6} {row.seconds:>8.3f} {row.cpu:>6.3f} {row.peak_mb:>11.1f} {row.stale:>6} "
                    f"{row.requests:>9} {row.bytes:>9} {row.index_requests:>15} {row.index_bytes:>12}"
                )
        for count in SIZES:
            ratio = rows[(count, "warm")].seconds / rows[(count, "cold")].seconds
            cpu = rows[(count, "warm")].cpu / rows[(count, "cold")].cpu
            requests_warm = rows[(count, "warm")].index_requests
            print(
                f"{count} image(s): warm {ratio:.2f}x cold {verdict(ratio, GOAL_WARM_VS_COLD)} "
                f"[CPU {cpu:.2f}x]; warm index "
                f"requests {requests_warm} (goal {SUITES}, one InRelease per suite"
                f"{'' if requests_warm <= SUITES else ', MISS'})"
            )
        for state in ("cold", "warm"):
            ratio = rows[(200, state)].seconds / rows[(1, state)].seconds
            cpu = rows[(200, state)].cpu / rows[(1, state)].cpu
            print(f"{state}: 200 images cost {ratio:.2f}x one image {verdict(ratio, GOAL_200_VS_1)} [CPU {cpu:.2f}x]")
        security.close()
        updates.close()
        debian_indexes(Path(tmp) / "debian-cache")


if __name__ == "__main__":
    main()
