"""Typed errors and the exit codes of `builder`. The library raises these; only the CLI prints them and exits.

Every exit status is a member of `ExitCode`, with one meaning each, so that scheduled jobs can tell outcomes
apart; each error class names its member. docs/commands.md's exit-code table is tested against `MEANINGS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

from builder.core import plaintext


class ExitCode(IntEnum):
    """What `builder` exits with. The numbers are a public interface (workflows branch on them): never renumber."""

    OK = 0
    STALE_FOUND = 1  # work found, not an error: like `diff`
    USAGE = 2
    RECIPE = 3
    CONFIG = 4
    STALE_OUTPUT = 5
    POLICY = 6
    LOCK = 7
    TOOL = 8
    BUILD_FAILED = 9
    ENGINE = 10
    REGISTRY = 11
    WATCH_INCOMPLETE = 12
    RELEASE = 13
    GITHUB = 14
    BOT = 15
    SIGNING = 16
    NOT_SIGNED = 17
    NOT_IN_CHANNEL = 18
    STALE_RELEASE = 19
    CATALOG_MISMATCH = 20
    INTERRUPTED = 130  # Ctrl-C: the shell's convention, 128 + SIGINT


# What each code means, as docs/commands.md's exit-code table says it (a unit test compares the two).
MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.STALE_FOUND: "`watch`: stale images found; `check-pins`: outdated pins found (like `diff`)",
    ExitCode.USAGE: "bad command line",
    ExitCode.RECIPE: "invalid recipes (nothing written)",
    ExitCode.CONFIG: "invalid settings",
    ExitCode.STALE_OUTPUT: "stale rendered output",
    ExitCode.POLICY: "policy violations",
    ExitCode.LOCK: "a corrupted or hand-edited lock or release record",
    ExitCode.TOOL: "a required tool (hadolint) is missing or failed",
    ExitCode.BUILD_FAILED: "an image failed to build, pass its checks or push (the others still build)",
    ExitCode.ENGINE: "Docker Engine unreachable or refusing",
    ExitCode.REGISTRY: "a registry refused a lookup, pull or push",
    ExitCode.WATCH_INCOMPLETE: "`watch` could not check some image (an index, changelog or registry failed)",
    ExitCode.RELEASE: "a release would break a promise (re-point an immutable version tag, go back a version)",
    ExitCode.GITHUB: "GitHub refused a request",
    ExitCode.BOT: "the bot could not push a branch or is misconfigured",
    ExitCode.SIGNING: "signing: the key is missing, unreadable, wrongly protected or untrusted, "
    "or the registry refused a signature",
    ExitCode.NOT_SIGNED: "`verify`: not signed by a trusted, unrevoked key, "
    "or the signature or an attestation is invalid or missing",
    ExitCode.NOT_IN_CHANNEL: "`verify`: signed, but the digest is not a release of this channel",
    ExitCode.STALE_RELEASE: "`verify`: a release of the channel, but a newer release of its line exists (stale)",
    ExitCode.CATALOG_MISMATCH: "`check-pins --fix`: the catalog names a digest the registry does not have "
    "(nothing written)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong, located as precisely as the source allows."""

    file: str
    line: int | None
    column: int | None
    field: str
    message: str
    hint: str = ""

    def location(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return where

    def __str__(self) -> str:
        text = self.location()
        if self.field:
            text += f": {self.field}"
        text += f": {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        # Fields and messages quote what the recipe said: never raw onto a terminal.
        return plaintext.line(text)


class BuilderError(Exception):
    """Base class, never raised itself: each subclass names the `ExitCode` the CLI exits with."""

    exit_code: ClassVar[ExitCode]

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        if type(self) is BuilderError:
            raise TypeError("raise a subclass of BuilderError: its class says what the exit code means")
        super().__init__(message)
        self.message = message
        self.problems = problems

    def lines(self) -> list[str]:
        if self.problems:
            return [str(p) for p in self.problems]
        return [plaintext.line(self.message)]


class UsageError(BuilderError):
    """The command line asked for something that does not exist."""

    exit_code = ExitCode.USAGE


class RecipeError(BuilderError):
    """One or more recipes are invalid; nothing was written."""

    exit_code = ExitCode.RECIPE


class ConfigError(BuilderError):
    """Channel settings (pyproject.toml [tool.builder] or environment) are invalid."""

    exit_code = ExitCode.CONFIG


class StaleError(BuilderError):
    """Committed output does not match what the recipes render to."""

    exit_code = ExitCode.STALE_OUTPUT


class PolicyError(BuilderError):
    """The hardening policy found violations."""

    exit_code = ExitCode.POLICY


class LockError(BuilderError):
    """A lock file is missing fields, corrupted or hand-edited."""

    exit_code = ExitCode.LOCK


class ToolError(BuilderError):
    """An external tool the builder relies on is missing or failed."""

    exit_code = ExitCode.TOOL


class BuildFailed(BuilderError):
    """One or more images failed to build, pass their checks or push."""

    exit_code = ExitCode.BUILD_FAILED


class BuildError(BuildFailed):
    """`docker build` failed; `tail` holds the last lines of its log. An image failed to build, as above."""

    def __init__(self, message: str, tail: list[str]) -> None:
        super().__init__(message)
        self.tail = tail


class EngineError(BuilderError):
    """Docker Engine is unreachable or refused a request."""

    exit_code = ExitCode.ENGINE


class RegistryError(BuilderError):
    """A registry refused a pull, push or lookup (auth, missing image, network)."""

    exit_code = ExitCode.REGISTRY


class WatchError(BuilderError):
    """An index, changelog or registry answer needed to watch an image could not be had."""

    exit_code = ExitCode.WATCH_INCOMPLETE


class ReleaseError(BuilderError):
    """A release would break a promise (an immutable tag re-pointed, a version going back)."""

    exit_code = ExitCode.RELEASE


class CatalogMismatchError(BuilderError):
    """The channel catalog names a digest its registry does not have: pinning to it would not pull."""

    exit_code = ExitCode.CATALOG_MISMATCH


class GitHubError(BuilderError):
    """GitHub refused a request or could not be reached."""

    exit_code = ExitCode.GITHUB

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class BotError(BuilderError):
    """The bot could not prepare or push a branch (git), or was misconfigured."""

    exit_code = ExitCode.BOT
