"""Signing and verification errors, each with its own exit code (docs/commands.md: exit codes)."""

from __future__ import annotations

from builder.core.errors import BuilderError


class SigningError(BuilderError):
    """A key is missing, unreadable or wrongly protected, or a signature could not be published."""

    exit_code = 16


class NotSigned(BuilderError):
    """`verify`: no valid signature by a trusted, unrevoked key, or an attestation does not verify."""

    exit_code = 17


class NotInChannel(BuilderError):
    """`verify`: the digest is not a release of this channel."""

    exit_code = 18


class StaleRelease(BuilderError):
    """`verify`: a release of the channel, but a newer release of the same line exists."""

    exit_code = 19

