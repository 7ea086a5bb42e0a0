"""Signatures and attestations in the registry, stored as cosign stores them.

Next to `REPO@sha256:HEX`, the tag `REPO:sha256-HEX.sig` holds an OCI image manifest whose
layers are signed payloads (the signature in each layer's `dev.cosignproject.cosign/signature`
annotation), and `REPO:sha256-HEX.att` one whose layers are DSSE envelopes (annotated with
their `predicateType`). Plain tags and blobs: no referrers API needed, so any distribution
registry serves them. New layers are appended: signatures by other keys stay.

Blob uploads go through RegistryClient's request plumbing (auth, deadlines, size limits); the
upload `Location` a registry answers is followed only on the registry itself.
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from builder.core import reference as imageref
from builder.core.errors import RegistryError
from builder.upstream.registry import Manifest, RegistryClient
from builder.upstream.registry_errors import RegistryNotFound, RegistryOffsite
from builder.upstream.registry_origins import origin

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
_EPOCH = "0001-01-01T00:00:00Z"  # what cosign writes: a signature image has no build time
# Signatures and attestations read for one digest, at most: each is a request, and no honest
# `.sig` or `.att` holds more (one per key and predicate type).
MAX_LAYERS = 100


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tag_for(digest: str, suffix: str) -> str:
    """`sha256-HEX.sig` or `.att`: cosign's tag for what is attached to `digest`."""
    return digest.replace(":", "-") + f".{suffix}"


@dataclass(frozen=True)
class Layer:
    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"mediaType": self.media_type, "size": self.size, "digest": self.digest}
        if self.annotations:
            entry["annotations"] = dict(self.annotations)
        return entry


def manifest_of(layers: list[Layer]) -> tuple[bytes, bytes]:
    """(config, manifest) bytes of a cosign signature image holding `layers`."""
    config = json.dumps(
        {
            "architecture": "",
            "created": _EPOCH,
            "history": [{"created": _EPOCH}],
            "os": "",
            "rootfs": {"type": "layers", "diff_ids": [layer.digest for layer in layers]},
            "config": {},
        },
        separators=(",", ":"),
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "size": len(config), "digest": sha256(config)},
            "layers": [layer.as_json() for layer in layers],
        },
        separators=(",", ":"),
    ).encode()
    return config, manifest


def layers_of(manifest: Manifest) -> list[Layer]:
    data = manifest.json()
    entries = data.get("layers") or []
    if not isinstance(entries, list) or len(entries) > MAX_LAYERS:
        raise RegistryError(f"signature manifest {manifest.digest}: not a list of at most {MAX_LAYERS} layers")
    found = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise RegistryError(f"signature manifest {manifest.digest}: a layer is not an object")
        digest = str(entry.get("digest", ""))
        if not imageref.is_sha256_digest(digest):
            raise RegistryError(f"signature manifest {manifest.digest}: a layer with a malformed digest")
        annotations = entry.get("annotations") or {}
        found.append(
            Layer(
                str(entry.get("mediaType", "")),
                digest,
                int(entry.get("size", 0)),
                {str(k): str(v) for k, v in annotations.items()} if isinstance(annotations, dict) else {},
            )
        )
    return found


class Store(RegistryClient):
    """A RegistryClient that also reads and uploads blobs, and manages `.sig` and `.att` tags."""

    def manifest_or_none(self, reference: str) -> Manifest | None:
        try:
            return self.manifest(reference)
        except RegistryNotFound:
            return None

    def attached(self, repository: str, digest: str, suffix: str) -> list[Layer]:
        """The layers under `REPO:sha256-HEX.SUFFIX`; [] when there is no such tag."""
        found = self.manifest_or_none(f"{repository}:{tag_for(digest, suffix)}")
        return layers_of(found) if found else []

    def blob(self, repository: str, digest: str) -> bytes:
        """A blob by digest, size-limited, checked against its digest."""
        ref = imageref.parse(repository)
        answer = self._request("GET", ref, self._url(ref, f"blobs/{digest}"), {}, what="a signature blob")
        if sha256(answer.body) != digest:
            raise RegistryError(f"{repository}: blob {digest} does not match its digest")
        return answer.body

    def push_blob(self, repository: str, data: bytes) -> str:
        """Upload `data` (monolithic POST then PUT) unless the registry has it; its digest."""
        ref = imageref.parse(repository)
        digest = sha256(data)
        try:
            self._request("HEAD", ref, self._url(ref, f"blobs/{digest}"), {}, actions="pull,push")
            return digest
        except RegistryNotFound:
            pass
        start = self._url(ref, "blobs/uploads/")
        answer = self._request("POST", ref, start, {"Content-Length": "0"}, body=b"", actions="pull,push")
        location = answer.headers.get("Location", "")
        if not location:
            raise RegistryError(f"POST {start}: the registry answered no upload location")
        target = upload_url(repository, start, location, digest)
        self._request("PUT", ref, target, {"Content-Type": "application/octet-stream"}, body=data, actions="pull,push")
        return digest

    def attach(
        self, repository: str, digest: str, suffix: str, existing: list[Layer], new: list[tuple[Layer, bytes]]
    ) -> str:
        """Put `existing` + `new` layers (with their blobs) under the `.SUFFIX` tag; the manifest digest.

        Blobs go first, the manifest last: until the tag moves, readers see the old set whole.
        """
        for _, data in new:
            self.push_blob(repository, data)
        layers = existing + [layer for layer, _ in new]
        config, body = manifest_of(layers)
        self.push_blob(repository, config)
        manifest = Manifest(OCI_MANIFEST, sha256(body), body)
        self.put_manifest(f"{repository}:{tag_for(digest, suffix)}", manifest)
        return manifest.digest


def upload_url(repository: str, start: str, location: str, digest: str) -> str:
    """Where to PUT the blob: the upload `location` (maybe relative) with `digest` added, on the registry only."""
    target = urllib.parse.urljoin(start, location)
    if origin(target) != origin(start):
        raise RegistryOffsite(
            f"{repository}: the registry's upload location {location!r} leaves the registry; "
            "nothing is uploaded there (the registry is misconfigured or hostile)"
        )
    parts = urllib.parse.urlsplit(target)
    query = urllib.parse.urlencode([*urllib.parse.parse_qsl(parts.query, keep_blank_values=True), ("digest", digest)])
    return urllib.parse.urlunsplit(parts._replace(query=query))
