"""docs/commands.md lists exactly the commands and options the command line accepts.

Both directions count: an option `--help` has but the page lacks (hidden ones too), and an
option the page lists that the command line no longer has. Read from the parser object, so
what `--help` prints and what the page says cannot drift apart again.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from builder.cli.parser import parser as make_parser  # the function that builds the `builder` parser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "commands.md"
GLOBAL = "Global options"
HEADING = re.compile(r"^## (?:`builder (?P<command>[a-z0-9-]+)`|(?P<other>.+))$", re.MULTILINE)
OPTION = re.compile(r"--[a-z][a-z0-9-]*")
POSITIONAL = re.compile(r"\b([A-Z]+)\.\.\.")  # `NAME...`, `PATH...`: a command's arguments


def _subcommands(top: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def _options(parser: argparse.ArgumentParser) -> set[str]:
    # Every option string, help=SUPPRESS ones included; `--help` is documented once, globally.
    return {s for a in parser._actions for s in a.option_strings if s.startswith("--")} - {"--help"}


def _positionals(parser: argparse.ArgumentParser) -> set[str]:
    return {
        str(a.metavar or a.dest)
        for a in parser._actions
        if not a.option_strings and not isinstance(a, argparse._SubParsersAction)
    }


def _sections(text: str) -> dict[str, str]:
    """Command name (or GLOBAL) -> the text of its section."""
    marks = list(HEADING.finditer(text))
    sections = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        name = mark["command"] or mark["other"]
        sections[name] = text[mark.end() : following.start() if following else len(text)]
    return sections


def _documented(section: str) -> tuple[set[str], set[str] | None, set[str]]:
    """Options in the section's table, options in its usage line (None: no usage line), positionals."""
    table = {o for line in section.splitlines() if line.startswith("| `") for o in OPTION.findall(line.split("|")[1])}
    usage = re.search(r"^Usage: `([^`]*)`$", section, re.MULTILINE)
    if usage is None:
        return table, None, set()
    return table, set(OPTION.findall(usage[1])), set(POSITIONAL.findall(usage[1]))


def drift(top: argparse.ArgumentParser, docs: str) -> list[str]:
    """One line per difference between the parser and the page."""
    problems = []
    sections = _sections(docs)
    commands = _subcommands(top)
    for name in sorted(set(commands) - set(sections)):
        problems.append(f"builder {name}: no section `builder {name}` in docs/commands.md")
    for name in sorted(set(sections) - set(commands) - {GLOBAL, "Exit codes"}):
        problems.append(f"docs/commands.md: section {name!r} names no command")
    wanted = {GLOBAL: top, **commands}
    for name, parser in wanted.items():
        if name not in sections:
            continue
        table, usage, positionals = _documented(sections[name])
        has = _options(parser) | ({"--help"} if name == GLOBAL else set())
        label = "global options" if name == GLOBAL else f"builder {name}"
        problems += [f"{label}: --help has {o} that docs/commands.md does not list" for o in sorted(has - table)]
        problems += [f"{label}: docs/commands.md lists {o} that --help does not have" for o in sorted(table - has)]
        if name == GLOBAL:
            continue
        if usage is None:
            problems.append(f"{label}: no `Usage:` line in docs/commands.md")
            continue
        if usage != _options(parser):
            problems.append(f"{label}: the usage line lists {sorted(usage)}, --help has {sorted(_options(parser))}")
        if positionals != _positionals(parser):
            problems.append(
                f"{label}: the usage line's arguments are {sorted(positionals)}, "
                f"--help has {sorted(_positionals(parser))}"
            )
    return problems


def test_every_command_and_option_is_documented_and_nothing_else() -> None:
    assert drift(make_parser(), DOCS.read_text(encoding="utf-8")) == []


def test_every_command_is_checked() -> None:
    # A page whose headings the test failed to read would compare nothing at all.
    sections = _sections(DOCS.read_text(encoding="utf-8"))
    assert set(_subcommands(make_parser())) | {GLOBAL, "Exit codes"} == set(sections)
    assert _documented(sections["plan"])[0] == {"--json", "--offline", "--force", "--watch", "--github-output"}


def _hidden_flag() -> argparse.ArgumentParser:
    top = make_parser()
    _subcommands(top)["plan"].add_argument("--sneaky", action="store_true", help=argparse.SUPPRESS)
    return top


def _extra_command() -> argparse.ArgumentParser:
    top = make_parser()
    (action,) = [a for a in top._actions if isinstance(a, argparse._SubParsersAction)]
    action.add_parser("prune")
    return top


def _docs(old: str, new: str) -> str:
    text = DOCS.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


WATCH_ROW = (
    "| `--watch` | also rebuild images with package updates in their package sources "
    "(as `builder watch` finds them) |\n"
)
# Each a drift the test must catch, with the exact report.
HOSTILE = [
    (
        "a hidden flag",
        _hidden_flag,
        None,
        [
            "builder plan: --help has --sneaky that docs/commands.md does not list",
            "builder plan: the usage line lists ['--force', '--github-output', '--json', '--offline', '--watch'], "
            "--help has ['--force', '--github-output', '--json', '--offline', '--sneaky', '--watch']",
        ],
    ),
    (
        "plan's --watch missing from the table (issue 20)",
        make_parser,
        (WATCH_ROW, ""),
        ["builder plan: --help has --watch that docs/commands.md does not list"],
    ),
    (
        "an option the command line does not have",
        make_parser,
        ("| `--offline` | do not look up", "| `--offline`, `--fast` | do not look up"),
        ["builder plan: docs/commands.md lists --fast that --help does not have"],
    ),
    (
        "a usage line behind its table",
        make_parser,
        ("[--check] [NAME...]`", "[NAME...]`"),
        ["builder render: the usage line lists [], --help has ['--check']"],
    ),
    (
        "a usage line with the wrong arguments",
        make_parser,
        ("[--catalog PATH|URL] PATH...`", "[--catalog PATH|URL]`"),
        ["builder check-pins: the usage line's arguments are [], --help has ['PATH']"],
    ),
    (
        "a global option dropped",
        make_parser,
        ("| `--version` | print the builder's version |\n", ""),
        ["global options: --help has --version that docs/commands.md does not list"],
    ),
    (
        "a command without a section",
        _extra_command,
        None,
        ["builder prune: no section `builder prune` in docs/commands.md"],
    ),
    (
        "a section for no command",
        make_parser,
        ("## `builder keygen`", "## `builder keygen2`"),
        [
            "builder keygen: no section `builder keygen` in docs/commands.md",
            "docs/commands.md: section 'keygen2' names no command",
        ],
    ),
]


@pytest.mark.parametrize(("parser_of", "edit", "expected"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_drift_is_caught(parser_of: object, edit: tuple[str, str] | None, expected: list[str]) -> None:
    docs = _docs(*edit) if edit else DOCS.read_text(encoding="utf-8")
    assert callable(parser_of)
    assert drift(parser_of(), docs) == expected
