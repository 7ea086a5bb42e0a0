"""Each command's arguments as a frozen, typed object, built once from what argparse parsed.

Commands receive these, never an `argparse.Namespace`: a misspelt option is a type error, not a `None`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from builder.cli.parser import parser


@dataclass(frozen=True, kw_only=True)
class Common:
    root: Path | None  # --root: the channel repository; None means "search upwards from here"


@dataclass(frozen=True, kw_only=True)
class RenderArgs(Common):
    names: tuple[str, ...]
    check: bool


@dataclass(frozen=True, kw_only=True)
class LintArgs(Common):
    names: tuple[str, ...]
    json: bool
    strict: bool
    list_rules: bool


@dataclass(frozen=True, kw_only=True)
class SchemaArgs(Common):
    check: bool


@dataclass(frozen=True, kw_only=True)
class PlanArgs(Common):
    names: tuple[str, ...]
    json: bool
    offline: bool
    force: bool
    watch: bool
    github_output: str | None


@dataclass(frozen=True, kw_only=True)
class BuildArgs(Common):
    names: tuple[str, ...]
    push: bool
    jobs: int | None
    force: bool
    watch: bool
    exact: bool


@dataclass(frozen=True, kw_only=True)
class WatchArgs(Common):
    names: tuple[str, ...]
    json: bool
    github_output: str | None


@dataclass(frozen=True, kw_only=True)
class ReleaseArgs(Common):
    names: tuple[str, ...]
    dry_run: bool
    json: bool
    auto: bool


@dataclass(frozen=True, kw_only=True)
class CatalogArgs(Common):
    site: Path | None  # --site DIR: also write the web catalog there


@dataclass(frozen=True, kw_only=True)
class CheckPinsArgs(Common):
    paths: tuple[Path, ...]
    catalog: str | None  # a path or a URL
    fix: bool
    strict: bool
    json: bool


@dataclass(frozen=True, kw_only=True)
class BotArgs(Common):
    names: tuple[str, ...]
    base: str | None


@dataclass(frozen=True, kw_only=True)
class VerifyArgs(Common):
    refs: tuple[str, ...]
    keys: tuple[Path, ...]
    revoked_keys: tuple[Path, ...]
    catalog: Path | None
    json: bool


@dataclass(frozen=True, kw_only=True)
class KeygenArgs(Common):
    output_prefix: Path
    force: bool


Arguments = (
    RenderArgs
    | LintArgs
    | SchemaArgs
    | PlanArgs
    | BuildArgs
    | WatchArgs
    | ReleaseArgs
    | CatalogArgs
    | CheckPinsArgs
    | BotArgs
    | VerifyArgs
    | KeygenArgs
)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


# The one place that reads argparse's namespace: one builder per subcommand of `builder.cli.parser`.
_TYPED: dict[str, Callable[[argparse.Namespace, Path | None], Arguments]] = {
    "render": lambda ns, root: RenderArgs(root=root, names=tuple(ns.names), check=ns.check),
    "lint": lambda ns, root: LintArgs(
        root=root, names=tuple(ns.names), json=ns.json, strict=ns.strict, list_rules=ns.list_rules
    ),
    "schema": lambda ns, root: SchemaArgs(root=root, check=ns.check),
    "plan": lambda ns, root: PlanArgs(
        root=root,
        names=tuple(ns.names),
        json=ns.json,
        offline=ns.offline,
        force=ns.force,
        watch=ns.watch,
        github_output=ns.github_output,
    ),
    "build": lambda ns, root: BuildArgs(
        root=root, names=tuple(ns.names), push=ns.push, jobs=ns.jobs, force=ns.force, watch=ns.watch, exact=ns.exact
    ),
    "watch": lambda ns, root: WatchArgs(root=root, names=tuple(ns.names), json=ns.json, github_output=ns.github_output),
    "release": lambda ns, root: ReleaseArgs(
        root=root, names=tuple(ns.names), dry_run=ns.dry_run, json=ns.json, auto=ns.auto
    ),
    "catalog": lambda ns, root: CatalogArgs(root=root, site=_path(ns.site)),
    "check-pins": lambda ns, root: CheckPinsArgs(
        root=root,
        paths=tuple(Path(p) for p in ns.paths),
        catalog=ns.catalog,
        fix=ns.fix,
        strict=ns.strict,
        json=ns.json,
    ),
    "bot": lambda ns, root: BotArgs(root=root, names=tuple(ns.names), base=ns.base),
    "verify": lambda ns, root: VerifyArgs(
        root=root,
        refs=tuple(ns.refs),
        keys=tuple(Path(p) for p in ns.key),
        revoked_keys=tuple(Path(p) for p in ns.revoked_key),
        catalog=_path(ns.catalog),
        json=ns.json,
    ),
    "keygen": lambda ns, root: KeygenArgs(root=root, output_prefix=Path(ns.output_prefix), force=ns.force),
}


def parse(argv: Sequence[str] | None = None) -> Arguments:
    """The typed arguments of `builder ARGV...`; argparse exits on a bad command line or --help."""
    namespace = parser().parse_args(argv)
    return _TYPED[namespace.command](namespace, _path(namespace.root))
