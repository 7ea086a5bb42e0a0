"""The registry client's errors, one class per way a registry can fail us."""

from __future__ import annotations

from builder.core.errors import RegistryError


class RegistryAuthError(RegistryError):
    """401/403: missing or wrong credentials."""


class RegistryNotFound(RegistryError):
    """404: no such repository, tag or manifest."""


class RegistryTooLarge(RegistryError):
    """A body over the size limit: reading stopped there."""


class RegistryDeadlineExceeded(RegistryError):
    """A request had no complete answer within its deadline, however steadily bytes trickled in."""


class RegistryOffsite(RegistryError):
    """The registry pointed somewhere the client will not follow: a `Link` off the registry, or a token
    service that would get the credentials in clear on another host."""
