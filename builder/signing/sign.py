"""The release's signing step: a signature and three attestations next to each released digest.

`builder release` signs each candidate before it moves a tag to it, so no released tag ever
points at an unsigned digest; then it signs whatever an earlier run released but did not
sign (a crash, or releases from before the key). What is in the registry already, signed
with this key, is kept; only what is missing is added. A digest is recorded as signed in
base-images/NAME[/VARIANT]/signatures.json once its signature and attestations are in place.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from builder.channel import sbom
from builder.channel.history import Release
from builder.channel.layout import ImageFiles
from builder.channel.lock import Lock
from builder.core.errors import LockError, RegistryError
from builder.core.files import write_atomic
from builder.core.settings import Settings
from builder.recipe.graph import Channel
from builder.recipe.overlay import OVERLAY_NAME
from builder.recipe.variants import ImageSpec
from builder.signing import admission, dsse, keys, provenance, simplesigning, vex
from builder.signing.errors import NotSigned, SigningError
from builder.signing.store import Layer, Store, sha256, tag_for

SBOM_TYPE = "https://spdx.dev/Document"
PREDICATE_TYPES = (SBOM_TYPE, provenance.PREDICATE_TYPE, vex.PREDICATE_TYPE)
Say = Callable[[str], None]


class Signed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    digest: str
    key: str  # PublicKey.id
    signature: str  # digest of the `.sig` manifest
    attestations: str  # digest of the `.att` manifest
    predicate_types: tuple[str, ...]


class SignedRecord(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = 1
    image: str
    signed: tuple[Signed, ...] = ()

    def has(self, digest: str, key: str) -> bool:
        return any(s.digest == digest and s.key == key for s in self.signed)


def read_record(path: Path, image: str) -> SignedRecord:
    try:
        return SignedRecord.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return SignedRecord(image=image)
    except (ValueError, ValidationError) as exc:
        raise LockError(
            f"{path}: not a valid signature record ({str(exc).splitlines()[0]}); "
            "restore it from git, or delete it: the next release checks the registry"
        ) from None


def key_from_env(settings: Settings, environ: Mapping[str, str] | None = None) -> keys.SigningKey | None:
    """The release's signing key (BUILDER_SIGNING_KEY, BUILDER_SIGNING_KEY_PASSWORD); None when unset and
    signing is not required. A key the channel does not trust, or has revoked, is refused."""
    env = os.environ if environ is None else environ
    path = env.get("BUILDER_SIGNING_KEY", "")
    if not path:
        if settings.require_signing:
            raise SigningError(
                "require_signing is true and BUILDER_SIGNING_KEY is not set: set it to the "
                "private key file (cosign.key) and BUILDER_SIGNING_KEY_PASSWORD to its password"
            )
        return None
    password = env.get("BUILDER_SIGNING_KEY_PASSWORD")
    if password is None:
        raise SigningError(
            "BUILDER_SIGNING_KEY is set but BUILDER_SIGNING_KEY_PASSWORD is not: set it to the key's password"
        )
    key = keys.load_private(Path(path), password)
    revoked = {keys.load_public(p).id for p in settings.revoked_keys}
    trusted = {keys.load_public(p).id for p in settings.trusted_keys}
    if key.public.id in revoked:
        raise SigningError(f"the signing key {key.public.id[:19]} is revoked (revoked_keys): sign with a trusted key")
    if settings.trusted_keys and key.public.id not in trusted:
        raise SigningError(
            f"the signing key {key.public.id[:19]} is not among trusted_keys: add its public "
            "key there first, or consumers could not verify what it signs"
        )
    return key


@dataclass(frozen=True)
class SignOutcome:
    signed: Signed
    added: int  # signatures and attestations this run put in the registry


@dataclass(frozen=True)
class Signer:
    settings: Settings
    channel: Channel
    key: keys.SigningKey
    store: Store
    environ: Mapping[str, str] | None = None

    def sign(self, image_id: str, release: Release, lock: Lock | None) -> SignOutcome:
        """Sign and attest `release` of `image_id` (what is missing of it), then record it.

        `lock` is the build's lock, which the attestations are made from; without it (an older
        release, its lock since replaced) the attestations a trusted key made are signed again.
        """
        image = self.channel.images[image_id]
        repository, digest = release.repository, release.digest
        try:
            subjects = [digest, *self.store.platform_digests(f"{repository}@{digest}").values()]
            signature, added = "", 0
            for subject in subjects:
                found, count = self._sign_one(repository, subject)
                signature, added = signature or found, added + count
            statements = (
                self._statements(image, release, lock) if lock is not None else self._carried(repository, digest)
            )
            attestations, count = self._attest(repository, digest, statements)
        except RegistryError as exc:
            raise SigningError(
                f"{image_id} {release.version}: signing {repository}@{digest[:19]} failed: "
                f"{exc.message}; the release is not recorded as signed (run `builder release` "
                "again to finish)"
            ) from None
        signed = Signed(
            digest=digest,
            key=self.key.public.id,
            signature=signature,
            attestations=attestations,
            predicate_types=tuple(kind for kind in PREDICATE_TYPES if kind in statements),
        )
        path = ImageFiles.of(self.settings, image).signatures
        record = read_record(path, image_id)
        kept = tuple(s for s in record.signed if not (s.digest == digest and s.key == signed.key))
        updated = SignedRecord(image=image_id, signed=(*kept, signed))
        write_atomic(path, json.dumps(updated.model_dump(mode="json"), indent=2, sort_keys=True) + "\n")
        return SignOutcome(signed, added + count)

    def sign_missing(self, image_ids: list[str], say: Say) -> int:
        """Sign every release of `image_ids` not recorded as signed with this key; how many were."""
        count = 0
        for image_id in image_ids:
            files = ImageFiles.of(self.settings, self.channel.images[image_id])
            record = files.read_history()
            signed = read_record(files.signatures, image_id)
            lock = files.read_lock()
            for release in record.releases:
                if signed.has(release.digest, self.key.public.id):
                    continue
                built = lock if lock and lock.result and lock.result.digest == release.digest else None
                outcome = self.sign(image_id, release, built)
                if len(outcome.signed.predicate_types) < len(PREDICATE_TYPES):
                    say(
                        f"warning: {image_id} {release.version}: no lock and no trusted attestations to sign "
                        "again; it has only " + (", ".join(outcome.signed.predicate_types) or "no attestations")
                    )
                if outcome.added:
                    say(f"signed {image_id} {release.version} (released before it was signed)")
                else:
                    say(
                        f"recorded {image_id} {release.version} as signed (the registry has its signature "
                        "and attestations)"
                    )
                count += 1
        return count

    def _sign_one(self, repository: str, digest: str) -> tuple[str, int]:
        """The `.sig` manifest's digest, and how many signatures were added (0 or 1)."""
        payload = simplesigning.payload(repository, digest)
        existing = self.store.attached(repository, digest, "sig")
        for layer in existing:
            if layer.digest == sha256(payload) and _verifies(self.key.public, payload, layer):
                return self.store.digest(f"{repository}:{tag_for(digest, 'sig')}"), 0
        signature = base64.b64encode(self.key.sign(payload)).decode()
        layer = Layer(
            simplesigning.MEDIA_TYPE, sha256(payload), len(payload), {simplesigning.SIGNATURE_ANNOTATION: signature}
        )
        return self.store.attach(repository, digest, "sig", existing, [(layer, payload)]), 1

    def _attest(self, repository: str, digest: str, statements: dict[str, bytes]) -> tuple[str, int]:
        """The `.att` manifest's digest, and how many attestations were added."""
        existing = self.store.attached(repository, digest, "att")
        present = set()
        for layer in existing:
            kind = layer.annotations.get(dsse.PREDICATE_ANNOTATION, "")
            if layer.media_type != dsse.MEDIA_TYPE or kind not in statements:
                continue
            try:
                found, _ = dsse.open_envelope(self.store.blob(repository, layer.digest), [self.key.public])
            except NotSigned:
                continue
            if digest in found.digests and found.predicate_type == kind:
                present.add(kind)
        new = []
        for kind, payload in statements.items():
            if kind in present:
                continue
            envelope = dsse.sign(self.key, payload)
            new.append(
                (
                    Layer(
                        dsse.MEDIA_TYPE,
                        sha256(envelope),
                        len(envelope),
                        {simplesigning.SIGNATURE_ANNOTATION: "", dsse.PREDICATE_ANNOTATION: kind},
                    ),
                    envelope,
                )
            )
        if not new:
            manifest = self.store.manifest_or_none(f"{repository}:{tag_for(digest, 'att')}")
            return (manifest.digest if manifest else ""), 0
        return self.store.attach(repository, digest, "att", existing, new), len(new)

    def _carried(self, repository: str, digest: str) -> dict[str, bytes]:
        """The statements about `digest` that a trusted key attested, by predicate type."""
        trusted = [*admission.key_sets(self.settings)[0], self.key.public]
        found: dict[str, bytes] = {}
        for layer in self.store.attached(repository, digest, "att"):
            if layer.media_type != dsse.MEDIA_TYPE:
                continue
            try:
                attestation, _ = dsse.open_envelope(self.store.blob(repository, layer.digest), trusted)
            except NotSigned:
                continue
            if digest in attestation.digests and attestation.predicate_type in PREDICATE_TYPES:
                found.setdefault(attestation.predicate_type, attestation.payload)
        return found

    def _statements(self, image: ImageSpec, release: Release, lock: Lock) -> dict[str, bytes]:
        root = self.settings.root
        distro = lock.spec.distro if lock.spec else image.recipe.distro
        overlay_path = self.settings.recipes_dir / OVERLAY_NAME
        overlay = (
            (str(overlay_path.relative_to(root)), sha256(overlay_path.read_bytes()).removeprefix("sha256:"))
            if overlay_path.is_file()
            else None
        )
        files = ImageFiles.of(self.settings, image)
        predicates: dict[str, Any] = {
            SBOM_TYPE: json.loads(sbom.render(lock, distro, lock.os.version_id if lock.os else None)),
            provenance.PREDICATE_TYPE: provenance.predicate(
                release,
                lock,
                image_id=image.id,
                recipe_path=image.source,
                overlay=overlay,
                distro=distro,
                dockerfile_path=str((files.dockerfile).relative_to(root)),
                source_url=self.settings.source_url,
                environ=self.environ,
            ),
            vex.PREDICATE_TYPE: vex.document(
                release, image.recipe.vex, self.settings.github_repository or self.settings.source_url or "builder"
            ),
        }
        return {
            kind: dsse.statement(release.repository, release.digest, kind, predicate)
            for kind, predicate in predicates.items()
        }


def _verifies(key: keys.PublicKey, payload: bytes, layer: Layer) -> bool:
    try:
        signature = base64.b64decode(layer.annotations.get(simplesigning.SIGNATURE_ANNOTATION, ""), validate=True)
    except ValueError:
        return False
    return key.verifies(payload, signature)


def warn_unsigned() -> str:
    return (
        "warning: releases are not signed: set BUILDER_SIGNING_KEY and BUILDER_SIGNING_KEY_PASSWORD "
        "(`builder keygen` makes a key), or require_signing = true to make this an error"
    )
