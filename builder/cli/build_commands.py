"""`builder plan`, `build` and `watch`: what is stale, in which order it rebuilds, and the builds."""

from __future__ import annotations

import sys

from builder.channel.candidates import Candidates
from builder.cli import report
from builder.cli.arguments import BuildArgs, PlanArgs, WatchArgs
from builder.cli.commands import Context, load
from builder.core.errors import BuildFailed, ExitCode
from builder.github import git
from builder.image import build, docker_engine, engine, upstream_check, watch_report
from builder.image import plan as plan_mod
from builder.recipe.graph import select


def _resolver() -> tuple[engine.Engine, plan_mod.Resolver]:
    eng = docker_engine.DockerEngine.connect()

    def resolve(reference: str) -> str:
        registry = reference.split("/", 1)[0]
        return eng.resolve_digest(reference, engine.credentials(registry))

    return eng, resolve


def _update_reasons(
    ctx: Context, selected: list[str], known: Candidates, rendered: plan_mod.Rendered
) -> dict[str, list[str]]:
    """Package updates found by watch (`--watch`), as plan reasons; what could not be checked, as warnings."""
    result = upstream_check.run(ctx.settings, ctx.channel, selected, known, rendered)
    for item in result.failed:
        for error in item.errors:
            report.say(f"warning: {item.image}: {error}", sys.stderr)
    return upstream_check.plan_reasons(result)


def plan_command(args: PlanArgs) -> ExitCode:
    ctx = load(args.root)
    selected = select(ctx.channel, args.names)
    resolve = None if args.offline else _resolver()[1]
    known, rendered = Candidates(ctx.settings), plan_mod.Rendered(ctx.settings, ctx.channel)
    extra = _update_reasons(ctx, selected, known, rendered) if args.watch and not args.offline else None
    the_plan = plan_mod.make(
        ctx.settings, ctx.channel, selected, resolve, force=args.force, extra=extra, candidates=known, rendered=rendered
    )
    report.step_summary(the_plan.summary_markdown())
    if args.github_output:
        report.write_outputs(args.github_output, the_plan.outputs())
    if args.json:
        report.emit_json(the_plan.as_json())
        return ExitCode.OK
    for number, level in enumerate(the_plan.levels, start=1):
        print(f"level {number}:")
        for step in level:
            why = ", ".join(step.reasons) if step.needed else "up to date"
            report.say(f"  {'build' if step.needed else 'skip '} {step.image}: {why}")
    print(f"{len(the_plan.to_build())} of {len(the_plan.steps())} image(s) to build")
    return ExitCode.OK


def build_command(args: BuildArgs) -> ExitCode:
    ctx = load(args.root)
    selected = select(ctx.channel, args.names, exact=args.exact)
    eng, resolve = _resolver()
    known, rendered = Candidates(ctx.settings), plan_mod.Rendered(ctx.settings, ctx.channel)
    extra = _update_reasons(ctx, selected, known, rendered) if args.watch else {}
    the_plan = plan_mod.make(
        ctx.settings, ctx.channel, selected, resolve, force=args.force, extra=extra, candidates=known, rendered=rendered
    )
    if not the_plan.to_build():
        print(f"nothing to build: {len(the_plan.steps())} image(s) up to date")
        return ExitCode.OK
    options = build.Options(
        push=args.push,
        jobs=args.jobs,
        revision=git.revision(ctx.settings.root),
        source_url=ctx.settings.source_url or None,
        log=build.print_log,
    )
    with report.group(f"build {len(the_plan.to_build())} image(s)"):
        outcomes = build.run(
            ctx.settings,
            ctx.channel,
            the_plan,
            eng,
            options,
            candidates=known,
            indexes=upstream_check.apt_indexes(ctx.settings, ctx.channel),
        )
    for line in build.result_table(outcomes):
        report.say(line)
    report.step_summary(build.summary_markdown(outcomes))
    failed = [o for o in outcomes if o.status in ("failed", "skipped")]
    if failed:
        for outcome in failed:
            if report.in_github_actions():
                print(report.annotation("error", f"{outcome.image}: {outcome.message}"))
        raise BuildFailed(
            f"{len(failed)} of {len(outcomes)} image(s) failed or were skipped: " + ", ".join(o.image for o in failed)
        )
    return ExitCode.OK


def watch_command(args: WatchArgs) -> ExitCode:
    ctx = load(args.root)
    selected = select(ctx.channel, args.names)
    result = upstream_check.run(ctx.settings, ctx.channel, selected, Candidates(ctx.settings))
    if args.json:
        report.emit_json(result.as_json())
    else:
        _print_watch(result)
    report.step_summary(upstream_check.markdown(result))
    if args.github_output:
        report.write_outputs(args.github_output, result.outputs())
    if result.failed:
        for item in result.failed:
            report.error_lines([f"{item.image}: {e}" for e in item.errors])
        return ExitCode.WATCH_INCOMPLETE
    return ExitCode.STALE_FOUND if result.stale else ExitCode.OK


def _print_watch(result: watch_report.Report) -> None:
    for item in result.images:
        state = "ERROR" if item.errors else ("stale" if item.stale else "ok")
        print(f"{item.image:<24} {state}")
        for finding in item.findings:
            report.say(f"  {finding.kind}: {finding.summary}")
            for update in finding.packages:
                fixes = ", ".join(update.cves + update.advisories)
                report.say(
                    f"    {update.name} {update.old} -> {update.new} ({update.suite})"
                    + (f" fixes {fixes}" if fixes else "")
                )
        for notice in item.notices:
            report.say(f"  {notice.kind}: {notice.summary}")
        for error in item.errors:
            report.say(f"  error: {error}")
    print(
        f"{len(result.stale)} of {len(result.images)} image(s) stale, {len(result.failed)} could not be fully checked"
    )
