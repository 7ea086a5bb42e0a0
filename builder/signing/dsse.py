"""DSSE envelopes around in-toto statements: what cosign stores as attestations.

The signature covers the PAE (pre-authentication encoding) of the payload and its type,
never the base64 text, so a verifier needs nothing but the envelope and the key.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from builder.core.plaintext import escape
from builder.signing.errors import NotSigned
from builder.signing.keys import PublicKey, SigningKey

MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_ANNOTATION = "predicateType"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSEv1 SP LEN(type) SP type SP LEN(body) SP body, lengths in ASCII decimal bytes."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def statement(name: str, digest: str, predicate_type: str, predicate: Mapping[str, Any]) -> bytes:
    """An in-toto v1 statement about the image `name`@`digest` (sha256:HEX)."""
    document = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": digest.removeprefix("sha256:")}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def envelope(payload: bytes, signature: bytes, payload_type: str = PAYLOAD_TYPE) -> bytes:
    document = {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(signature).decode()}],
    }
    return json.dumps(document, separators=(",", ":")).encode()


def sign(key: SigningKey, payload: bytes, payload_type: str = PAYLOAD_TYPE) -> bytes:
    return envelope(payload, key.sign(pae(payload_type, payload)), payload_type)


@dataclass(frozen=True)
class Attestation:
    """A verified statement: its predicate type, subject digests (sha256:HEX) and predicate."""

    predicate_type: str
    digests: tuple[str, ...]
    predicate: Mapping[str, Any]
    payload: bytes  # the statement as signed


def open_envelope(data: bytes, keys: list[PublicKey]) -> tuple[Attestation, PublicKey]:
    """The statement inside an envelope one of `keys` signed, and that key; NotSigned otherwise."""
    try:
        document = json.loads(data)
        payload_type = document["payloadType"]
        payload = base64.b64decode(document["payload"], validate=True)
        signatures = [base64.b64decode(s["sig"], validate=True) for s in document["signatures"]]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise NotSigned("an attestation is not a DSSE envelope (payloadType, payload, signatures)") from None
    if payload_type != PAYLOAD_TYPE:
        raise NotSigned(f"an attestation has payload type '{escape(str(payload_type))}', not {PAYLOAD_TYPE!r}")
    signed = pae(payload_type, payload)
    key = next((k for k in keys for s in signatures if k.verifies(signed, s)), None)
    if key is None:
        raise NotSigned("an attestation's signature does not verify with any trusted key")
    try:
        body = json.loads(payload)
        kind = body["predicateType"]
        digests = tuple(f"sha256:{s['digest']['sha256']}" for s in body["subject"])
        predicate = body["predicate"]
    except (ValueError, KeyError, TypeError):
        raise NotSigned("an attestation's payload is not an in-toto statement") from None
    if (
        body.get("_type") not in (STATEMENT_TYPE, "https://in-toto.io/Statement/v0.1")
        or not isinstance(kind, str)
        or not isinstance(predicate, dict)
    ):
        raise NotSigned("an attestation's payload is not an in-toto statement")
    return Attestation(kind, digests, predicate, payload), key
