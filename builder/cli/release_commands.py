"""`builder release`, `catalog` and `bot`: releases, the catalog, and a pull request per changed image line."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from builder.cli import report
from builder.cli.arguments import BotArgs, CatalogArgs, ReleaseArgs
from builder.cli.commands import Context, load
from builder.core.errors import BotError, ConfigError, ExitCode
from builder.github import client as github
from builder.recipe.graph import select
from builder.release import catalog as catalog_mod
from builder.release import publish as release
from builder.release import site
from builder.signing import hooks as signing_hooks
from builder.signing import sign as signing_sign
from builder.upstream import registry


def release_command(args: ReleaseArgs) -> ExitCode:
    ctx = load(args.root)
    selected = select(ctx.channel, args.names)
    if args.auto and ctx.settings.auto_release == "none":
        print('auto-release is off ([tool.builder] auto_release = "none"): nothing released')
        return ExitCode.OK
    client = registry.RegistryClient(registry.docker_config_credentials())
    with release.exclusive(ctx.settings.output_dir):  # one release at a time in this checkout
        return _release(ctx, args, selected, client)


def _release(ctx: Context, args: ReleaseArgs, selected: list[str], client: registry.RegistryClient) -> ExitCode:
    steps = release.plan(ctx.settings, ctx.channel, selected, client, only_patch=args.auto)
    if args.json and args.dry_run:
        report.emit_json({"releases": [s.as_json() for s in steps]})
        return ExitCode.OK
    for step in steps:
        print(f"{step.image} {step.version}: {step.repository}@{step.digest}")
        for move in step.moves:
            note = f" ({move.note})" if move.note else ""
            print(f"  {move.action:<6} {move.tag}{note}")
    if args.dry_run:
        print(f"{len(steps)} release(s) planned; nothing changed (--dry-run)")
        return ExitCode.OK
    signer = signing_hooks.signer(ctx.settings, ctx.channel)  # a bad key fails before any tag moves
    if signer is None:
        print(signing_sign.warn_unsigned(), file=sys.stderr)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    for line in signing_hooks.release(signer, ctx.settings, ctx.channel, steps, client, today=today):
        report.say(line)
    for line in signing_hooks.finish(signer, ctx.settings, selected):
        report.say(line)
    catalog_mod.write(ctx.settings, ctx.channel)
    print(f"{len(steps)} image(s) released")
    return ExitCode.OK


def catalog_command(args: CatalogArgs) -> ExitCode:
    ctx = load(args.root)
    writes = catalog_mod.write(ctx.settings, ctx.channel) + signing_hooks.publish(ctx.settings)
    if args.site is not None:
        writes += site.write(ctx.settings, ctx.channel, args.site, dt.datetime.now(dt.UTC).date())
    for path in writes.written:
        print(f"wrote {_shown(path, ctx.settings.root)}")
    for path in writes.unchanged:
        print(f"unchanged {_shown(path, ctx.settings.root)}")
    return ExitCode.OK


def _shown(path: Path, root: Path) -> Path:
    """The path from the channel's root when under it (a --site folder may be anywhere)."""
    return path.relative_to(root) if path.is_relative_to(root) else path


def bot_command(args: BotArgs) -> ExitCode:
    from builder.github import bot  # noqa: PLC0415 - git, only for this command (`catalog` runs without it)

    ctx = load(args.root)
    selected = select(ctx.channel, args.names)
    if not ctx.settings.github_repository:
        raise ConfigError("no GitHub repository: set GITHUB_REPOSITORY=OWNER/NAME or [tool.builder] github_repository")
    client = github.GitHub(ctx.settings.github_api_url, ctx.settings.github_repository, github.token_from_env())
    lines = sorted({ctx.channel.images[i].name for i in selected})
    outcomes = bot.Bot(ctx.settings, ctx.channel, client, base=args.base).run(lines)
    for outcome in outcomes:
        report.say(str(outcome))
    report.step_summary("### builder bot\n\n" + "\n".join(f"- `{o.line}`: {o.action} {o.detail}" for o in outcomes))
    failed = [o for o in outcomes if o.action == "failed"]
    if failed:
        raise BotError(f"{len(failed)} image line(s) failed: " + ", ".join(o.line for o in failed))
    return ExitCode.OK
