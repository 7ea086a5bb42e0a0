"""Every recipe test runs again under the strict runtime profile; a failure names the field to add."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from builder.cli import main as cli
from builder.core.runtime import Confinement
from builder.image.engine import Engine
from tests.integration.test_build_faults import outcome_lines, recipe
from tests.support.channel import make_channel, pushed

WRITES_CACHE = (
    "  - {name: writes cache, run: [sh, -c, 'mkdir -p /home/nonroot/.cache && echo hit > /home/nonroot/.cache/x']}"
)
# The engine's default bounding set holds capabilities; the strict profile drops every one.
HAS_CAPABILITIES = (
    "  - {name: has capabilities, run: [sh, -c, 'grep CapBnd /proc/self/status | grep -qv 0000000000000000']}"
)
RUNS_FROM_TMP = (
    "  - {name: runs from tmp, run: [sh, -c, 'echo echo hi > /tmp/t.sh && chmod +x /tmp/t.sh && "
    "/tmp/t.sh'], stdout: hi}"
)
ANY_UID = "  - {name: any uid, run: [sh, -c, 'touch /tmp/probe && test $(id -u) -ne 0']}"


def test_strict_profile_fails_what_the_recipe_does_not_declare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], engine: Engine, registry: str
) -> None:
    root = make_channel(
        tmp_path,
        registry,
        monkeypatch,
        {
            "undeclared": recipe(
                "undeclared", packages="", extra=(f"tests:\n{WRITES_CACHE}\n{HAS_CAPABILITIES}\n{RUNS_FROM_TMP}")
            ),
            "declared": recipe(
                "declared",
                packages="",
                extra=(f"runtime: {{writable: [/home/nonroot/.cache]}}\ntests:\n{WRITES_CACHE}"),
            ),
            "anyuid": recipe("anyuid", packages="", extra=f"runtime: {{arbitrary_uid: true}}\ntests:\n{ANY_UID}"),
            "anyuid-home": recipe(
                "anyuid-home",
                packages="",
                extra=(f"runtime: {{arbitrary_uid: true, writable: [/home/nonroot/.cache]}}\ntests:\n{WRITES_CACHE}"),
            ),
        },
    )
    assert cli.main(["--root", str(root), "build", "--push", "--jobs", "2"]) == 9
    lines = outcome_lines(capsys.readouterr().out)

    undeclared = lines["undeclared"]
    assert undeclared.startswith(
        "failed: strict:writes cache strict runtime profile: FAILED: test 'writes cache' fails under the "
        "strict runtime profile (read-only root): declare the paths it writes in runtime.writable; "
        "exit code 1, expected 0; stderr "
    )
    assert "Read-only file system" in undeclared
    assert (
        "strict:has capabilities strict runtime profile: FAILED: test 'has capabilities' fails under "
        "the strict runtime profile (no capabilities, no new privileges): the profile grants neither, "
        "so it must not need capabilities or setuid programs; exit code 1, expected 0"
    ) in undeclared
    assert (
        "strict:runs from tmp strict runtime profile: FAILED: test 'runs from tmp' fails under the "
        "strict runtime profile (runtime.writable paths are mounted noexec, nosuid, nodev): install the "
        "programs it runs in the image instead of writing them there; exit code 126, expected 0; "
        "stdout '', expected 'hi'; stderr "
    ) in undeclared
    assert "Permission denied" in undeclared
    assert not (root / "base-images" / "undeclared" / "image.lock.json").exists()

    assert re.fullmatch(
        r"failed: strict-uid:writes cache strict runtime profile, arbitrary uid: FAILED: test 'writes cache' "
        r"fails under the strict runtime profile \(arbitrary uid 1\d{9}:0\): what it reads must be readable, "
        r"and what it writes writable, by group 0 \(a path of runtime.writable outside the home is\), or set "
        r"runtime.arbitrary_uid: false; exit code 1, expected 0; stderr .*Permission denied.*",
        lines["anyuid-home"],
    )

    assert lines["declared"].startswith("pushed: ")
    _, lock = pushed(root, "declared")
    assert lock.runtime is not None
    assert (lock.runtime.user, lock.runtime.writable, lock.runtime.arbitrary_uid) == (
        "65532:65532",
        ("/home/nonroot/.cache",),
        False,
    )
    assert "strict:writes cache strict runtime profile: ok" in lock.checks

    assert lines["anyuid"].startswith("pushed: ")
    _, lock = pushed(root, "anyuid")
    assert lock.runtime is not None
    assert (lock.runtime.writable, lock.runtime.arbitrary_uid) == (("/tmp",), True)
    as_anyone = [check for check in lock.checks if check.startswith("strict-uid:")]
    assert len(as_anyone) == 1
    assert re.fullmatch(r"strict-uid:any uid strict runtime profile, arbitrary uid: ok: as 1\d{9}:0", as_anyone[0])


def test_engine_confines_a_run_as_the_profile_says(engine: Engine, registry: str) -> None:
    seed = f"{registry}/library/debian:bookworm-slim"
    probe = [
        "sh",
        "-c",
        "id -u; id -g; grep CapEff /proc/self/status; grep NoNewPrivs /proc/self/status; "
        "touch /etc/x 2>&1; touch /var/cache/app/x && echo wrote; grep ' /var/cache/app ' /proc/mounts",
    ]
    result = engine.run(seed, probe, confinement=Confinement(tmpfs=("/var/cache/app",), user="1000000123:0"))
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        "1000000123",
        "0",
        "CapEff:\t0000000000000000",
        "NoNewPrivs:\t1",
        "touch: cannot touch '/etc/x': Read-only file system",
    ]
    assert lines[5] == "wrote"
    assert lines[6].split()[1:4] == ["/var/cache/app", "tmpfs", "rw,nosuid,nodev,noexec,relatime"]
