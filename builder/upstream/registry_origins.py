"""Where a registry may send the client: links to further pages on the registry itself only, and
credentials to a token service only over https (or plain http on a plain-http registry's own host)."""

from __future__ import annotations

import re
import urllib.parse

from builder.upstream.registry_errors import RegistryAuthError, RegistryOffsite

_DEFAULT_PORTS = {"http": 80, "https": 443}
PLAIN_URL = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: what a URL or a token is


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of `url`; a port that is no number gives an origin nothing equals."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        port = -1
    return scheme, parts.hostname or "", port


def next_page_url(repository: str, url: str, link: str) -> str:
    """The URL of the next page of tags that a `Link` header names, relative to `url` (the page that named
    it): only ever on the same registry (scheme, host and port), for the request carries its credentials."""
    if not PLAIN_URL.fullmatch(link):
        raise RegistryOffsite(
            f"{repository}: the registry's link to the next page of tags, {link!r}, is not "
            "a plain URL; the listing stopped (the registry's Link header is broken or hostile)"
        )
    target = urllib.parse.urljoin(url, link)
    if origin(target) != origin(url):
        parts = urllib.parse.urlsplit(url)
        raise RegistryOffsite(
            f"{repository}: the registry's link to the next page of tags, {link!r}, leaves "
            f"the registry {parts.scheme}://{parts.netloc}; only links on the registry itself "
            "are followed (the registry's Link header is broken or hostile)"
        )
    return target


def check_token_realm(domain: str, url: str, realm: str, with_credentials: bool) -> None:
    """Whether the token service `realm`, named in the answer to `url`, may be asked (with the credentials
    when `with_credentials`). Credentials go over https, or over plain http only to the host of a registry
    that is itself plain http: anything else would hand them, in clear, to whoever the registry names."""
    scheme, host, _ = origin(realm)
    if scheme not in _DEFAULT_PORTS or not host or not PLAIN_URL.fullmatch(realm):
        raise RegistryAuthError(
            f"{domain}: the token service {realm!r} is not an http(s) URL "
            "(the registry's WWW-Authenticate header is broken)"
        )
    if not with_credentials or scheme == "https":
        return
    registry_scheme, registry_host, _ = origin(url)
    if registry_scheme != "http":
        raise RegistryOffsite(
            f"{domain}: credentials not sent to the token service {realm!r}: plain http, "
            "although the registry itself is https (a token service must use https)"
        )
    if host != registry_host:
        raise RegistryOffsite(
            f"{domain}: credentials not sent to the token service {realm!r}: plain http on "
            f"another host than {registry_host} (a token service must use https, or be on "
            "the registry's own host)"
        )
