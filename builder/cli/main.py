"""The `builder` command. The only module that prints errors and turns outcomes into exit codes.

Each command's module is imported only when that command runs: `builder --version` loads nothing but
the standard library, and `builder render` no docker, git or requests.
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
from builder.core.errors import BuilderError, ExitCode


def _run(args: Arguments) -> ExitCode:
    # Each command's module is imported here, when it runs (PLC0415 on purpose).
    match args:
        case RenderArgs():
            from builder.cli.recipe_commands import render_command  # noqa: PLC0415

            return render_command(args)
        case LintArgs():
            from builder.cli.recipe_commands import lint_command  # noqa: PLC0415

            return lint_command(args)
        case SchemaArgs():
            from builder.cli.recipe_commands import schema_command  # noqa: PLC0415

            return schema_command(args)
        case PlanArgs():
            from builder.cli.build_commands import plan_command  # noqa: PLC0415

            return plan_command(args)
        case BuildArgs():
            from builder.cli.build_commands import build_command  # noqa: PLC0415

            return build_command(args)
        case WatchArgs():
            from builder.cli.build_commands import watch_command  # noqa: PLC0415

            return watch_command(args)
        case ReleaseArgs():
            from builder.cli.release_commands import release_command  # noqa: PLC0415

            return release_command(args)
        case CatalogArgs():
            from builder.cli.release_commands import catalog_command  # noqa: PLC0415

            return catalog_command(args)
        case BotArgs():
            from builder.cli.release_commands import bot_command  # noqa: PLC0415

            return bot_command(args)
        case CheckPinsArgs():
            from builder.cli.pins_command import check_pins_command  # noqa: PLC0415

            return check_pins_command(args)
        case VerifyArgs():
            from builder.cli.signing_commands import verify_command  # noqa: PLC0415

            return verify_command(args)
        case KeygenArgs():
            from builder.cli.signing_commands import keygen_command  # noqa: PLC0415

            return keygen_command(args)


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
        return ExitCode.INTERRUPTED
