"""cosign's signed payload: the "simple signing" JSON naming an image's repository and digest.

The bytes are what Go's encoding/json writes for cosign's payload struct (fields in that
order, no spaces, `"optional":null`): verifiers check the signature over these exact bytes,
and containers/image (skopeo, podman) reads the same fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from builder.core import reference as imageref
from builder.core.plaintext import escape
from builder.signing.errors import NotSigned

MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
TYPE = "cosign container image signature"


def payload(repository: str, digest: str) -> bytes:
    """The payload signed for `digest` in `repository` (REGISTRY/PATH, no tag)."""
    document = {
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": digest},
            "type": TYPE,
        },
        "optional": None,
    }
    return json.dumps(document, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Claim:
    """What a payload says: the image's repository (its tag, if any, dropped) and digest."""

    repository: str
    digest: str


def parse(data: bytes) -> Claim:
    """The claim of a payload, or NotSigned saying why it is not one."""
    try:
        critical = json.loads(data)["critical"]
        kind = critical["type"]
        reference = critical["identity"]["docker-reference"]
        digest = critical["image"]["docker-manifest-digest"]
    except (ValueError, KeyError, TypeError):
        raise NotSigned(
            "the signed payload is not a simple-signing document (critical.identity, critical.image, critical.type)"
        ) from None
    if kind != TYPE:
        raise NotSigned(f"the signed payload is of type '{escape(str(kind))}', not {TYPE!r}")
    if not isinstance(digest, str) or not imageref.is_sha256_digest(digest):
        raise NotSigned(f"the signed payload names no sha256 digest ('{escape(str(digest))}')")
    try:
        ref = imageref.parse(str(reference))
    except imageref.ReferenceError:
        raise NotSigned(f"the signed payload names no image reference ('{escape(str(reference))}')") from None
    return Claim(ref.repository, digest)
