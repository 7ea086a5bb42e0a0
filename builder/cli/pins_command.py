"""`builder check-pins`: for consumers, Dockerfiles FROM channel images pinned to an outdated digest or version.

Its own module: a consumer's CI runs it, so it loads no engine, git or registry client.
"""

from __future__ import annotations

from builder.cli import report
from builder.cli.arguments import CheckPinsArgs
from builder.cli.locate import catalog, catalog_path
from builder.core.errors import ExitCode, UsageError
from builder.release import pins


def check_pins_command(args: CheckPinsArgs) -> ExitCode:
    path = catalog_path(args.catalog, root=args.root)
    index = catalog(path)
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    found = pins.check(list(args.paths), index)
    for pin in found:
        print(str(pin))
    if args.fix:
        for path in pins.fix(found):
            report.say(f"fixed {path}")
        return ExitCode.OK
    print(f"{len(found)} outdated pin(s)")
    return ExitCode.STALE_FOUND if found else ExitCode.OK
