"""A client for the OCI distribution API, over requests.

Anonymous, basic and bearer-token auth (the `WWW-Authenticate` flow of Docker Hub, GHCR
and others); HEAD for a tag's digest; image indexes and manifest lists; tag listing with
pagination. Timeouts everywhere; bounded retries with backoff on 429 (honouring
Retry-After), 5xx and connection errors; other 4xx become typed errors; answers that do
not add up (no digest, a body whose sha256 is not its digest, bad JSON) fail closed.

A registry is not trusted beyond that: every request has an overall deadline (the
per-read timeout alone lets a server that sends a byte at a time hold it forever), bodies
are read as a stream and reading stops at the size limit, a `Link` to the next page of
tags is followed only on the registry itself, and credentials go only to the registry's
host or to a token service over https (or over http on the registry's own host).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict

from builder.core import reference as imageref
from builder.core.errors import RegistryError
from builder.upstream.deadline import Deadline, DeadlineAdapter, read_limited
from builder.upstream.registry_errors import (
    RegistryAuthError,
    RegistryDeadlineExceeded,
    RegistryNotFound,
    RegistryTooLarge,
)
from builder.upstream.registry_origins import PLAIN_URL, check_token_realm, next_page_url
from builder.upstream.retry import GaveUp, RetryPolicy

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ACCEPT = ", ".join(INDEX_TYPES + MANIFEST_TYPES)
# The largest body read: a manifest (the size registries must accept, per the OCI
# distribution spec), a page of tags or a token service's answer.
MAX_MANIFEST = 4 * 1024 * 1024
_SMALL = 64 * 1024  # an unused body up to this size is read, so that its connection stays open
DEADLINE = 60.0  # seconds for one request, from connecting to the body's last byte
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class _TokenServiceStalled(Exception):
    """Carries the token service's deadline error past the retries (those are for the registry's answers)."""

    def __init__(self, error: RegistryDeadlineExceeded) -> None:
        super().__init__(error.message)
        self.error = error


Credentials = Callable[[str], tuple[str, str] | None]


@dataclass(frozen=True)
class Manifest:
    media_type: str
    digest: str
    body: bytes

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    def json(self) -> dict[str, Any]:
        try:
            data = json.loads(self.body)
        except ValueError:
            raise RegistryError(f"manifest {self.digest} is not JSON") from None
        if not isinstance(data, dict):
            raise RegistryError(f"manifest {self.digest} is not a JSON object")
        return data


def docker_config_credentials(environ: Mapping[str, str] | None = None) -> Credentials:
    """Credentials from BUILDER_REGISTRY_USERNAME/PASSWORD (for BUILDER_REGISTRY) or the
    `auths` of the standard Docker config file."""
    env = os.environ if environ is None else environ
    folder = Path(env.get("DOCKER_CONFIG") or Path.home() / ".docker")
    try:
        auths = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("auths", {})
    except (OSError, ValueError):
        auths = {}

    def lookup(host: str) -> tuple[str, str] | None:
        if env.get("BUILDER_REGISTRY_USERNAME") and env.get("BUILDER_REGISTRY") == host:
            return env["BUILDER_REGISTRY_USERNAME"], env.get("BUILDER_REGISTRY_PASSWORD", "")
        for key in (host, f"https://{host}", f"http://{host}", f"https://{host}/v1/"):
            entry = auths.get(key) or {}
            if entry.get("auth"):
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
                return user, password
        return None

    return lookup


class RegistryClient:
    """`timeout` bounds each connect and read, `deadline` a whole request (body included). A given
    `session` gets the client's adapters mounted: they are what enforce the deadline. `retry` replaces
    the policy `retries`, `backoff` and `max_wait` make."""

    def __init__(
        self,
        credentials: Credentials | None = None,
        *,
        timeout: float = 10.0,
        deadline: float = DEADLINE,
        retries: int = 4,
        backoff: float = 0.5,
        max_wait: float = 30.0,
        insecure: frozenset[str] = frozenset(),
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._credentials = credentials or (lambda _host: None)
        self._timeout = timeout
        self._deadline = deadline
        self._retry = retry or RetryPolicy(retries, backoff, max_wait)
        self._retry = replace(self._retry, transient=(*self._retry.transient, RegistryDeadlineExceeded))
        self._insecure = insecure
        self._session = session or requests.Session()
        for prefix in ("http://", "https://"):
            self._session.mount(prefix, DeadlineAdapter())
        self._tokens: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    # -- public API ------------------------------------------------------------------------
    def digest(self, reference: str) -> str:
        """The digest a tag (or digest reference) resolves to now, by HEAD."""
        ref = imageref.parse(reference)
        url = self._url(ref, f"manifests/{ref.digest or ref.tag or 'latest'}")
        answer = self._request("HEAD", ref, url, {"Accept": ACCEPT})
        digest = answer.headers.get("Docker-Content-Digest", "")
        if not digest:  # some registries only say it on GET
            return self.manifest(reference).digest
        if not imageref.is_sha256_digest(digest):
            raise RegistryError(f"{reference}: the registry sent a malformed digest {digest!r}")
        return digest

    def manifest(self, reference: str) -> Manifest:
        ref = imageref.parse(reference)
        url = self._url(ref, f"manifests/{ref.digest or ref.tag or 'latest'}")
        answer = self._request("GET", ref, url, {"Accept": ACCEPT}, what="a manifest")
        body = answer.body
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        claimed = answer.headers.get("Docker-Content-Digest")
        if claimed and claimed != digest:
            raise RegistryError(f"{reference}: body does not match its digest {claimed} (got {digest})")
        if ref.digest and ref.digest != digest:
            raise RegistryError(f"{reference}: body does not match the requested digest")
        media_type = answer.headers.get("Content-Type", "").split(";")[0].strip()
        manifest = Manifest(media_type, digest, body)
        if media_type not in INDEX_TYPES + MANIFEST_TYPES:
            media_type = str(manifest.json().get("mediaType", ""))
            manifest = Manifest(media_type, digest, body)
        return manifest

    def platform_digests(self, reference: str) -> dict[str, str]:
        """`os/arch[/variant]` -> digest for an index; {} for a single-platform manifest."""
        manifest = self.manifest(reference)
        if not manifest.is_index:
            return {}
        found = {}
        for entry in manifest.json().get("manifests", []):
            platform = entry.get("platform") or {}
            key = "/".join(p for p in (platform.get("os"), platform.get("architecture"), platform.get("variant")) if p)
            digest = str(entry.get("digest", ""))
            if not imageref.is_sha256_digest(digest):
                raise RegistryError(f"{reference}: index entry with a malformed digest")
            found[key] = digest
        return found

    def digest_or_none(self, reference: str) -> str | None:
        try:
            return self.digest(reference)
        except RegistryNotFound:
            return None

    def put_manifest(self, reference: str, manifest: Manifest) -> None:
        """Put `manifest` under the tag of `reference`: a re-tag by digest, no pull, no push of layers."""
        ref = imageref.parse(reference)
        if not ref.tag:
            raise RegistryError(f"{reference}: a tag is needed to put a manifest")
        url = self._url(ref, f"manifests/{ref.tag}")
        answer = self._request(
            "PUT", ref, url, {"Content-Type": manifest.media_type}, body=manifest.body, actions="pull,push"
        )
        stored = answer.headers.get("Docker-Content-Digest")
        if stored and stored != manifest.digest:
            raise RegistryError(f"{reference}: the registry stored {stored}, not {manifest.digest}")

    def tags(self, repository: str, page_size: int = 100) -> list[str]:
        ref = imageref.parse(repository)
        url: str | None = self._url(ref, f"tags/list?n={page_size}")
        found: list[str] = []
        pages = 0
        while url:
            pages += 1
            if pages > 1000:
                raise RegistryError(f"{repository}: more than 1000 pages of tags")
            answer = self._request("GET", ref, url, {"Accept": "application/json"}, what="a page of tags")
            try:
                data = json.loads(answer.body)
                found.extend(str(tag) for tag in data.get("tags") or [])
            except (ValueError, AttributeError):
                raise RegistryError(f"{repository}: tag list is not JSON") from None
            link = _NEXT.search(answer.headers.get("Link", ""))
            url = next_page_url(repository, url, link.group(1)) if link else None
        return found

    # -- plumbing --------------------------------------------------------------------------
    def _scheme(self, host: str) -> str:
        loopback = host.split(":", maxsplit=1)[0] in ("127.0.0.1", "localhost") or host.startswith("[::1]")
        return "http" if loopback or host in self._insecure else "https"

    def _url(self, ref: imageref.ImageRef, tail: str) -> str:
        host = "registry-1.docker.io" if ref.domain == imageref.DEFAULT_DOMAIN else ref.domain
        return f"{self._scheme(host)}://{host}/v2/{ref.path}/{tail}"

    def _request(
        self,
        method: str,
        ref: imageref.ImageRef,
        url: str,
        headers: dict[str, str],
        *,
        body: bytes | None = None,
        actions: str = "pull",
        what: str = "",
    ) -> _Answer:
        """`what` names the body to read (GET only); other answers are headers only."""
        scope = f"repository:{ref.path}:{actions}"
        authenticated = False

        def once() -> _Answer:
            nonlocal authenticated
            while True:
                auth_header = self._auth_header(ref.domain, scope)
                sent = dict(headers, **({"Authorization": auth_header} if auth_header else {}))
                answer = self._exchange(method, url, sent, body=body, what=what)
                if answer.status != 401 or authenticated:
                    return answer
                authenticated = True  # one token exchange per request, not per attempt
                try:
                    self._authenticate(ref.domain, url, scope, answer.headers.get("WWW-Authenticate", ""))
                except RegistryDeadlineExceeded as exc:  # the token service's, said as such: not retried
                    raise _TokenServiceStalled(exc) from None

        try:
            answer, attempts = self._retry.run(once, lambda a: (a.status, a.headers))
        except _TokenServiceStalled as stalled:
            raise stalled.error from None
        except GaveUp as gave_up:
            if isinstance(gave_up.cause, RegistryDeadlineExceeded):
                raise RegistryDeadlineExceeded(
                    f"{method} {url}: no complete answer within the {self._deadline:g} s deadline, "
                    f"{gave_up.attempts} attempts (the registry, or the network to it, stalls or is too "
                    "slow: retry later)"
                ) from None
            raise RegistryError(f"{method} {url}: {gave_up}") from None
        status = answer.status
        if status == 429 or status >= 500:
            raise RegistryError(f"{method} {url}: HTTP {status} after {attempts} attempts")
        if status in (401, 403):
            raise RegistryAuthError(
                f"{method} {url}: HTTP {status}: access denied (check the credentials for this registry)"
            )
        if status == 404:
            raise RegistryNotFound(f"{method} {url}: not found")
        if status >= 400:
            raise RegistryError(f"{method} {url}: HTTP {status}")
        return answer

    def _exchange(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        *,
        body: bytes | None = None,
        params: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        what: str = "",
    ) -> _Answer:
        """One request under the deadline; a 2xx body is read (streamed, up to the limit) when `what` names it."""
        with Deadline(self._deadline) as deadline:
            try:
                # identity: the limit counts the bytes on the wire, and no compressed bomb is unpacked
                response = self._session.request(
                    method,
                    url,
                    headers={"Accept-Encoding": "identity", **headers},
                    data=body,
                    params=params,
                    auth=auth,
                    timeout=self._timeout,
                    allow_redirects=True,
                    stream=True,
                )
                with response:
                    if what and 200 <= response.status_code < 300:
                        content = read_limited(response, MAX_MANIFEST)
                        if content is None:
                            raise RegistryTooLarge(
                                f"{method} {url}: {what} larger than {MAX_MANIFEST} bytes, reading stopped (no "
                                "registry sends that much for it: check the reference and what answers for the "
                                "registry)"
                            )
                    else:  # a small body is read, so that the connection can serve the next request
                        read_limited(response, _SMALL)
                        content = b""
            except requests.RequestException:
                if deadline.expired:  # whatever the cut connection made requests raise
                    raise RegistryDeadlineExceeded(f"{method} {url}: deadline passed") from None
                raise
            # A cut in the headers can read as a complete answer (the headers end where the bytes did): an
            # answer that took until the deadline is not one.
            if deadline.expired:
                raise RegistryDeadlineExceeded(f"{method} {url}: deadline passed")
        return _Answer(response.status_code, response.headers, content)

    def _auth_header(self, domain: str, scope: str) -> str | None:
        with self._lock:
            return self._tokens.get((domain, scope))

    def _authenticate(self, domain: str, url: str, scope: str, challenge: str) -> None:
        kind, _, rest = challenge.partition(" ")
        params = dict(_CHALLENGE.findall(rest))
        host = "registry-1.docker.io" if domain == imageref.DEFAULT_DOMAIN else domain
        creds = self._credentials(domain) or self._credentials(host)
        if kind.lower() == "basic":
            if creds is None:
                raise RegistryAuthError(
                    f"{domain}: the registry wants credentials and none are "
                    "configured (docker login, or BUILDER_REGISTRY_USERNAME/PASSWORD)"
                )
            value = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
            header = f"Basic {value}"
        elif kind.lower() == "bearer" and "realm" in params:
            header = f"Bearer {self._token(domain, url, params, scope, creds)}"
        else:
            raise RegistryAuthError(f"{domain}: unsupported authentication challenge {kind or '(none)'!r}")
        with self._lock:
            self._tokens[(domain, scope)] = header

    def _token(self, domain: str, url: str, params: dict[str, str], scope: str, creds: tuple[str, str] | None) -> str:
        realm = params["realm"]
        check_token_realm(domain, url, realm, creds is not None)
        query = {"service": params.get("service", ""), "scope": params.get("scope", scope)}
        try:
            answer = self._exchange(
                "GET", realm, {"Accept": "application/json"}, params=query, auth=creds, what="a token service's answer"
            )
        except RegistryDeadlineExceeded:
            raise RegistryDeadlineExceeded(
                f"{domain}: token service {realm!r}: no complete answer within the "
                f"{self._deadline:g} s deadline (it stalls or is too slow: retry "
                "later)"
            ) from None
        except requests.RequestException:
            raise RegistryError(f"{domain}: token service {realm!r} unreachable") from None
        if answer.status in (401, 403):
            raise RegistryAuthError(f"{domain}: token service refused the credentials")
        try:
            data = json.loads(answer.body)
            token = str(data.get("token") or data["access_token"])
        except (ValueError, KeyError, AttributeError):
            raise RegistryError(f"{domain}: token service sent no token") from None
        if not PLAIN_URL.fullmatch(token):
            raise RegistryError(f"{domain}: token service sent a malformed token")
        return token


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: CaseInsensitiveDict[str]
    body: bytes
