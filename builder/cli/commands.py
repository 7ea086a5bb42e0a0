"""The commands behind `builder COMMAND`: each loads what it needs, calls the library, prints."""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from builder.channel.candidates import Candidates
from builder.channel.layout import ImageFiles
from builder.cli import report
from builder.core import settings as settings_mod
from builder.core.errors import BotError, BuildFailed, ConfigError, PolicyError, StaleError, UsageError, WatchError
from builder.core.files import read_if_exists, write_atomic
from builder.core.settings import Settings
from builder.dockerfile import policy, render
from builder.github import bot, git
from builder.github import client as github
from builder.image import build, engine, watch
from builder.image import plan as plan_mod
from builder.recipe import graph, model
from builder.recipe import load as recipes
from builder.recipe.graph import Channel
from builder.release import catalog, pins
from builder.release import publish as release
from builder.signing import hooks as signing_hooks
from builder.signing import keys as signing_keys
from builder.signing import sign as signing_sign
from builder.signing import store as signing_store
from builder.signing import verify as signing_verify
from builder.upstream import apt_index, debian_changelog, registry

SCHEMA_FILE = "recipe.schema.json"
OVERLAY_SCHEMA_FILE = "overlay.schema.json"
WATCH_STALE = 1  # `builder watch`: stale images found (like `diff`)
PINS_OUTDATED = 1  # `builder check-pins`: outdated pins found


@dataclass(frozen=True)
class Context:
    settings: Settings
    channel: Channel


def _load(args: argparse.Namespace) -> Context:
    root = Path(args.root).resolve() if args.root else settings_mod.find_root(Path.cwd())
    settings = settings_mod.load(root)
    loaded = recipes.load_dir(settings.recipes_dir, root)
    return Context(settings, graph.build(loaded))


