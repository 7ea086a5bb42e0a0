"""The rendered SHELL: errexit, nounset and pipefail, never xtrace.

Child images inherit SHELL: with xtrace, `ARG API_TOKEN` + `RUN test -n "${API_TOKEN}"` in a consumer's
Dockerfile prints the token in the consumer's build log. Checked on every committed Dockerfile (the
channel's and the test channels'), which `render --check` keeps equal to what rendering makes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.dockerfile import syntax

REPO = Path(__file__).resolve().parents[2]
DOCKERFILES = sorted([*(REPO / "base-images").rglob("Dockerfile"), *(REPO / "tests" / "fixtures").rglob("Dockerfile")])
WANTED = ["-o", "errexit", "-o", "nounset", "-o", "pipefail", "-c"]


def shell_options(text: str) -> list[list[str]]:
    """The options after the shell's path, for each SHELL instruction."""
    return [json.loads(inst.args)[1:] for inst in syntax.parse(text) if inst.keyword == "SHELL"]


def test_the_check_sees_xtrace() -> None:
    hostile = 'FROM x\nSHELL ["/bin/bash", "-o", "errexit", "-o", "nounset", "-o", "pipefail", "-o", "xtrace", "-c"]\n'
    assert shell_options(hostile) != [WANTED]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=[str(p.relative_to(REPO)) for p in DOCKERFILES])
def test_rendered_shells_do_not_trace(dockerfile: Path) -> None:
    options = shell_options(dockerfile.read_text(encoding="utf-8"))
    assert options  # every rendered Dockerfile sets it (a distroless form in its build stage)
    assert all(each == WANTED for each in options)
