"""The exit codes: one table in the code (`ExitCode`, `MEANINGS`), the same table in the documentation,
one meaning per code, and commands that never pick a number themselves."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import builder
from builder.cli import main as cli
from builder.core import errors
from builder.core.errors import MEANINGS, BuilderError, ExitCode
from builder.signing import errors as signing_errors

REPO = Path(__file__).resolve().parents[2]
# Where the documented table lives; one constant, so that moving the reference (docs/commands.md) is one edit.
EXIT_CODES_DOC = REPO / "docs" / "commands.md"
PACKAGE = Path(builder.__file__).parent
_ROW = re.compile(r"\| (\d+) \| (.+) \|")


def documented(markdown: str) -> dict[int, str]:
    """The `| code | meaning |` table of a Markdown text, as {code: meaning}."""
    lines = markdown.splitlines()
    start = lines.index("| code | meaning |")
    if lines[start + 1] != "|---|---|":
        raise ValueError(f"line {start + 2}: expected the table's |---|---| line")
    table: dict[int, str] = {}
    for number, line in enumerate(lines[start + 2 :], start=start + 3):
        if not line.startswith("|"):
            break
        row = _ROW.fullmatch(line)
        if row is None:
            raise ValueError(f"line {number}: not a `| code | meaning |` row: {line}")
        code = int(row[1])
        if code in table:
            raise ValueError(f"line {number}: code {code} is listed twice")
        table[code] = row[2]
    return table


def drift(doc: dict[int, str], code: dict[ExitCode, str]) -> list[str]:
    """Every difference between the documented table and the code's, both directions."""
    found = [f"{c}: in the code, not documented" for c in sorted(code) if c not in doc]
    found += [f"{c}: documented, not in the code" for c in sorted(doc) if c not in set(ExitCode)]
    found += [
        f"{c}: documented as {doc[c]!r}, the code says {code[ExitCode(c)]!r}"
        for c in sorted(doc)
        if c in set(ExitCode) and ExitCode(c) in code and doc[c] != code[ExitCode(c)]
    ]
    return found


def test_every_code_has_one_meaning() -> None:
    assert set(MEANINGS) == set(ExitCode)
    assert len(set(MEANINGS.values())) == len(MEANINGS)


def test_the_documented_table_is_the_code_s_table() -> None:
    assert drift(documented(EXIT_CODES_DOC.read_text(encoding="utf-8")), MEANINGS) == []


HONEST = "\n".join(
    [
        "Exit codes:",
        "",
        "| code | meaning |",
        "|---|---|",
        *(f"| {int(c)} | {m} |" for c, m in MEANINGS.items()),
        "",
        "## Next",
    ]
)


def test_a_drifted_table_is_caught() -> None:
    assert drift(documented(HONEST), MEANINGS) == []
    hostile = HONEST.replace("| 12 | ", "| 99 | ").replace("| 1 | `watch`: stale images found;", "| 1 | an error;")
    assert drift(documented(hostile), MEANINGS) == [
        "12: in the code, not documented",
        "99: documented, not in the code",
        "1: documented as 'an error; `check-pins`: outdated pins found (like `diff`)', the code says "
        "'`watch`: stale images found; `check-pins`: outdated pins found (like `diff`)'",
    ]


@pytest.mark.parametrize(
    ("markdown", "message"),
    [
        (
            "| code | meaning |\n|---|---|\n| 0 | success |\n| one | error |\n",
            "line 4: not a `| code | meaning |` row: | one | error |",
        ),
        ("| code | meaning |\n|---|---|\n| 0 | success |\n| 0 | also |\n", "line 4: code 0 is listed twice"),
        ("| code | meaning |\n| 0 | success |\n", "line 2: expected the table's |---|---| line"),
    ],
)
def test_a_malformed_table_is_refused(markdown: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        documented(markdown)


def _error_classes() -> list[type[BuilderError]]:
    for module in pkgutil.walk_packages(builder.__path__, "builder."):
        if module.name != "builder.__main__":
            importlib.import_module(module.name)  # every error class the package defines
    found: list[type[BuilderError]] = []
    todo = [BuilderError]
    while todo:
        cls = todo.pop()
        found += cls.__subclasses__()
        todo += cls.__subclasses__()
    return [c for c in found if c.__module__.startswith("builder.")]


def _family(cls: type[BuilderError]) -> type[BuilderError]:
    """The error class right below BuilderError that `cls` is a kind of (itself, when it is that class)."""
    return next(c for c in reversed(cls.__mro__) if issubclass(c, BuilderError) and c is not BuilderError)


def shared_codes(classes: list[type[BuilderError]]) -> list[str]:
    """Pairs of error classes with one code but unrelated meanings (not kinds of one error class)."""
    return [
        f"{a.__name__} and {b.__name__} share {a.exit_code}"
        for a in classes
        for b in classes
        if a.__name__ < b.__name__ and a.exit_code == b.exit_code and _family(a) is not _family(b)
    ]


@pytest.mark.allow_subprocess  # importing GitPython runs `git version`
def test_error_classes_do_not_share_a_code_unless_one_is_a_kind_of_the_other() -> None:
    classes = _error_classes()
    assert {errors.BuildError, errors.BuildFailed, signing_errors.NotSigned} <= set(classes)
    assert len(classes) > 20  # registry and signing errors too
    assert all(isinstance(c.exit_code, ExitCode) for c in classes)
    assert ExitCode.STALE_FOUND not in {c.exit_code for c in classes}  # "found work" is never an error
    assert shared_codes(classes) == []

    class Lookalike(BuilderError):
        exit_code = ExitCode.BUILD_FAILED

    assert shared_codes([errors.BuildError, errors.BuildFailed, Lookalike]) == [
        "BuildError and Lookalike share 9",
        "BuildFailed and Lookalike share 9",
    ]


def test_the_base_error_is_never_raised_itself() -> None:
    with pytest.raises(TypeError, match="raise a subclass of BuilderError"):
        BuilderError("what went wrong?")


def picked_codes(root: Path) -> list[str]:
    """Where the CLI's command modules return a number rather than an `ExitCode` member."""
    found = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Return):
                continue
            returned = node.value
            if isinstance(returned, ast.Constant) and isinstance(returned.value, int):
                found.append(f"{path.name}:{node.lineno}: returns {returned.value}")
            elif isinstance(returned, ast.Attribute) and returned.attr == "exit_code":
                found.append(f"{path.name}:{node.lineno}: returns an error's code")
    return found


def test_commands_never_pick_a_number(tmp_path: Path) -> None:
    assert picked_codes(PACKAGE / "cli") == []
    (tmp_path / "hostile_commands.py").write_text(
        "def a() -> int:\n    return 1\n\n\ndef b() -> int:\n    return WatchError.exit_code\n", encoding="utf-8"
    )
    assert picked_codes(tmp_path) == [
        "hostile_commands.py:2: returns 1",
        "hostile_commands.py:6: returns an error's code",
    ]


def test_a_bad_command_line_exits_with_the_usage_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["render", "--no-such-option"])
    assert exited.value.code == ExitCode.USAGE
    assert capsys.readouterr().err.endswith("builder: error: unrecognized arguments: --no-such-option\n")
