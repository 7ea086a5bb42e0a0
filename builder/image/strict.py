"""The recipe tests again, under the strict runtime profile that the catalog publishes.

A test that passes as usual but fails under the profile fails the build, with a message
naming the `runtime:` field to add. Which part of the profile it trips over is told by
running it again with the read-only root, then the tmpfs mounts, relaxed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable

from builder.core.runtime import Confinement, Profile
from builder.image.checks import CheckResult, test_problems
from builder.image.engine import Engine
from builder.recipe.model import TestSpec
from builder.recipe.variants import ImageSpec

# OpenShift assigns uids from a per-namespace range above 1000000000; any of them, gid 0.
ARBITRARY_UIDS = (1_000_000_000, 1_999_999_999)
TITLE = "strict runtime profile"


def random_uid(avoid: int) -> int:
    low, high = ARBITRARY_UIDS
    uid = low + secrets.randbelow(high - low + 1)
    return uid + 1 if uid == avoid else uid


def run_tests(
    engine: Engine,
    image_ref: str,
    image: ImageSpec,
    usual: Iterable[CheckResult],
    pick_uid: Callable[[int], int] = random_uid,
) -> list[CheckResult]:
    """Each test that passed as usual, under the profile; and as an arbitrary uid where declared."""
    passed = {result.id for result in usual if result.passed}
    writable = image.runtime.writable
    anyone = Confinement(writable, f"{pick_uid(image.user.uid)}:0") if image.runtime.arbitrary_uid else None
    results = []
    for test in image.tests:
        if f"test:{test.name}" not in passed:
            continue
        problems = _problems(engine, image_ref, test, Confinement(writable))
        if problems:
            results.append(
                CheckResult(
                    f"strict:{test.name}", TITLE, False, _why(engine, image_ref, test, writable) + "; ".join(problems)
                )
            )
            continue
        results.append(CheckResult(f"strict:{test.name}", TITLE, True))
        if anyone is not None:
            results.append(_as_anyone(engine, image_ref, test, anyone))
    return results


def _problems(engine: Engine, image_ref: str, test: TestSpec, confinement: Confinement) -> list[str]:
    return test_problems(test, engine.run(image_ref, list(test.run), confinement=confinement))


def _why(engine: Engine, image_ref: str, test: TestSpec, writable: tuple[str, ...]) -> str:
    """Which part of the profile the test trips over, told by relaxing one part after another."""
    start = f"test {test.name!r} fails under the {TITLE}"
    if not _problems(engine, image_ref, test, Confinement(writable, read_only=False)):
        return f"{start} (read-only root): declare the paths it writes in runtime.writable; "
    if writable and not _problems(engine, image_ref, test, Confinement(read_only=False)):
        return (
            f"{start} (runtime.writable paths are mounted noexec, nosuid, nodev): install the "
            "programs it runs in the image instead of writing them there; "
        )
    return (
        f"{start} (no capabilities, no new privileges): the profile grants neither, so it must "
        "not need capabilities or setuid programs; "
    )


def _as_anyone(engine: Engine, image_ref: str, test: TestSpec, anyone: Confinement) -> CheckResult:
    problems = _problems(engine, image_ref, test, anyone)
    if not problems:
        return CheckResult(f"strict-uid:{test.name}", f"{TITLE}, arbitrary uid", True, f"as {anyone.user}")
    return CheckResult(
        f"strict-uid:{test.name}",
        f"{TITLE}, arbitrary uid",
        False,
        (
            f"test {test.name!r} fails under the {TITLE} (arbitrary uid {anyone.user}): what it reads "
            "must be readable, and what it writes writable, by group 0 (a path of runtime.writable "
            "outside the home is), or set runtime.arbitrary_uid: false; " + "; ".join(problems)
        ),
    )


def profile(image: ImageSpec) -> Profile | None:
    """The profile the lock records once every test passed under it; None: nothing verified it."""
    if not image.tests:
        return None
    return Profile.of(image.runtime, image.user.uid, image.user.gid)
