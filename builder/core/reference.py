"""Image references, parsed by the grammar of the distribution project's `reference` package.

reference := name [ ":" tag ] [ "@" digest ]
name      := [domain '/'] path-component ['/' path-component]*
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[_.]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|{_IPV6})"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

# Matched against whole values (fullmatch): a final newline is not part of a reference.
_REFERENCE = re.compile(
    rf"(?P<name>(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*))"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?"
)
_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")
NAME_MAX = 255
DEFAULT_DOMAIN = "docker.io"


class ReferenceError(ValueError):
    """A string that is not an image reference."""


@dataclass(frozen=True)
class ImageRef:
    """A parsed, normalized reference (`debian:bookworm` is docker.io/library/debian)."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        return f"{self.domain}/{self.path}"

    def with_digest(self, digest: str | None) -> ImageRef:
        return ImageRef(self.domain, self.path, self.tag, digest)

    def with_domain(self, domain: str) -> ImageRef:
        return ImageRef(domain, self.path, self.tag, self.digest)

    def __str__(self) -> str:
        text = self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _looks_like_domain(component: str) -> bool:
    # The same test as distribution's splitDockerDomain: a dot, a port or "localhost".
    return "." in component or ":" in component or component == "localhost" or component.startswith("[")


def parse(text: str) -> ImageRef:
    if not text:
        raise ReferenceError("empty image reference")
    match = _REFERENCE.fullmatch(text)
    if match is None:
        if _REFERENCE.fullmatch(text.lower()):
            raise ReferenceError(f"{text!r}: repository names must be lowercase")
        raise ReferenceError(
            f"{text!r} is not a valid image reference (expected NAME[:TAG][@DIGEST], e.g. debian:bookworm-slim)"
        )
    domain = match.group("domain")
    path = match.group("path")
    if domain is not None and not _looks_like_domain(domain):
        # "library/debian": the first component is a path, not a registry.
        path = f"{domain}/{path}"
        domain = None
    if domain is None:
        domain = DEFAULT_DOMAIN
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    if len(match.group("name")) > NAME_MAX:
        raise ReferenceError(f"{text!r}: repository name longer than {NAME_MAX} characters")
    if any(c.isupper() for c in path):
        raise ReferenceError(f"{text!r}: repository names must be lowercase")
    digest = match.group("digest")
    if digest is not None and digest.startswith("sha256:") and not _SHA256.fullmatch(digest):
        raise ReferenceError(f"{text!r}: a sha256 digest is 64 lowercase hex characters")
    return ImageRef(domain, path, match.group("tag"), digest)


def is_sha256_digest(text: str) -> bool:
    return bool(_SHA256.fullmatch(text))
