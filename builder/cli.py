"""The `builder` command. The only module that prints errors and chooses exit codes."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from builder import __version__, graph, model, policy, recipes, render, report
from builder import settings as settings_mod
from builder.errors import BuilderError, PolicyError, StaleError, UsageError
from builder.fsutil import read_if_exists, write_atomic
from builder.graph import Channel
from builder.settings import Settings

SCHEMA_FILE = "recipe.schema.json"


@dataclass(frozen=True)
class Context:
    settings: Settings
    channel: Channel


def _load(args: argparse.Namespace) -> Context:
    root = Path(args.root).resolve() if args.root else settings_mod.find_root(Path.cwd())
    settings = settings_mod.load(root)
    loaded = recipes.load_dir(settings.recipes_dir, root)
    return Context(settings, graph.build(loaded))


def _select(channel: Channel, wanted: Sequence[str]) -> list[str]:
    """Image ids for NAME or NAME/VARIANT arguments; every image when none are given."""
    if not wanted:
        return sorted(channel.images)
    selected: set[str] = set()
    for item in wanted:
        matches = {i for i in channel.images if i == item or i.split("/")[0] == item}
        if not matches:
            close = difflib.get_close_matches(item, sorted(channel.images), 1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"no image named {item!r} in the channel{hint}")
        selected |= matches
    return sorted(selected)


def cmd_render(args: argparse.Namespace) -> int:
    ctx = _load(args)
    selected = _select(ctx.channel, args.names)
    outputs = render.render_all(ctx.settings, ctx.channel, selected)
    root = ctx.settings.root
    if args.check:
        render.check(outputs, root)
        print(f"{len(outputs)} rendered file(s) up to date")
        return 0
    written = render.write(outputs)
    for path in written:
        print(f"wrote {path.relative_to(root)}")
    print(f"{len(outputs)} image(s) rendered, {len(written)} file(s) changed")
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    if args.list_rules:
        for rule in policy.RULES.values():
            print(f"{rule.id} [{rule.severity}] {rule.title} ({rule.anchor})")
        return 0
    ctx = _load(args)
    selected = _select(ctx.channel, args.names)
    outputs = render.render_all(ctx.settings, ctx.channel, selected)
    dockerfiles = {i: render.output_dir(ctx.settings, ctx.channel.images[i]) / render.DOCKERFILE
                   for i in selected}
    expected = {i: outputs[dockerfiles[i]] for i in selected}
    findings = policy.lint(ctx.channel, selected, dockerfiles, expected, ctx.settings.root)
    failing = [f for f in findings if f.rule.severity == "error" or args.strict]
    if args.json:
        report.emit_json({"images": selected, "findings": [f.as_json() for f in findings],
                          "passed": not failing})
    else:
        for finding in findings:
            print(str(finding))
            if report.in_github_actions():
                level = "error" if finding in failing else "warning"
                print(report.annotation(level, finding.message, finding.file, finding.line,
                                        f"{finding.rule.id} {finding.rule.title}"))
        print(f"{len(selected)} image(s) checked: {len(failing)} failing, "
              f"{len(findings) - len(failing)} other finding(s)")
    if failing:
        raise PolicyError(f"{len(failing)} policy violation(s)")
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve() if args.root else settings_mod.find_root(Path.cwd())
    settings = settings_mod.load(root)
    path = settings.recipes_dir / SCHEMA_FILE
    text = json.dumps(model.json_schema(), indent=2, sort_keys=True) + "\n"
    if args.check:
        if read_if_exists(path) != text:
            raise StaleError(f"{path.relative_to(root)} is stale (run `builder schema` and commit)")
        print(f"{path.relative_to(root)} up to date")
        return 0
    write_atomic(path, text)
    print(f"wrote {path.relative_to(root)}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="builder",
        description="Maintain a channel of hardened, non-root, digest-pinned base images.")
    top.add_argument("--version", action="version", version=f"builder {__version__}")
    top.add_argument("--root", help="channel repository (default: nearest folder whose "
                     "pyproject.toml has [tool.builder])")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("render", help="recipes -> base-images/ Dockerfiles",
                       description="Render recipes into base-images/NAME[/VARIANT]/Dockerfile.")
    p.add_argument("names", nargs="*", metavar="NAME", help="image names (default: all)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; fail if committed output is stale")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("lint", help="hardening policy on recipes and rendered Dockerfiles",
                       description="Run the hardening policy and hadolint.")
    p.add_argument("names", nargs="*", metavar="NAME", help="image names (default: all)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--strict", action="store_true", help="warnings fail too")
    p.add_argument("--list-rules", action="store_true", help="print the rules and exit")
    p.set_defaults(func=cmd_lint)

    p = sub.add_parser("schema", help="write the recipe JSON Schema for editors",
                       description=f"Write recipes/{SCHEMA_FILE} from the recipe model.")
    p.add_argument("--check", action="store_true", help="fail if the committed schema is stale")
    p.set_defaults(func=cmd_schema)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except BuilderError as exc:
        if exc.problems:
            report.problems(exc.problems)
            print(f"error: {exc.message} ({len(exc.problems)} problem(s))", file=sys.stderr)
        else:
            report.error_lines(exc.lines())
            if report.in_github_actions():
                print(report.annotation("error", exc.message), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code
