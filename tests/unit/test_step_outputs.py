"""Step outputs for the rebuild workflow: `plan --github-output` and `watch --github-output`."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from builder.cli import main as cli
from builder.cli import report
from builder.core.errors import UsageError
from builder.image import plan, watch_report
from tests.support.channel import read_github_outputs


def step(image: str, *reasons: str) -> plan.Step:
    return plan.Step(image, reasons, "debian:bookworm-slim", None)


# Four levels, one with nothing to build: a workflow with a fixed number of build jobs had three.
PLAN = plan.Plan(
    [
        [step("base", "never built"), step("other")],
        [step("app", "parent base is rebuilt"), step("app/slim", "parent base is rebuilt")],
        [step("tool")],
        [step("leaf", "forced")],
        [step("leaf/debug", "forced")],
    ]
)


def test_plan_outputs_list_each_level_to_build_in_order() -> None:
    assert PLAN.outputs() == {"count": "5", "levels": "base\napp app/slim\nleaf\nleaf/debug"}
    assert PLAN.building_levels() == [["base"], ["app", "app/slim"], ["leaf"], ["leaf/debug"]]
    assert PLAN.as_json()["matrix"] == [{"image": ids} for ids in PLAN.building_levels()]


def test_a_plan_with_nothing_to_build_has_no_levels() -> None:
    idle = plan.Plan([[step("base"), step("other")]])
    assert idle.outputs() == {"count": "0", "levels": ""}
    assert idle.summary_markdown() == "### builder plan\n\n0 image(s) to build, parents first:\n"


def test_plan_summary_names_every_level() -> None:
    assert PLAN.summary_markdown() == (
        "### builder plan\n\n5 image(s) to build, parents first:\n\n"
        "- level 1: `base`\n- level 2: `app`, `app/slim`\n- level 3: `leaf`\n- level 4: `leaf/debug`"
    )


@pytest.mark.parametrize(("stale", "expected"), [(True, "true"), (False, "false")])
def test_watch_output_says_whether_anything_is_stale(stale: bool, expected: str) -> None:
    item = watch_report.ImageReport("base")
    if stale:
        item.findings.append(watch_report.StaleReason("not-built", "never built"))
    report = watch_report.Report([item, watch_report.ImageReport("other")], "2026-01-01T00:00:00Z")
    assert report.outputs() == {"stale": expected}


def test_outputs_are_appended_as_github_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "github-output"
    path.write_text("exit-code=1\n", encoding="utf-8")
    report.write_outputs(str(path), PLAN.outputs())
    report.write_outputs(str(path), {"stale": "true"})
    assert read_github_outputs(path) == {
        "exit-code": "1",
        "count": "5",
        "stale": "true",
        "levels": "base\napp app/slim\nleaf\nleaf/debug",
    }


def test_a_value_cannot_end_its_block_and_set_another_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "token_hex", lambda _n: "fixed")
    path = tmp_path / "github-output"
    with pytest.raises(ValueError, match="unusable step output 'levels'"):
        report.write_outputs(str(path), {"levels": "base\nbuilder_fixed\ncount=0"})
    with pytest.raises(ValueError, match="unusable step output 'Levels'"):
        report.write_outputs(str(path), {"Levels": "base"})
    with pytest.raises(ValueError, match="unusable step output 'levels'"):
        report.write_outputs(str(path), {"levels": "base\r\ncount=0"})
    assert not path.exists()  # nothing half-written


def test_an_unwritable_output_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        report.write_outputs(str(tmp_path), {"stale": "true"})
    assert caught.value.message == f"--github-output {tmp_path}: cannot append to it: Is a directory"


CHANNEL = {
    "base": "name: base\ndescription: b\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n",
    "app": "name: app\ndescription: a\nversion: 1.0.0\ndistro: debian\nfrom: {recipe: base}\n",
    "leaf": "name: leaf\ndescription: l\nversion: 1.0.0\ndistro: debian\nfrom: {recipe: app}\n",
    "tip": "name: tip\ndescription: t\nversion: 1.0.0\ndistro: debian\nfrom: {recipe: leaf}\n",
}


def test_plan_command_writes_outputs_and_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "recipes").mkdir()
    (tmp_path / "pyproject.toml").write_text("[tool.builder]\n", encoding="utf-8")
    for name, text in CHANNEL.items():
        (tmp_path / "recipes" / f"{name}.yaml").write_text(text, encoding="utf-8")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    output = tmp_path / "github-output"
    assert cli.main(["--root", str(tmp_path), "plan", "--offline", "--github-output", str(output)]) == 0
    assert read_github_outputs(output) == {"count": "4", "levels": "base\napp\nleaf\ntip"}
    assert "- level 4: `tip`" in summary.read_text(encoding="utf-8")
    assert "4 of 4 image(s) to build" in capsys.readouterr().out
