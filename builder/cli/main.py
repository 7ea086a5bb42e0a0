"""The `builder` command. The only module that prints errors and turns outcomes into exit codes.

Each command's module is imported only when that command runs, so that `builder --version` and
`builder render --check` never load docker, git, requests or cryptography.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from builder.cli import report
from builder.cli.arguments import (
    Arguments,
    BotArgs,
    BuildArgs,
    CatalogArgs,
    CheckPinsArgs,
    KeygenArgs,
    LintArgs,
    PlanArgs,
    ReleaseArgs,
    RenderArgs,
    SchemaArgs,
    VerifyArgs,
    WatchArgs,
    parse,
)
from builder.core.errors import INTERRUPTED, BuilderError, ExitCode


def _run(args: Arguments) -> ExitCode:
    match args:
        case RenderArgs() | LintArgs() | SchemaArgs():
            from builder.cli import recipe_commands  # noqa: PLC0415 - lazy, see above

            return recipe_commands.run(args)
        case PlanArgs() | BuildArgs() | WatchArgs():
            from builder.cli import build_commands  # noqa: PLC0415 - lazy, see above

            return build_commands.run(args)
        case ReleaseArgs() | CatalogArgs() | BotArgs():
            from builder.cli import release_commands  # noqa: PLC0415 - lazy, see above

            return release_commands.run(args)
        case CheckPinsArgs():
            from builder.cli import pins_command  # noqa: PLC0415 - lazy, see above

            return pins_command.check_pins_command(args)
        case VerifyArgs() | KeygenArgs():
            from builder.cli import signing_commands  # noqa: PLC0415 - lazy, see above

            return signing_commands.run(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    try:
        return int(_run(args))
    except BuilderError as exc:
        if exc.problems:
            report.problems(exc.problems)
            report.error_lines([f"{exc.message} ({len(exc.problems)} problem(s))"])
        else:
            report.error_lines(exc.lines())
            if report.in_github_actions():
                print(report.annotation("error", exc.message), file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPTED
