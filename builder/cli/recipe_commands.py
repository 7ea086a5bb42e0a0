"""`builder render`, `lint` and `schema`: the recipes and what they render to."""

from __future__ import annotations

from builder.cli import report
from builder.cli.arguments import LintArgs, RenderArgs, SchemaArgs
from builder.cli.commands import load
from builder.cli.locate import settings
from builder.core.errors import ExitCode, PolicyError, StaleError
from builder.core.files import write_atomic
from builder.dockerfile import policy, render
from builder.recipe import schema_files
from builder.recipe.graph import select


def render_command(args: RenderArgs) -> ExitCode:
    ctx = load(args.root)
    selected = select(ctx.channel, args.names)
    outputs = render.render_all(ctx.settings, ctx.channel, selected)
    root = ctx.settings.root
    if args.check:
        render.check(outputs, root)
        print(f"{len(outputs)} rendered file(s) up to date")
        return ExitCode.OK
    written = render.write(outputs)
    for path in written:
        print(f"wrote {path.relative_to(root)}")
    print(f"{len(outputs)} image(s) rendered, {len(written)} file(s) changed")
    return ExitCode.OK


def lint_command(args: LintArgs) -> ExitCode:
    if args.list_rules:
        for rule in policy.RULES.values():
            print(f"{rule.id} [{rule.severity}] {rule.title} ({rule.anchor})")
        return ExitCode.OK
    ctx = load(args.root)
    selected = select(ctx.channel, args.names)
    findings = policy.lint_rendered(ctx.settings, ctx.channel, selected)
    failing = policy.failing(findings, strict=args.strict)
    if args.json:
        report.emit_json({"images": selected, "findings": [f.as_json() for f in findings], "passed": not failing})
    else:
        for finding in findings:
            print(str(finding))
            if report.in_github_actions():
                print(
                    report.annotation(
                        "error" if finding in failing else "warning",
                        finding.message,
                        finding.file,
                        finding.line,
                        f"{finding.rule.id} {finding.rule.title}",
                    )
                )
        print(
            f"{len(selected)} image(s) checked: {len(failing)} failing, {len(findings) - len(failing)} other finding(s)"
        )
    if failing:
        raise PolicyError(f"{len(failing)} policy violation(s)")
    return ExitCode.OK


def schema_command(args: SchemaArgs) -> ExitCode:
    config = settings(args.root)
    root = config.root
    texts = schema_files.texts(config.recipes_dir, schema_files.json_schema(), schema_files.overlay_json_schema())
    if args.check:
        stale = schema_files.stale(texts)
        if stale:
            raise StaleError(
                f"{', '.join(str(p.relative_to(root)) for p in stale)} stale (run `builder schema` and commit)"
            )
        print(f"{', '.join(str(p.relative_to(root)) for p in texts)} up to date")
        return ExitCode.OK
    for path, text in texts.items():
        write_atomic(path, text)
        print(f"wrote {path.relative_to(root)}")
    return ExitCode.OK
