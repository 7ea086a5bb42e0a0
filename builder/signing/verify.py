"""`builder verify`: is this image a signed, attested, current release of the channel?

In order: a signature over the image's digest by a trusted, unrevoked key (cosign's `.sig`),
the digest is a release of the channel (its catalog), the SBOM, provenance and VEX
attestations verify and name that digest (`.att`), and no newer release of the same line
exists. The first failure decides the verdict; later checks are not run.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from builder.core import reference as imageref
from builder.core.errors import ExitCode, UsageError
from builder.core.plaintext import escape
from builder.release.catalog_index import Catalog, CatalogImage
from builder.signing import dsse, simplesigning
from builder.signing.errors import NotInChannel, NotSigned, StaleRelease
from builder.signing.keys import PublicKey
from builder.signing.sign import PREDICATE_TYPES
from builder.signing.store import Store

Status = Literal["verified", "not-signed", "not-in-channel", "stale"]
OK: Final = "verified"
UNSIGNED: Final = "not-signed"
NOT_IN_CHANNEL: Final = "not-in-channel"
STALE: Final = "stale"
EXIT_CODES: dict[Status, ExitCode] = {
    OK: ExitCode.OK,
    UNSIGNED: NotSigned.exit_code,
    NOT_IN_CHANNEL: NotInChannel.exit_code,
    STALE: StaleRelease.exit_code,
}
_SEVERITY = (UNSIGNED, NOT_IN_CHANNEL, STALE, OK)


@dataclass
class Verdict:
    reference: str
    repository: str
    digest: str
    status: Status = OK
    reason: str = ""
    key: str | None = None
    image: str | None = None
    version: str | None = None
    attestations: list[str] = field(default_factory=list)
    current: str | None = None
    missing_cves: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        return EXIT_CODES[self.status]

    def fail(self, status: Status, reason: str) -> Verdict:
        self.status, self.reason = status, reason
        return self

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "repository": self.repository,
            "digest": self.digest,
            "status": self.status,
            "reason": self.reason,
            "key": self.key,
            "image": self.image,
            "version": self.version,
            "attestations": self.attestations,
            "current": self.current,
            "missing_cves": self.missing_cves,
            "exit_code": self.exit_code,
        }

    def lines(self) -> list[str]:
        head = f"{self.reference}: {self.status}" + (f": {self.reason}" if self.reason else "")
        out = [head, f"  digest: {self.digest}"]
        if self.key:
            out.append(f"  signature: verified with key {self.key}")
        if self.image:
            out.append(f"  release: {self.image} {self.version}")
        if self.attestations:
            out.append(f"  attestations: {', '.join(self.attestations)}")
        if self.current:
            cves = ", ".join(self.missing_cves) or "none"
            out.append(f"  newer release: {self.current} (CVEs fixed since: {cves})")
        return out


def worst(verdicts: list[Verdict]) -> ExitCode:
    statuses = {v.status for v in verdicts}
    return EXIT_CODES[next((s for s in _SEVERITY if s in statuses), OK)]


def verify(
    reference: str, store: Store, trusted: list[PublicKey], revoked: list[PublicKey], catalog: Catalog
) -> Verdict:
    try:
        ref = imageref.parse(reference)
    except imageref.ReferenceError:
        raise UsageError(
            f"'{escape(reference)}' is not an image reference (REGISTRY/PATH:TAG or REGISTRY/PATH@sha256:HEX)"
        ) from None
    digest = ref.digest or store.digest(reference)
    verdict = Verdict(reference, ref.repository, digest)
    gone = {k.id for k in revoked}
    keys = [k for k in trusted if k.id not in gone]
    problem = _signature(verdict, store, keys, revoked)
    if problem:
        return verdict.fail(UNSIGNED, problem)
    entry = _release(verdict, catalog)
    if entry is None:
        return verdict.fail(NOT_IN_CHANNEL, f"{digest[:19]} is no release of the channel's {ref.repository}")
    problem = _attestations(verdict, store, keys)
    if problem:
        return verdict.fail(UNSIGNED, problem)
    newer = []
    for item in entry.versions:  # newest first
        if item.digest == digest:
            break
        newer.append(item)
    if newer:
        verdict.current = newer[0].version
        verdict.missing_cves = sorted({c for item in newer for c in item.cves_fixed})
        return verdict.fail(STALE, f"{verdict.image} {verdict.version} is superseded by {verdict.current}")
    return verdict


def _signature(verdict: Verdict, store: Store, keys: list[PublicKey], revoked: list[PublicKey]) -> str:
    """'' when a trusted key signed the digest (verdict.key set), else why not."""
    layers = [
        layer
        for layer in store.attached(verdict.repository, verdict.digest, "sig")
        if layer.media_type == simplesigning.MEDIA_TYPE
    ]
    if not layers:
        return f"no signature ({verdict.repository}:sha256-{verdict.digest[7:19]}....sig is absent)"
    by_revoked = ""
    for layer in layers:
        payload = store.blob(verdict.repository, layer.digest)
        try:
            signature = base64.b64decode(layer.annotations.get(simplesigning.SIGNATURE_ANNOTATION, ""), validate=True)
            claim = simplesigning.parse(payload)
        except (binascii.Error, NotSigned):
            continue
        if claim.digest != verdict.digest or claim.repository != verdict.repository:
            continue  # a signature of another image, copied here: worth nothing for this one
        key = next((k for k in keys if k.verifies(payload, signature)), None)
        if key is not None:
            verdict.key = key.id
            return ""
        old = next((k for k in revoked if k.verifies(payload, signature)), None)
        by_revoked = by_revoked or (old.id if old else "")
    if by_revoked:
        return f"signed only by the revoked key {by_revoked}"
    return f"none of {len(layers)} signature(s) verifies with a trusted key for this repository and digest"


def _release(verdict: Verdict, catalog: Catalog) -> CatalogImage | None:
    for entry in catalog.images:
        if entry.pulled_repository != verdict.repository:
            continue
        for item in entry.versions:
            if item.digest == verdict.digest:
                verdict.image, verdict.version = entry.image, item.version
                return entry
    return None


def _attestations(verdict: Verdict, store: Store, keys: list[PublicKey]) -> str:
    found: set[str] = set()
    for layer in store.attached(verdict.repository, verdict.digest, "att"):
        if layer.media_type != dsse.MEDIA_TYPE:
            continue
        try:
            attestation, _ = dsse.open_envelope(store.blob(verdict.repository, layer.digest), keys)
        except NotSigned:
            continue
        if verdict.digest in attestation.digests:
            found.add(attestation.predicate_type)
    verdict.attestations = sorted(found & set(PREDICATE_TYPES))
    missing = [kind for kind in PREDICATE_TYPES if kind not in found]
    if missing:
        return "no verified attestation of " + ", ".join(missing)
    return ""
