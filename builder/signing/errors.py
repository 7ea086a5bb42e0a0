"""Signing and verification errors, each with its own exit code (`builder.core.errors.ExitCode`,
docs/commands.md: exit codes)."""

from __future__ import annotations

from builder.core.errors import BuilderError, ExitCode


class SigningError(BuilderError):
    """A key is missing, unreadable or wrongly protected, or a signature could not be published."""

    exit_code = ExitCode.SIGNING


class NotSigned(BuilderError):
    """`verify`: no valid signature by a trusted, unrevoked key, or an attestation does not verify."""

    exit_code = ExitCode.NOT_SIGNED


class NotInChannel(BuilderError):
    """`verify`: the digest is not a release of this channel."""

    exit_code = ExitCode.NOT_IN_CHANNEL


class StaleRelease(BuilderError):
    """`verify`: a release of the channel, but a newer release of the same line exists."""

    exit_code = ExitCode.STALE_RELEASE
