"""An OCI distribution registry in memory, mounted on a requests session: no socket, no server.

    registry = FakeRegistry()                      # answers for https://registry.test/
    client = RegistryClient(session=registry.session())
    registry.put("registry.test/base/app", "candidate", b'{"schemaVersion": 2, ...}')

Manifests (HEAD, GET, PUT by tag or digest) and tag lists: what `RegistryClient` asks of a registry
when it resolves, releases and lists. Every request is recorded in `requests` as (method, path);
`fail` queues statuses to answer the next requests with (a 503, a 429 with Retry-After), `fail_after`
lets some requests through first.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import requests

from tests.support.offline_http import Offline, answer

HOST = "registry.test"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_MANIFESTS = re.compile(r"/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)")
_TAGS = re.compile(r"/v2/(?P<name>.+)/tags/list")


@dataclass
class Repository:
    blobs: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # digest -> media type, manifest
    tags: dict[str, str] = field(default_factory=dict)  # tag -> digest


class FakeRegistry(Offline):
    def __init__(self, host: str = HOST) -> None:
        super().__init__()
        self.host = host
        self.repositories: dict[str, Repository] = {}
        self.fail: list[tuple[int, Mapping[str, str]]] = []
        self._after: tuple[int, int] | None = None

    def fail_after(self, answered: int, status: int) -> None:
        """Answer the next `answered` requests, then one with `status` (a registry that dies mid-run)."""
        self._after = (answered, status)

    def session(self) -> requests.Session:
        return self.mount(requests.Session(), f"http://{self.host}/", f"https://{self.host}/")

    # -- the test's view -------------------------------------------------------------------
    def put(self, repository: str, tag: str, body: bytes, media_type: str = MANIFEST) -> str:
        """Store a manifest under `tag` of `repository` (HOST/PATH or PATH); its digest."""
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        repo = self.repositories.setdefault(repository.removeprefix(f"{self.host}/"), Repository())
        repo.blobs[digest] = (media_type, body)
        repo.tags[tag] = digest
        return digest

    def tag(self, repository: str, tag: str) -> str | None:
        repo = self.repositories.get(repository.removeprefix(f"{self.host}/"))
        return repo.tags.get(tag) if repo else None

    # -- the wire --------------------------------------------------------------------------
    def reply(self, request: requests.PreparedRequest, method: str, target: str) -> requests.Response:
        path = target.split("?", 1)[0]
        if self._after is not None:
            answered, status = self._after
            self._after = (answered - 1, status) if answered else None
            if not answered:
                self.fail.append((status, {}))
        if self.fail:
            status, headers = self.fail.pop(0)
            return answer(request, status, b"", headers)
        found = _MANIFESTS.fullmatch(path)
        if found:
            return self._manifest(request, method, found["name"], found["reference"])
        found = _TAGS.fullmatch(path)
        if found and method == "GET":
            repo = self.repositories.get(found["name"])
            if repo is None:
                return answer(request, 404, b'{"errors": [{"code": "NAME_UNKNOWN"}]}')
            body = json.dumps({"name": found["name"], "tags": sorted(repo.tags)}).encode()
            return answer(request, 200, body, {"Content-Type": "application/json"})
        return answer(request, 404, b"")

    def _manifest(self, request: requests.PreparedRequest, method: str, name: str, reference: str) -> requests.Response:
        repo = self.repositories.setdefault(name, Repository()) if method == "PUT" else self.repositories.get(name)
        if repo is None:
            return answer(request, 404, b'{"errors": [{"code": "NAME_UNKNOWN"}]}')
        if method == "PUT":
            body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
            media_type = str(request.headers.get("Content-Type", MANIFEST))
            stored = self.put(name, reference, body, media_type)
            return answer(request, 201, b"", {"Docker-Content-Digest": stored})
        digest = reference if reference.startswith("sha256:") else repo.tags.get(reference)
        if digest is None or digest not in repo.blobs:
            return answer(request, 404, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}')
        media_type, body = repo.blobs[digest]
        headers = {"Docker-Content-Digest": digest, "Content-Type": media_type, "Content-Length": str(len(body))}
        return answer(request, 200, b"" if method == "HEAD" else body, headers)
