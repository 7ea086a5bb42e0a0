"""The hardening policy: each rule fires on the Dockerfile it is about, and hadolint agrees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.cli import main as cli
from builder.dockerfile import policy
from builder.recipe.variants import ImageSpec
from tests.support.channel import load_channel

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "channel"


def an_image() -> ImageSpec:
    _, channel = load_channel(REPO, environ={})
    return channel.images["python"]


PINNED = "FROM debian:bookworm-slim@sha256:" + "a" * 64 + "\n"

CASES = [
    ("FROM debian:bookworm-slim\nUSER 1:1\n", ["HB001"]),
    (PINNED, ["HB002"]),
    (PINNED + "USER app\n", ["HB002"]),
    (PINNED + "USER 0:0\n", ["HB002"]),
    (PINNED + "USER 1:1\nUSER 0:1\n", ["HB002"]),
    (PINNED + "RUN apt-get update && apt-get install -y curl && rm -rf /var/lib/apt/lists/*\nUSER 1:1\n", ["HB004"]),
    (PINNED + "RUN apt-get update\nUSER 1:1\n", ["HB005", "HB006"]),
    (PINNED + "RUN apk add curl\nUSER 1:1\n", ["HB005"]),
    (PINNED + "ADD https://example.com/x /x\nUSER 1:1\n", ["HB007"]),
    (PINNED + "ENV DB_PASSWORD=hunter2\nUSER 1:1\n", ["HB008"]),
    (PINNED + "USER 1:1\nENTRYPOINT python3 -m app\n", ["HB009"]),
    (PINNED + "RUN rm -rf /var/lib/dpkg\nUSER 1:1\n", ["HB010"]),
    (PINNED + 'USER 1:1\nENTRYPOINT ["python3"]\n', []),
]


@pytest.mark.parametrize(("text", "rules"), CASES)
def test_dockerfile_rules(text: str, rules: list[str]) -> None:
    found = policy.check_dockerfile(an_image(), "Dockerfile", text)
    assert sorted(f.rule.id for f in found) == rules


def test_every_rule_has_an_anchor_and_a_hint() -> None:
    for rule in policy.RULES.values():
        assert rule.anchor
        assert rule.hint
        assert rule.title
        assert rule.severity in ("error", "warning")


@pytest.mark.allow_subprocess
def test_lint_passes_on_the_committed_channel(capsys: pytest.CaptureFixture[str]) -> None:
    """hadolint and the policy are clean on every committed Dockerfile (warnings aside)."""
    assert cli.main(["--root", str(REPO), "lint", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is True
    assert {f["rule"] for f in report["findings"]} <= {"HB001"}
    assert sorted(report["images"]) == [
        "curl",
        "curl/trixie",
        "debian-base",
        "python",
        "python/dev",
        "python/distroless",
        "python/distroless-debug",
        "static",
        "static/debug",
    ]


@pytest.mark.allow_subprocess
@pytest.mark.parametrize("fixture", [FIXTURE, FIXTURE.parent / "org-channel"], ids=lambda p: p.name)
def test_hadolint_clean_on_golden_fixtures(fixture: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(fixture), "lint", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [f for f in report["findings"] if f["rule"] == "HB014"] == []
    assert {f["rule"] for f in report["findings"]} <= {"HB001", "HB012"}


@pytest.mark.allow_subprocess
def test_lint_reports_hand_edits_and_hadolint_findings(channel_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = channel_copy / "base-images" / "python" / "Dockerfile"
    path.write_text(path.read_text().replace("USER 65532:65532", "USER root") + "RUN cd /tmp\n")
    assert cli.main(["--root", str(channel_copy), "lint", "python", "--json"]) == 6
    findings = json.loads(capsys.readouterr().out)["findings"]
    rules = {f["rule"] for f in findings}
    assert {"HB002", "HB013", "HB014"} <= rules
    hadolint_codes = {f["message"].split(" ")[0] for f in findings if f["rule"] == "HB014"}
    assert "DL3003" in hadolint_codes


@pytest.mark.allow_subprocess
def test_lint_prints_a_hadolint_parse_error_on_one_line(channel_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = channel_copy / "base-images" / "curl" / "Dockerfile"
    text = path.read_text()
    path.write_text(text + "FOO bar\n")
    assert cli.main(["--root", str(channel_copy), "lint", "curl"]) == 6
    shown = [line for line in capsys.readouterr().out.splitlines() if "HB014" in line]
    assert shown == [
        f"base-images/curl/Dockerfile:{len(text.splitlines()) + 1}: HB014 error: DL1000 (error): "
        "unexpected 'F'; expecting '#', '\\', ADD, ARG, CMD, COPY, ENTRYPOINT, ENV, EXPOSE, FROM, "
        "HEALTHCHECK, LABEL, MAINTAINER, ONBUILD, RUN, SHELL, "
        "STOPSIGNAL, USER, VOLUME, WORKDIR, a pragma, at least one space, or end of input (fix: fix the recipe "
        "or template so the rendered Dockerfile is clean)"
    ]


def test_recipe_rules(tmp_path: Path) -> None:
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "app.yaml").write_text(
        "name: app\ndescription: x\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"
        "packages: [sudo]\nenv: {API_TOKEN: x}\nhardening: {strip_setuid: false}\n"
    )
    _, channel = load_channel(tmp_path, environ={})
    found = policy.check_recipe(channel, channel.images["app"])
    assert [(f.rule.id, f.line) for f in found] == [("HB003", 8), ("HB011", 6), ("HB008", 7), ("HB012", 1)]
