"""A client for the OCI distribution API, over requests.

Anonymous, basic and bearer-token auth (the `WWW-Authenticate` flow of Docker Hub, GHCR
and others); HEAD for a tag's digest; image indexes and manifest lists; tag listing with
pagination. Timeouts everywhere; bounded retries with backoff on 429 (honouring
Retry-After), 5xx and connection errors; other 4xx become typed errors; answers that do
not add up (no digest, a body whose sha256 is not its digest, bad JSON) fail closed.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from builder import imageref
from builder.errors import RegistryError

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ACCEPT = ", ".join(INDEX_TYPES + MANIFEST_TYPES)
MAX_MANIFEST = 4 * 1024 * 1024
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class RegistryAuthError(RegistryError):
    """401/403: missing or wrong credentials."""


class RegistryNotFound(RegistryError):
    """404: no such repository, tag or manifest."""


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
    def __init__(self, credentials: Credentials | None = None, *, timeout: float = 10.0,
                 retries: int = 4, backoff: float = 0.5, max_wait: float = 30.0,
                 insecure: frozenset[str] = frozenset(), session: requests.Session | None = None) -> None:
        self._credentials = credentials or (lambda _host: None)
        self._timeout = timeout
        self._retries = retries
        self._backoff = backoff
        self._max_wait = max_wait
        self._insecure = insecure
        self._session = session or requests.Session()
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
        answer = self._request("GET", ref, url, {"Accept": ACCEPT})
        body = answer.content
        if len(body) > MAX_MANIFEST:
            raise RegistryError(f"{reference}: manifest larger than {MAX_MANIFEST} bytes")
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
            key = "/".join(p for p in (platform.get("os"), platform.get("architecture"),
                                       platform.get("variant")) if p)
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
        answer = self._request("PUT", ref, url, {"Content-Type": manifest.media_type},
                               body=manifest.body, actions="pull,push")
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
            answer = self._request("GET", ref, url, {"Accept": "application/json"})
            try:
                data = answer.json()
                found.extend(str(tag) for tag in data.get("tags") or [])
            except (ValueError, AttributeError):
                raise RegistryError(f"{repository}: tag list is not JSON") from None
            link = _NEXT.search(answer.headers.get("Link", ""))
            url = requests.compat.urljoin(url, link.group(1)) if link else None
        return found

    # -- plumbing --------------------------------------------------------------------------
    def _scheme(self, host: str) -> str:
        loopback = host.split(":", maxsplit=1)[0] in ("127.0.0.1", "localhost") or host.startswith("[::1]")
        return "http" if loopback or host in self._insecure else "https"

    def _url(self, ref: imageref.ImageRef, tail: str) -> str:
        host = "registry-1.docker.io" if ref.domain == imageref.DEFAULT_DOMAIN else ref.domain
        return f"{self._scheme(host)}://{host}/v2/{ref.path}/{tail}"

    def _request(self, method: str, ref: imageref.ImageRef, url: str, headers: dict[str, str], *,
                 body: bytes | None = None, actions: str = "pull") -> requests.Response:
        scope = f"repository:{ref.path}:{actions}"
        attempt = 0
        authenticated = False
        while True:
            auth_header = self._auth_header(ref.domain, scope)
            sent = dict(headers, **({"Authorization": auth_header} if auth_header else {}))
            try:
                answer = self._session.request(method, url, headers=sent, data=body,
                                               timeout=self._timeout, allow_redirects=True)
                if method == "GET":
                    _ = answer.content  # read the whole body now, so a cut-off body fails here
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                if attempt >= self._retries:
                    raise RegistryError(f"{method} {url}: {type(exc).__name__} after "
                                        f"{attempt + 1} attempts") from None
                self._sleep(attempt, None)
                attempt += 1
                continue
            status = answer.status_code
            if status == 401 and not authenticated:
                authenticated = True
                self._authenticate(ref.domain, scope, answer.headers.get("WWW-Authenticate", ""))
                continue
            if status == 429 or status >= 500:
                if attempt >= self._retries:
                    raise RegistryError(f"{method} {url}: HTTP {status} after {attempt + 1} attempts")
                self._sleep(attempt, answer.headers.get("Retry-After"))
                attempt += 1
                continue
            if status in (401, 403):
                raise RegistryAuthError(f"{method} {url}: HTTP {status}: access denied "
                                        "(check the credentials for this registry)")
            if status == 404:
                raise RegistryNotFound(f"{method} {url}: not found")
            if status >= 400:
                raise RegistryError(f"{method} {url}: HTTP {status}")
            return answer

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self._backoff * (2 ** attempt)
        if retry_after:
            if retry_after.strip().isdigit():
                delay = float(retry_after.strip())
            else:
                when = email.utils.parsedate_to_datetime(retry_after)
                delay = max(0.0, when.timestamp() - time.time()) if when else delay
        time.sleep(min(delay, self._max_wait))

    def _auth_header(self, domain: str, scope: str) -> str | None:
        with self._lock:
            return self._tokens.get((domain, scope))

    def _authenticate(self, domain: str, scope: str, challenge: str) -> None:
        kind, _, rest = challenge.partition(" ")
        params = dict(_CHALLENGE.findall(rest))
        host = "registry-1.docker.io" if domain == imageref.DEFAULT_DOMAIN else domain
        creds = self._credentials(domain) or self._credentials(host)
        if kind.lower() == "basic":
            if creds is None:
                raise RegistryAuthError(f"{domain}: the registry wants credentials and none are "
                                        "configured (docker login, or BUILDER_REGISTRY_USERNAME/PASSWORD)")
            value = base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
            header = f"Basic {value}"
        elif kind.lower() == "bearer" and "realm" in params:
            query = {"service": params.get("service", ""), "scope": params.get("scope", scope)}
            try:
                answer = self._session.get(params["realm"], params=query, timeout=self._timeout,
                                           auth=creds)
            except (requests.ConnectionError, requests.Timeout):
                raise RegistryError(f"{domain}: token service {params['realm']} unreachable") from None
            if answer.status_code in (401, 403):
                raise RegistryAuthError(f"{domain}: token service refused the credentials")
            try:
                data = answer.json()
                header = f"Bearer {data.get('token') or data['access_token']}"
            except (ValueError, KeyError, AttributeError):
                raise RegistryError(f"{domain}: token service sent no token") from None
        else:
            raise RegistryAuthError(f"{domain}: unsupported authentication challenge {kind or '(none)'!r}")
        with self._lock:
            self._tokens[(domain, scope)] = header
