"""`builder check-pins`: for consumers, Dockerfiles FROM channel images pinned to an outdated digest or version.

Its own module: a consumer's CI runs it, so it loads no engine, git or registry client, and HTTP only when
the catalog is a URL or `--fix` looks the proposed digests up in the registry.
"""

from __future__ import annotations

from builder.cli import report
from builder.cli.arguments import CheckPinsArgs
from builder.cli.locate import catalog_path
from builder.core.errors import ExitCode, UsageError
from builder.release import catalog_fetch, pins, pins_fix


def check_pins_command(args: CheckPinsArgs) -> ExitCode:
    index = catalog_fetch.load(args.catalog or str(catalog_path(None, root=args.root)))
    missing = [str(p) for p in args.paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    found = pins.check(list(args.paths), index)
    failing = [pin for pin in found if pin.fails(args.strict)]
    if not args.json:
        for pin in found:
            print(str(pin))
    fixed = pins_fix.fix(failing, pins_fix.registry_exists()) if args.fix and failing else []
    if args.json:
        report.emit_json(
            {"findings": [pin.json() for pin in found], "failing": len(failing), "fixed": [str(path) for path in fixed]}
        )
        return ExitCode.OK if args.fix or not failing else ExitCode.STALE_FOUND
    for path in fixed:
        report.say(f"fixed {path}")
    tracking = len([pin for pin in found if pin.kind == "tracking" and not pin.fails(args.strict)])
    ending = len([pin for pin in found if pin.kind == "lifecycle"])
    print(
        f"{len(failing)} outdated pin(s)"
        + (f", {tracking} tracking (they fail with --strict)" if tracking else "")
        + (f", {ending} on a release near or past its end (advice)" if ending else "")
    )
    return ExitCode.OK if args.fix or not failing else ExitCode.STALE_FOUND
