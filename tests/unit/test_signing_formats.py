"""The bytes of what is signed and stored, against fixed examples from the formats' own documents:
cosign's simple-signing payload, DSSE's PAE and envelope, in-toto statements, cosign's
signature image, and go-securesystemslib's encrypted key document."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from builder.channel.history import Release
from builder.core.errors import RegistryError
from builder.core.facts import BaseLock, Update
from builder.recipe.vex_entry import VexEntry
from builder.signing import dsse, keys, simplesigning, store, vex
from builder.signing.errors import NotSigned
from builder.upstream.registry import Manifest
from builder.upstream.registry_errors import RegistryOffsite

# cosign's specification (sigstore/docs, cosign/specifications.md): the payload of an image signature.
COSIGN_PAYLOAD = (
    b'{"critical":{"identity":{"docker-reference":"us.gcr.io/dlorenc-vmtest2/demo"},"image":'
    b'{"docker-manifest-digest":"sha256:'
    b'97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36"},'
    b'"type":"cosign container image signature"},"optional":null}'
)
DIGEST = "sha256:97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36"
# go-securesystemslib encrypted/encrypted_test.go TestDecrypt: "reallyimportant" under "supersecret".
SEALED = (
    b'{"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},'
    b'"salt":"N9a7x5JFGbrtB2uBR81jPwp0eiLR4A7FV3mjVAQrg1g="},"cipher":{"name":"nacl/secretbox","nonce":"2h8HxMmgRfuYdpswZBQaU3xJ1nkA/5Ik"},'
    b'"ciphertext":"SEW6sUh0jf2wfdjJGPNS9+bkk2uB+Cxamf32zR8XkQ=="}'
)
FIXED_KEY = keys.SigningKey(ec.derive_private_key(0x1234567890ABCDEF, ec.SECP256R1()))


def test_simple_signing_payload_is_cosigns_bytes() -> None:
    assert simplesigning.payload("us.gcr.io/dlorenc-vmtest2/demo", DIGEST) == COSIGN_PAYLOAD
    claim = simplesigning.parse(COSIGN_PAYLOAD)
    assert (claim.repository, claim.digest) == ("us.gcr.io/dlorenc-vmtest2/demo", DIGEST)
    # skopeo writes the tag into the identity; the claim is about the repository.
    tagged = COSIGN_PAYLOAD.replace(b'demo"', b'demo:1.0"')
    assert simplesigning.parse(tagged).repository == "us.gcr.io/dlorenc-vmtest2/demo"


BAD_PAYLOADS = [
    (b"[]", "the signed payload is not a simple-signing document (critical.identity, critical.image, critical.type)"),
    (
        COSIGN_PAYLOAD.replace(b"cosign container image signature", b"atomic container signature"),
        "the signed payload is of type 'atomic container signature', not 'cosign container image signature'",
    ),
    (
        COSIGN_PAYLOAD.replace(DIGEST.encode(), b"sha256:abc"),
        "the signed payload names no sha256 digest ('sha256:abc')",
    ),
    (
        COSIGN_PAYLOAD.replace(b"us.gcr.io/dlorenc-vmtest2/demo", b"Not A Ref\\u001b[2J"),
        "the signed payload names no image reference ('Not A Ref\\x1b[2J')",
    ),
]


@pytest.mark.parametrize(("payload", "message"), BAD_PAYLOADS)
def test_bad_payloads(payload: bytes, message: str) -> None:
    with pytest.raises(NotSigned) as caught:
        simplesigning.parse(payload)
    assert caught.value.message == message


def test_pae_is_the_dsse_specs_example() -> None:
    # secure-systems-lab/dsse protocol.md: the PAE of "hello world" of type http://example.com/HelloWorld.
    assert (
        dsse.pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert dsse.pae("t", "é".encode()) == "DSSEv1 1 t 2 é".encode()  # lengths count bytes


def test_envelope_and_statement_bytes() -> None:
    statement = dsse.statement("r.example/base/app", DIGEST, "https://slsa.dev/provenance/v1", {"b": 1, "a": [2]})
    assert statement == (
        b'{"_type":"https://in-toto.io/Statement/v1","predicate":{"a":[2],"b":1},'
        b'"predicateType":"https://slsa.dev/provenance/v1","subject":[{"digest":{"sha256":'
        b'"97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36"},'
        b'"name":"r.example/base/app"}]}'
    )
    assert dsse.envelope(b'{"a":1}', b"\x01\x02") == (
        b'{"payloadType":"application/vnd.in-toto+json","payload":"eyJhIjoxfQ==",'
        b'"signatures":[{"keyid":"","sig":"AQI="}]}'
    )


def test_envelope_signature_covers_the_pae_and_nothing_else() -> None:
    statement = dsse.statement("r.example/base/app", DIGEST, "https://openvex.dev/ns/v0.2.0", {})
    signed = dsse.sign(FIXED_KEY, statement)
    document = json.loads(signed)
    signature = base64.b64decode(document["signatures"][0]["sig"])
    assert FIXED_KEY.public.verifies(dsse.pae(dsse.PAYLOAD_TYPE, statement), signature)
    assert not FIXED_KEY.public.verifies(statement, signature)
    attestation, key = dsse.open_envelope(signed, [FIXED_KEY.public])
    assert (attestation.predicate_type, attestation.digests, key.id) == (
        "https://openvex.dev/ns/v0.2.0",
        (DIGEST,),
        FIXED_KEY.public.id,
    )
    # Any change to the payload, or its type, breaks the signature.
    tampered = dict(document, payload=base64.b64encode(statement.replace(b"app", b"apq")).decode())
    with pytest.raises(NotSigned, match=r"^an attestation's signature does not verify with any trusted key$"):
        dsse.open_envelope(json.dumps(tampered).encode(), [FIXED_KEY.public])
    other = keys.generate().public
    with pytest.raises(NotSigned, match="does not verify with any trusted key"):
        dsse.open_envelope(signed, [other])


BAD_ENVELOPES = [
    (b"{}", "an attestation is not a DSSE envelope (payloadType, payload, signatures)"),
    (
        b'{"payloadType":"text/plain","payload":"","signatures":[]}',
        "an attestation has payload type 'text/plain', not 'application/vnd.in-toto+json'",
    ),
]


@pytest.mark.parametrize(("envelope", "message"), BAD_ENVELOPES)
def test_bad_envelopes(envelope: bytes, message: str) -> None:
    with pytest.raises(NotSigned) as caught:
        dsse.open_envelope(envelope, [FIXED_KEY.public])
    assert caught.value.message == message


def test_signature_image_is_what_cosign_stores() -> None:
    layer = store.Layer(
        simplesigning.MEDIA_TYPE,
        store.sha256(COSIGN_PAYLOAD),
        len(COSIGN_PAYLOAD),
        {simplesigning.SIGNATURE_ANNOTATION: "MEUCIQ=="},
    )
    config, manifest = store.manifest_of([layer])
    assert config == (
        b'{"architecture":"","created":"0001-01-01T00:00:00Z","history":[{"created":'
        b'"0001-01-01T00:00:00Z"}],"os":"","rootfs":{"type":"layers","diff_ids":["'
        + layer.digest.encode()
        + b'"]},"config":{}}'
    )
    assert json.loads(manifest) == {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "size": len(config),
            "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
        },
        "layers": [
            {
                "mediaType": "application/vnd.dev.cosign.simplesigning.v1+json",
                "size": len(COSIGN_PAYLOAD),
                "digest": layer.digest,
                "annotations": {"dev.cosignproject.cosign/signature": "MEUCIQ=="},
            }
        ],
    }
    assert store.layers_of(Manifest(store.OCI_MANIFEST, store.sha256(manifest), manifest)) == [layer]
    assert store.tag_for(DIGEST, "sig") == "sha256-97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36.sig"


SIGNATURE_MANIFESTS = [
    (b'{"layers":[{"mediaType":"x","digest":"sha256:../../etc","size":1}]}', "a layer with a malformed digest"),
    (b'{"layers":[7]}', "a layer is not an object"),
    (b'{"layers":{"a":1}}', "not a list of at most 100 layers"),
    (json.dumps({"layers": [{"digest": DIGEST}] * 101}).encode(), "not a list of at most 100 layers"),
]


@pytest.mark.parametrize(("body", "message"), SIGNATURE_MANIFESTS)
def test_hostile_signature_manifests_are_refused(body: bytes, message: str) -> None:
    with pytest.raises(RegistryError) as caught:
        store.layers_of(Manifest(store.OCI_MANIFEST, store.sha256(body), body))
    assert caught.value.message == f"signature manifest {store.sha256(body)}: {message}"


UPLOADS = [
    (
        "/v2/ns/app/blobs/uploads/abc?_state=s1",
        "http://127.0.0.1:5000/v2/ns/app/blobs/uploads/abc?_state=s1&digest=sha256%3A" + "0" * 64,
    ),
    (
        "http://127.0.0.1:5000/v2/ns/app/blobs/uploads/abc",
        "http://127.0.0.1:5000/v2/ns/app/blobs/uploads/abc?digest=sha256%3A" + "0" * 64,
    ),
]


@pytest.mark.parametrize(("location", "expected"), UPLOADS)
def test_upload_location_on_the_registry(location: str, expected: str) -> None:
    start = "http://127.0.0.1:5000/v2/ns/app/blobs/uploads/"
    assert store.upload_url("127.0.0.1:5000/ns/app", start, location, "sha256:" + "0" * 64) == expected


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/latest/",
        "//evil.example/upload",
        "https://127.0.0.1:5000/v2/ns/app/blobs/uploads/x",
        "http://127.0.0.1:5001/v2/ns/app/blobs/uploads/x",
    ],
)
def test_upload_location_off_the_registry_is_refused(location: str) -> None:
    start = "http://127.0.0.1:5000/v2/ns/app/blobs/uploads/"
    with pytest.raises(RegistryOffsite) as caught:
        store.upload_url("127.0.0.1:5000/ns/app", start, location, "sha256:" + "0" * 64)
    assert caught.value.message == (
        f"127.0.0.1:5000/ns/app: the registry's upload location {location!r} leaves "
        "the registry; nothing is uploaded there (the registry is misconfigured or hostile)"
    )


def test_sealed_key_document_is_go_securesystemslibs() -> None:
    document = json.loads(SEALED)
    salt, nonce = (base64.b64decode(document["kdf"]["salt"]), base64.b64decode(document["cipher"]["nonce"]))
    assert keys.seal(b"reallyimportant", "supersecret", salt=salt, nonce=nonce) == SEALED
    assert keys.unseal(SEALED, "supersecret", "k") == b"reallyimportant"


FIXED_PUBLIC = (
    b"-----BEGIN PUBLIC KEY-----\n"
    b"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEn62Erq4Iu+9/AQAU2CzvagneKwz4\n"
    b"cbXODE8dE6WaWTQHy0V2nxBw4sJHD+Wxv+YxM8CwzcZOpL83kajsKgf9Tw==\n"
    b"-----END PUBLIC KEY-----\n"
)


def test_encrypted_private_key_round_trip_and_public_key_id(tmp_path: Path) -> None:
    sealed = keys.encrypt(FIXED_KEY, "pw", salt=b"\0" * 32, nonce=b"\1" * 24)
    lines = sealed.splitlines()
    assert (lines[0], lines[-1]) == (
        b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----",
        b"-----END ENCRYPTED SIGSTORE PRIVATE KEY-----",
    )
    assert {len(line) for line in lines[1:-2]} == {64}  # Go's encoding/pem line length
    assert json.loads(base64.b64decode(b"".join(lines[1:-1])))["kdf"] == {
        "name": "scrypt",
        "params": {"N": 32768, "r": 8, "p": 1},
        "salt": base64.b64encode(b"\0" * 32).decode(),
    }
    (tmp_path / "cosign.key").write_bytes(sealed)
    assert keys.load_private(tmp_path / "cosign.key", "pw").key.private_numbers() == FIXED_KEY.key.private_numbers()
    assert FIXED_KEY.public.pem() == FIXED_PUBLIC
    assert FIXED_KEY.public.id == "sha256:2a22a91fd74ac9b9f4b2c1fb92f110969b008d8a304e13442cacfa1599d21069"
    (tmp_path / "cosign.pub").write_bytes(FIXED_PUBLIC)
    assert keys.load_public(tmp_path / "cosign.pub").id == FIXED_KEY.public.id


def test_openvex_document() -> None:
    release = Release(
        version="1.0.1",
        date="2026-11-30",
        tags=("1.0.1",),
        repository="r.example/base/app",
        digest=DIGEST,
        size=1,
        base=BaseLock(reference="d:1", digest=DIGEST),
        updates=(
            Update(name="libssl3", old="3.0.1", new="3.0.2", cves=("CVE-2026-1111",)),
            Update(name="openssl", old="3.0.1", new="3.0.2", cves=("CVE-2026-1111",)),
            Update(name="libnew", old="", new="1.0", cves=("CVE-2026-3333",)),
        ),
    )
    entries = (
        VexEntry(cve="CVE-2026-2222", status="under_investigation"),
        VexEntry(cve="CVE-2026-1111", status="not_affected", justification="component_not_present"),
        VexEntry(
            cve="CVE-2026-0001",
            status="not_affected",
            justification="vulnerable_code_not_present",
            impact_statement="the parser is not built",
        ),
    )
    product = {
        "@id": "pkg:oci/app@sha256%3A97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36"
        "?repository_url=r.example%2Fbase%2Fapp"
    }
    assert vex.document(release, entries, "acme/channel") == {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "urn:builder:vex:97fc222cee7991b5b061d4d4afdb5f3428fcb0c9054e1690313786befa1e4e36",
        "author": "acme/channel",
        "timestamp": "2026-11-30T00:00:00Z",
        "version": 1,
        "statements": [
            {
                "vulnerability": {"name": "CVE-2026-1111"},
                "products": [product],
                "status": "fixed",
                "status_notes": "fixed by libssl3 3.0.1 -> 3.0.2, openssl 3.0.1 -> 3.0.2",
            },
            {
                "vulnerability": {"name": "CVE-2026-3333"},
                "products": [product],
                "status": "fixed",
                "status_notes": "fixed by libnew (new) -> 1.0",
            },
            {
                "vulnerability": {"name": "CVE-2026-0001"},
                "products": [product],
                "status": "not_affected",
                "justification": "vulnerable_code_not_present",
                "impact_statement": "the parser is not built",
            },
            {"vulnerability": {"name": "CVE-2026-2222"}, "products": [product], "status": "under_investigation"},
        ],
    }
