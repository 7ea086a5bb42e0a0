"""Typed errors. The library raises these; only the CLI prints them and exits.

Each class has its own exit code so that scheduled jobs can tell failures apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from builder.core import plaintext


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
    """Base class; `exit_code` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems

    def lines(self) -> list[str]:
        if self.problems:
            return [str(p) for p in self.problems]
        return [plaintext.line(self.message)]


class UsageError(BuilderError):
    """The command line asked for something that does not exist."""

    exit_code = 2


class RecipeError(BuilderError):
    """One or more recipes are invalid; nothing was written."""

    exit_code = 3


class ConfigError(BuilderError):
    """Channel settings (pyproject.toml [tool.builder] or environment) are invalid."""

    exit_code = 4


class StaleError(BuilderError):
    """Committed output does not match what the recipes render to."""

    exit_code = 5


class PolicyError(BuilderError):
    """The hardening policy found violations."""

    exit_code = 6


class LockError(BuilderError):
    """A lock file is missing fields, corrupted or hand-edited."""

    exit_code = 7


class ToolError(BuilderError):
    """An external tool the builder relies on is missing or failed."""

    exit_code = 8


class BuildFailed(BuilderError):
    """One or more images failed to build, pass their checks or push."""

    exit_code = 9


class BuildError(BuilderError):
    """`docker build` failed; `tail` holds the last lines of its log."""

    exit_code = 9

    def __init__(self, message: str, tail: list[str]) -> None:
        super().__init__(message)
        self.tail = tail


class EngineError(BuilderError):
    """Docker Engine is unreachable or refused a request."""

    exit_code = 10


class RegistryError(BuilderError):
    """A registry refused a pull, push or lookup (auth, missing image, network)."""

    exit_code = 11


class WatchError(BuilderError):
    """An index, changelog or registry answer needed to watch an image could not be had."""

    exit_code = 12


class ReleaseError(BuilderError):
    """A release would break a promise (an immutable tag re-pointed, a version going back)."""

    exit_code = 13


class GitHubError(BuilderError):
    """GitHub refused a request or could not be reached."""

    exit_code = 14

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class BotError(BuilderError):
    """The bot could not prepare or push a branch (git), or was misconfigured."""

    exit_code = 15
