"""Builds that must fail, each with one clear line naming the image, and no lock written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from builder.cli import main as cli
from builder.image.engine import Engine
from tests.support import cleanup
from tests.support.channel import make_channel, pushed
from tests.support.faultproxy import FaultProxy

SMALL = """\
name: {name}
description: A small test image
version: 1.0.0
distro: debian
from: debian:bookworm-slim
packages: [{packages}]
{extra}
"""


def recipe(name: str, packages: str = "ca-certificates", extra: str = "") -> str:
    return SMALL.format(name=name, packages=packages, extra=extra)


def outcome_lines(out: str) -> dict[str, str]:
    """`status time image detail` rows of the build's final table, as `status: detail` by image."""
    lines = {}
    for line in out.splitlines():
        status, _took, image, message = [*line.split(None, 3), "", "", ""][:4]
        if status in ("pushed", "built", "failed", "skipped"):
            lines[image] = f"{status}: {message}"
    return lines


def test_failing_recipe_test_and_unknown_package_fail_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], engine: Engine, registry: str
) -> None:
    root = make_channel(
        tmp_path,
        registry,
        monkeypatch,
        {
            "good": recipe("good", extra="tests:\n  - {name: uid, run: [id, -u], stdout: '65532'}"),
            "wrongtest": recipe("wrongtest", extra="tests:\n  - {name: says hello, run: [echo, bye], stdout: hello}"),
            "nopkg": recipe("nopkg", packages="no-such-package-here"),
        },
    )
    assert cli.main(["--root", str(root), "build", "--push"]) == 9
    captured = capsys.readouterr()
    lines = outcome_lines(captured.out)
    assert lines["good"].startswith("pushed: ")
    assert lines["wrongtest"] == (
        "failed: test:says hello recipe test 'says hello': FAILED: stdout 'bye', expected 'hello'"
    )
    assert lines["nopkg"].startswith("failed: build of ")
    assert "Unable to locate package no-such-package-here" in captured.out
    assert "error: 2 of 3 image(s) failed or were skipped: nopkg, wrongtest" in captured.err
    assert (root / "base-images" / "good" / "image.lock.json").is_file()
    assert not (root / "base-images" / "wrongtest" / "image.lock.json").exists()
    assert not (root / "base-images" / "nopkg").exists()


def test_setuid_binaries_fail_the_image_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], engine: Engine, registry: str
) -> None:
    root = make_channel(
        tmp_path,
        registry,
        monkeypatch,
        {
            "setuid": recipe("setuid", extra="hardening: {strip_setuid: false}"),
        },
    )
    assert cli.main(["--root", str(root), "build", "--push"]) == 9
    line = outcome_lines(capsys.readouterr().out)["setuid"]
    assert line.startswith("failed: IC002 no setuid/setgid files: FAILED: ")
    assert "/usr/bin/su" in line
    assert not (root / "base-images" / "setuid" / "image.lock.json").exists()


def test_push_with_wrong_credentials_fails_and_records_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: Engine,
    registry: str,
    auth_registry: str,
) -> None:
    root = make_channel(tmp_path, registry, monkeypatch, {"denied": recipe("denied")})
    monkeypatch.setenv("BUILDER_REGISTRY", auth_registry)
    monkeypatch.setenv("BUILDER_REGISTRY_USERNAME", "builder")
    monkeypatch.setenv("BUILDER_REGISTRY_PASSWORD", "not-the-password")
    assert cli.main(["--root", str(root), "build", "--push"]) == 9
    captured = capsys.readouterr()
    line = outcome_lines(captured.out)["denied"]
    # Refused before anything is built: the version tags are looked up with the same credentials.
    assert line.startswith(f"failed: HEAD http://{auth_registry}/v2/")
    assert line.endswith("HTTP 401: access denied (check the credentials for this registry)")
    assert "not-the-password" not in captured.out + captured.err
    assert not (root / "base-images" / "denied" / "image.lock.json").exists()


def test_push_with_the_right_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: Engine, registry: str, auth_registry: str
) -> None:
    root = make_channel(tmp_path, registry, monkeypatch, {"allowed": recipe("allowed")})
    monkeypatch.setenv("BUILDER_REGISTRY", auth_registry)
    monkeypatch.setenv("BUILDER_REGISTRY_USERNAME", "builder")
    monkeypatch.setenv("BUILDER_REGISTRY_PASSWORD", "builder-secret")
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    assert (root / "base-images" / "allowed" / "image.lock.json").is_file()


def test_registry_down_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], engine: Engine, registry: str
) -> None:
    root = make_channel(tmp_path, registry, monkeypatch, {"down": recipe("down")})
    monkeypatch.setenv("BUILDER_UPSTREAM_MIRRORS", "docker.io=127.0.0.1:5999")  # nothing listens there
    assert cli.main(["--root", str(root), "build", "--push"]) == 11
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("error: cannot resolve 127.0.0.1:5999/library/debian:bookworm-slim: ")


def test_builds_fetch_through_the_build_proxy_which_stays_out_of_the_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: Engine, registry: str, apt_cache: str
) -> None:
    root = make_channel(tmp_path, registry, monkeypatch, {"proxied": recipe("proxied")})
    with FaultProxy(apt_cache) as recorder:  # a recording hop in front of the apt cache
        hop = recorder.start()
        monkeypatch.setenv("BUILDER_BUILD_PROXY", hop)
        assert cli.main(["--root", str(root), "build", "--push"]) == 0
    fetched = [path for _, path, status in recorder.requests if status == 200]
    assert any(re.fullmatch(r"http://deb\.debian\.org/debian/dists/bookworm/InRelease", p) for p in fetched)
    assert any(p.endswith(".deb") for p in fetched), fetched
    reference, _ = pushed(root, "proxied")
    details = engine.inspect(reference)
    assert hop not in repr(details)
    assert not [name for name in details.env if name.lower().startswith(("http_proxy", "no_proxy"))]


def test_a_home_that_already_exists_in_the_base_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], engine: Engine, registry: str
) -> None:
    # A base that already holds the folder: the runtime user must never be given an existing one.
    upstream = f"{registry}/{cleanup.scratch('library/home')}"
    engine.build(
        f"FROM {registry}/library/debian:bookworm-slim\nRUN mkdir -p /opt/app/bin\n",
        f"{upstream}:bookworm",
        {},
        pull=False,
        on_line=lambda _line: None,
    )
    engine.push(upstream, "bookworm")
    name = upstream.rsplit("/", 1)[1]
    root = make_channel(
        tmp_path,
        registry,
        monkeypatch,
        {
            "taken": recipe(
                "taken", extra=f"from: {name}:bookworm\nuser: {{name: app, uid: 10001, gid: 10001, home: /opt/app}}"
            ).replace("from: debian:bookworm-slim\n", "")
        },
    )
    assert cli.main(["--root", str(root), "build", "--push"]) == 9
    out = capsys.readouterr().out
    assert "user.home /opt/app exists in the base image: choose a new folder" in out
    assert not (root / "base-images" / "taken" / "image.lock.json").exists()
