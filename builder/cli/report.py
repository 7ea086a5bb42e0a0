"""Output for people and for CI: plain lines, GitHub Actions annotations and groups."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, TextIO

from builder.core import plaintext
from builder.core.errors import Problem, UsageError

_OUTPUT_NAME = re.compile(r"[a-z][a-z0-9-]*")


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def _escape_data(text: str) -> str:
    return plaintext.line(text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    level: Literal["error", "warning", "notice"],
    message: str,
    file: str | None = None,
    line: int | None = None,
    title: str | None = None,
) -> str:
    props = []
    if file:
        props.append(f"file={_escape_property(file)}")
    if line:
        props.append(f"line={line}")
    if title:
        props.append(f"title={_escape_property(title)}")
    head = f"::{level} {','.join(props)}" if props else f"::{level}"
    return f"{head}::{_escape_data(message)}"


def problems(items: tuple[Problem, ...] | list[Problem], stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    for problem in items:
        print(str(problem), file=out)
        if in_github_actions():
            print(
                annotation(
                    "error",
                    f"{problem.field}: {problem.message}" if problem.field else problem.message,
                    problem.file,
                    problem.line,
                ),
                file=out,
            )


def error_lines(lines: list[str], stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    for line in lines:
        print(f"error: {plaintext.line(line)}", file=out)


def say(text: str, stream: TextIO | None = None) -> None:
    """One line of output that may quote what others wrote (recipes, servers, build logs)."""
    print(plaintext.line(text), file=stream or sys.stdout)


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


@contextmanager
def group(title: str) -> Iterator[None]:
    """Fold long output in GitHub Actions; a plain heading elsewhere."""
    if in_github_actions():
        print(f"::group::{_escape_data(title)}", flush=True)
    else:
        print(f"==> {plaintext.line(title)}", file=sys.stderr, flush=True)
    try:
        yield
    finally:
        if in_github_actions():
            print("::endgroup::", flush=True)


def step_summary(markdown: str) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown.rstrip() + "\n")


def write_outputs(path: str, values: dict[str, str]) -> None:
    """Append step outputs to the file GitHub Actions names in $GITHUB_OUTPUT.

    Each value goes in the multi-line form (`name<<DELIMITER`), with a delimiter no value
    holds, so a value can never end early and set another output.
    """
    import secrets  # noqa: PLC0415 - only for --github-output: `builder --version` stays light

    delimiter = f"builder_{secrets.token_hex(16)}"
    text = ""
    for name, value in values.items():
        if not _OUTPUT_NAME.fullmatch(name) or delimiter in value or "\r" in value:
            raise ValueError(f"unusable step output {name!r}")
        text += f"{name}<<{delimiter}\n{value}\n{delimiter}\n"
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise UsageError(f"--github-output {path}: cannot append to it: {exc.strerror or exc}") from exc
