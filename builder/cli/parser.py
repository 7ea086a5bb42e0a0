"""The command line's grammar (argparse). `builder.cli.arguments` turns what it parses into typed arguments."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from builder import __version__
from builder.core.errors import ExitCode
from builder.recipe import schema_files


class _Parser(argparse.ArgumentParser):
    """argparse, exiting with the table's code for a bad command line (argparse's own `error`, but that)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="builder", description="Maintain a channel of hardened, non-root, digest-pinned base images.")
    top.add_argument("--version", action="version", version=f"builder {__version__}")
    top.add_argument(
        "--root", help="channel repository (default: nearest folder whose pyproject.toml has [tool.builder])"
    )
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "render",
        help="recipes -> base-images/ Dockerfiles",
        description="Render recipes into base-images/NAME[/VARIANT]/Dockerfile.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="image names (default: all)")
    p.add_argument("--check", action="store_true", help="write nothing; fail if committed output is stale")

    p = sub.add_parser(
        "lint",
        help="hardening policy on recipes and rendered Dockerfiles",
        description="Run the hardening policy and hadolint.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="image names (default: all)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--strict", action="store_true", help="warnings fail too")
    p.add_argument("--list-rules", action="store_true", help="print the rules and exit")

    p = sub.add_parser(
        "plan",
        help="what would be built, in which order, and why",
        description="Print the build graph in levels with the reason for each "
        "image. Looks up upstream digests through the engine unless --offline.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="image names (default: all)")
    p.add_argument(
        "--json", action="store_true", help="machine-readable output, with a GitHub Actions matrix per level"
    )
    p.add_argument("--offline", action="store_true", help="do not look up upstream digests")
    p.add_argument("--force", action="store_true", help="plan every selected image")
    p.add_argument(
        "--watch",
        action="store_true",
        help="also rebuild images with package updates in their apt sources (as `builder watch`)",
    )
    p.add_argument(
        "--github-output",
        metavar="FILE",
        help="also append the step outputs count and levels (one line of image ids per level) "
        'to FILE (in GitHub Actions: "$GITHUB_OUTPUT")',
    )

    p = sub.add_parser(
        "build",
        help="build, check, test, (push) and write locks",
        description="Build the images whose inputs changed, check and test "
        "them; with --push, push them and record locks and SBOMs.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="image names (default: all)")
    p.add_argument(
        "--push", action="store_true", help="push candidates and write image.lock.json, sbom.spdx.json, Dockerfile"
    )
    p.add_argument(
        "--jobs",
        type=_at_least_one,
        default=None,
        metavar="N",
        help="images built at once within a level (default: the number of cores)",
    )
    p.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    p.add_argument(
        "--watch",
        action="store_true",
        help="also rebuild images with package updates in their apt sources (as `builder watch`)",
    )
    p.add_argument(
        "--exact",
        action="store_true",
        help="NAME is one image id, not its whole line (one build job per image of a plan matrix)",
    )
    _release_commands(sub)
    _signing_commands(sub)
    return top


def _signing_commands(sub: Any) -> None:
    p = sub.add_parser(
        "verify",
        help="consumers: signature, attestations, channel membership, staleness",
        description="Verify each image: signed (cosign format) by a trusted, unrevoked key; a "
        "release of the channel (its catalog); its SBOM, SLSA provenance and OpenVEX attestations "
        "verify and name its digest; no newer release of its line. Exit 0: verified; 17: not "
        "signed or invalid; 18: not from this channel; 19: stale (the worst over all REFs).",
    )
    p.add_argument("refs", nargs="+", metavar="REF", help="image references, by tag or digest")
    p.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="FILE",
        help="a trusted public key (PEM); repeatable (default: [tool.builder] trusted_keys)",
    )
    p.add_argument(
        "--revoked-key",
        action="append",
        default=[],
        metavar="FILE",
        help="a revoked public key: its signatures count for nothing; repeatable",
    )
    p.add_argument("--catalog", help="the channel's index.json (default: this channel's)")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser(
        "keygen",
        help="a signing key pair in cosign's formats",
        description="Write PREFIX.key (ECDSA P-256, encrypted with the password in "
        "BUILDER_SIGNING_KEY_PASSWORD or asked for, cosign's format, mode 0600) and PREFIX.pub.",
    )
    p.add_argument("--output-prefix", default="cosign", metavar="PREFIX", help="default: cosign")
    p.add_argument("--force", action="store_true", help="overwrite existing files")


def _release_commands(sub: Any) -> None:
    p = sub.add_parser(
        "watch",
        help="what is stale and why (upstream digests, security updates)",
        description="Report, for every image, whether it is stale and why: its "
        "upstream tag moved, a locked package has a newer version in its apt "
        "sources (with the CVE ids its changelog names), its recipe changed, or its "
        "parent was rebuilt. Exit 0: nothing stale; 1: stale images; 12: some "
        "image could not be checked.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="image names (default: all)")
    p.add_argument("--json", action="store_true", help="machine-readable output (schema_version 1)")
    p.add_argument(
        "--github-output",
        metavar="FILE",
        help='also append the step output stale (true or false) to FILE (in GitHub Actions: "$GITHUB_OUTPUT")',
    )

    p = sub.add_parser(
        "release",
        help="version, re-tag by digest, changelogs and catalog",
        description="Release every pushed candidate that is not released yet: put "
        "its manifest under X.Y.Z (immutable), X.Y, X and latest (forward only), "
        "then write releases.json, CHANGELOG.md and the catalog.",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="image names (default: all)")
    p.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    p.add_argument("--json", action="store_true", help="with --dry-run: the plan as JSON")
    p.add_argument(
        "--auto",
        action="store_true",
        help='the auto-release policy: release only patch-level rebuilds, if auto_release = "patch"',
    )

    p = sub.add_parser(
        "catalog",
        help="regenerate base-images/index.json and README.md",
        description="Write the channel catalog from the release records.",
    )
    p.add_argument("--site", metavar="DIR", help="also write the static web catalog and its Atom feeds into DIR")

    p = sub.add_parser(
        "check-pins",
        help="consumers: Dockerfiles FROM outdated channel images",
        description="Report Dockerfiles that build FROM a channel image pinned to an "
        "outdated digest or version (exit 1 when there are any); --fix rewrites the pins.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="Dockerfiles or folders to search")
    p.add_argument("--catalog", help="the channel's index.json: a path or an https URL (default: this channel's)")
    p.add_argument(
        "--fix",
        action="store_true",
        help="rewrite outdated pins in place, to digests the registry has (else nothing is written)",
    )
    p.add_argument("--strict", action="store_true", help="tracking pins (NAME:MAJOR, NAME:MAJOR.MINOR) fail too")
    p.add_argument("--json", action="store_true", help="the findings as JSON, for CI")

    p = sub.add_parser(
        "bot",
        help="open or update one pull request per changed image line",
        description="For every image line whose generated files differ from the base "
        "branch: commit them on builder/NAME (force-with-lease), and open or update its "
        "pull request with the changelog as body. Needs GITHUB_TOKEN and the repository "
        "(GITHUB_REPOSITORY or [tool.builder] github_repository).",
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="image names (default: all)")
    p.add_argument("--base", help="base branch (default: the repository's default branch)")

    p = sub.add_parser(
        "schema",
        help="write the recipe and overlay JSON Schemas for editors",
        description=f"Write recipes/{schema_files.RECIPE_SCHEMA} and "
        f"recipes/{schema_files.OVERLAY_SCHEMA} from the recipe and overlay models.",
    )
    p.add_argument("--check", action="store_true", help="fail if a committed schema is stale")


def _at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return int(text)