def _select(channel: Channel, wanted: Sequence[str], *, exact: bool = False) -> list[str]:
    """Image ids for NAME (its whole line) or NAME/VARIANT arguments; every image when none are given.

    `exact`: each argument is one image id, so NAME is the line's main image alone.
    """
    if not wanted:
        return sorted(channel.images)
    selected: set[str] = set()
    for item in wanted:
        matches = {i for i in channel.images if i == item or (not exact and i.split("/")[0] == item)}
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
    dockerfiles = {i: ImageFiles.of(ctx.settings, ctx.channel.images[i]).dockerfile
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


def _resolver() -> tuple[engine.Engine, plan_mod.Resolver]:
    eng = engine.Engine.connect()

    def resolve(reference: str) -> str:
        registry = reference.split("/", 1)[0]
        return eng.resolve_digest(reference, engine.credentials(registry))

    return eng, resolve


def _indexes(ctx: Context) -> apt_index.IndexCache:
    """The package indexes, each verified with its repository's key (Debian's archive keyring by default)."""
    repositories = {(r.url, r.signed_by, r.trusted) for image in ctx.channel.images.values()
                    for r in image.recipe.repositories}
    return apt_index.IndexCache(ctx.settings.cache_dir, mirrors=dict(ctx.settings.apt_mirrors),
                               keyrings=apt_index.channel_keyrings(ctx.settings.root, repositories))


def _watch(ctx: Context, selected: list[str], known: Candidates) -> watch.Report:
    client = registry.RegistryClient(registry.docker_config_credentials())
    logs = debian_changelog.ChangelogCache(ctx.settings.cache_dir)
    return watch.run(ctx.settings, ctx.channel, selected, client.digest, indexes=_indexes(ctx), logs=logs,
                     candidates=known)


def _update_reasons(ctx: Context, selected: list[str], known: Candidates) -> dict[str, list[str]]:
    """Package updates found by watch (`--watch`), as plan reasons."""
    reasons: dict[str, list[str]] = {}
    for item in _watch(ctx, selected, known).images:
        for finding in item.findings:
            if finding.kind == "security-update":
                reasons.setdefault(item.image, []).append(finding.summary)
        for error in item.errors:
            report.say(f"warning: {item.image}: {error}", sys.stderr)
    return reasons


def cmd_plan(args: argparse.Namespace) -> int:
    ctx = _load(args)
    selected = _select(ctx.channel, args.names)
    resolve = None if args.offline else _resolver()[1]
    known = Candidates(ctx.settings)
    extra = _update_reasons(ctx, selected, known) if args.watch and not args.offline else None
    the_plan = plan_mod.make(ctx.settings, ctx.channel, selected, resolve, force=args.force, extra=extra,
                             candidates=known)
    if args.json:
        report.emit_json(the_plan.as_json())
        return 0
    for number, level in enumerate(the_plan.levels, start=1):
        print(f"level {number}:")
        for step in level:
            why = ", ".join(step.reasons) if step.needed else "up to date"
            report.say(f"  {'build' if step.needed else 'skip '} {step.image}: {why}")
    print(f"{len(the_plan.to_build())} of {len(the_plan.steps())} image(s) to build")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    ctx = _load(args)
    selected = _select(ctx.channel, args.names, exact=args.exact)
    eng, resolve = _resolver()
    known = Candidates(ctx.settings)
    extra = _update_reasons(ctx, selected, known) if args.watch else {}
    the_plan = plan_mod.make(ctx.settings, ctx.channel, selected, resolve, force=args.force, extra=extra,
                             candidates=known)
    if not the_plan.to_build():
        print(f"nothing to build: {len(the_plan.steps())} image(s) up to date")
        return 0
    options = build.Options(push=args.push, jobs=args.jobs, revision=git.revision(ctx.settings.root),
                            source_url=ctx.settings.source_url or None, log=build.print_log)
    with report.group(f"build {len(the_plan.to_build())} image(s)"):
        outcomes = build.run(ctx.settings, ctx.channel, the_plan, eng, options, candidates=known,
                             indexes=_indexes(ctx))
    for line in build.result_table(outcomes):
        report.say(line)
    report.step_summary(build.summary_markdown(outcomes))
    failed = [o for o in outcomes if o.status in ("failed", "skipped")]
    if failed:
        for outcome in failed:
            if report.in_github_actions():
                print(report.annotation("error", f"{outcome.image}: {outcome.message}"))
        raise BuildFailed(f"{len(failed)} of {len(outcomes)} image(s) failed or were skipped: "
                          + ", ".join(o.image for o in failed))
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    ctx = _load(args)
    selected = _select(ctx.channel, args.names)
    result = _watch(ctx, selected, Candidates(ctx.settings))
    if args.json:
        report.emit_json(result.as_json())
    else:
        for item in result.images:
            state = "ERROR" if item.errors else ("stale" if item.stale else "ok")
            print(f"{item.image:<24} {state}")
            for finding in item.findings:
                report.say(f"  {finding.kind}: {finding.summary}")
                for update in finding.packages:
                    fixes = ", ".join(update.cves + update.advisories)
                    report.say(f"    {update.name} {update.old} -> {update.new} ({update.suite})"
                               + (f" fixes {fixes}" if fixes else ""))
            for error in item.errors:
                report.say(f"  error: {error}")
        print(f"{len(result.stale)} of {len(result.images)} image(s) stale, "
              f"{len(result.failed)} could not be fully checked")
    report.step_summary(watch_markdown(result))
    if result.failed:
        for item in result.failed:
            report.error_lines([f"{item.image}: {e}" for e in item.errors])
        return WatchError.exit_code
    return WATCH_STALE if result.stale else 0


def watch_markdown(result: watch.Report) -> str:
    rows = ["| image | state | why |", "|---|---|---|"]
    for item in result.images:
        why = "; ".join(f"{f.kind}: {f.summary}" for f in item.findings) or "up to date"
        state = "error" if item.errors else ("stale" if item.stale else "ok")
        cell = why.replace("|", "\\|")
        rows.append(f"| `{item.image}` | {state} | {cell} |")
    return "### builder watch\n\n" + "\n".join(rows) + "\n"


def cmd_release(args: argparse.Namespace) -> int:
    ctx = _load(args)
    selected = _select(ctx.channel, args.names)
    if args.auto and ctx.settings.auto_release == "none":
        print("auto-release is off ([tool.builder] auto_release = \"none\"): nothing released")
        return 0
    client = registry.RegistryClient(registry.docker_config_credentials())
    with release.exclusive(ctx.settings.output_dir):  # one release at a time in this checkout
        return _release(ctx, args, selected, client)


def _release(ctx: Context, args: argparse.Namespace, selected: list[str], client: registry.RegistryClient) -> int:
    steps = release.plan(ctx.settings, ctx.channel, selected, client, only_patch=args.auto)
    if args.json and args.dry_run:
        report.emit_json({"releases": [s.as_json() for s in steps]})
        return 0
    for step in steps:
        print(f"{step.image} {step.version}: {step.repository}@{step.digest}")
        for move in step.moves:
            note = f" ({move.note})" if move.note else ""
            print(f"  {move.action:<6} {move.tag}{note}")
    if args.dry_run:
        print(f"{len(steps)} release(s) planned; nothing changed (--dry-run)")
        return 0
    signer = signing_hooks.signer(ctx.settings, ctx.channel)  # a bad key fails before any tag moves
    if signer is None:
        print(signing_sign.warn_unsigned(), file=sys.stderr)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    for step in steps:
        for line in signing_hooks.sign_step(signer, ctx.settings, ctx.channel, step, today):
            report.say(line)  # signed before its tags point at it, with the date the release gets
        release.execute(ctx.settings, ctx.channel, step, client, today=today)
        print(f"released {step.image} {step.version}")
    for line in signing_hooks.finish(signer, ctx.settings, selected):
        report.say(line)
    catalog.write(ctx.settings, ctx.channel)
    print(f"{len(steps)} image(s) released")
    return 0


def cmd_catalog(args: argparse.Namespace) -> int:
    ctx = _load(args)
    for path in [*catalog.write(ctx.settings, ctx.channel), *signing_hooks.publish(ctx.settings)]:
        print(f"wrote {path.relative_to(ctx.settings.root)}")
    return 0


def cmd_check_pins(args: argparse.Namespace) -> int:
    if args.catalog:
        catalog_path = Path(args.catalog)
    else:
        root = Path(args.root).resolve() if args.root else settings_mod.find_root(Path.cwd())
        catalog_path = settings_mod.load(root).output_dir / "index.json"
    try:
        index = json.loads(catalog_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{catalog_path}: cannot read the channel catalog ({exc}); "
                         "pass --catalog PATH to base-images/index.json") from None
    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UsageError(f"no such file or folder: {', '.join(missing)}")
    found = pins.check(paths, index, str(catalog_path))
    for pin in found:
        print(str(pin))
    if args.fix:
        for path in pins.fix(found):
            report.say(f"fixed {path}")
        return 0
    print(f"{len(found)} outdated pin(s)")
    return PINS_OUTDATED if found else 0


def cmd_bot(args: argparse.Namespace) -> int:
    ctx = _load(args)
    selected = _select(ctx.channel, args.names)
    if not ctx.settings.github_repository:
        raise ConfigError("no GitHub repository: set GITHUB_REPOSITORY=OWNER/NAME or "
                          "[tool.builder] github_repository")
    client = github.GitHub(ctx.settings.github_api_url, ctx.settings.github_repository, github.token_from_env())
    lines = sorted({ctx.channel.images[i].name for i in selected})
    outcomes = bot.Bot(ctx.settings, ctx.channel, client, base=args.base).run(lines)
    for outcome in outcomes:
        report.say(str(outcome))
    report.step_summary("### builder bot\n\n" + "\n".join(f"- `{o.line}`: {o.action} {o.detail}" for o in outcomes))
    failed = [o for o in outcomes if o.action == "failed"]
    if failed:
        raise BotError(f"{len(failed)} image line(s) failed: " + ", ".join(o.line for o in failed))
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve() if args.root else settings_mod.find_root(Path.cwd())
    settings = settings_mod.load(root)
    schemas = {settings.recipes_dir / SCHEMA_FILE: model.json_schema(),
               settings.recipes_dir / OVERLAY_SCHEMA_FILE: model.overlay_json_schema()}
    texts = {path: json.dumps(schema, indent=2, sort_keys=True) + "\n" for path, schema in schemas.items()}
    if args.check:
        stale = [str(path.relative_to(root)) for path, text in texts.items() if read_if_exists(path) != text]
        if stale:
            raise StaleError(f"{', '.join(stale)} stale (run `builder schema` and commit)")
        print(f"{', '.join(str(p.relative_to(root)) for p in texts)} up to date")
        return 0
    for path, text in texts.items():
        write_atomic(path, text)
        print(f"wrote {path.relative_to(root)}")
    return 0




def cmd_keygen(args: argparse.Namespace) -> int:
    prefix = Path(args.output_prefix)
    private, public = prefix.with_name(prefix.name + ".key"), prefix.with_name(prefix.name + ".pub")
    existing = [str(p) for p in (private, public) if p.exists() or p.is_symlink()]
    if existing and not args.force:
        raise UsageError(f"{', '.join(existing)} already exist(s): choose another --output-prefix, or --force")
    password = signing_keys.password_from_env_or_prompt()
    key = signing_keys.generate()
    signing_keys.write_pair(key, password, private, public)
    report.say(f"wrote {private} (encrypted private key: keep it secret) and {public}")
    report.say(f"key id {key.public.id}: add {public} to [tool.builder] trusted_keys")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    root = Path(args.root).resolve() if args.root else settings_mod.find_root(Path.cwd())
    settings = settings_mod.load(root)
    trusted = [signing_keys.load_public(Path(p)) for p in args.key] or \
        [signing_keys.load_public(p) for p in settings.trusted_keys]
    if not trusted:
        raise UsageError("no trusted keys: pass --key FILE (the channel publishes its keys in base-images/keys/), "
                         "or set [tool.builder] trusted_keys")
    revoked = [signing_keys.load_public(Path(p)) for p in args.revoked_key] + \
        [signing_keys.load_public(p) for p in settings.revoked_keys]
    catalog_path = Path(args.catalog) if args.catalog else settings.output_dir / "index.json"
    try:
        index = json.loads(catalog_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{catalog_path}: cannot read the channel catalog ({exc}); "
                         "pass --catalog PATH to base-images/index.json") from None
    store = signing_store.Store(registry.docker_config_credentials())
    verdicts = [signing_verify.verify(ref, store, trusted, revoked, index) for ref in args.refs]
    if args.json:
        report.emit_json({"images": [v.as_json() for v in verdicts]})
    else:
        for verdict in verdicts:
            for line in verdict.lines():
                report.say(line)
    return signing_verify.worst(verdicts)
