"""Signed APKINDEX archives made in tests, as abuild-sign makes them."""

from __future__ import annotations

import gzip
import io
import tarfile

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

NAME = "packages@example.com-6512ac2d.rsa.pub"
INDEX_TEXT = "C:Q1abc=\nP:musl\nV:1.2.5-r1\nA:x86_64\no:musl\n\nC:Q1def=\nP:libcrypto3\nV:3.3.2-r10\no:openssl\n\n"


def tar_member(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    # abuild-sign cuts the end-of-archive blocks, so apk reads the two streams as one tar.
    return buffer.getvalue()[: 512 + -(-len(data) // 512) * 512]


def unsigned_index(text: str = INDEX_TEXT, member: str = "APKINDEX") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in (("DESCRIPTION", b"v3.20.3"), (member, text.encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sign(index: bytes, key: rsa.RSAPrivateKey, name: str = NAME, *, sha1: bool = False) -> bytes:
    """What abuild-sign writes: a gzip stream with .SIGN.RSA[256].<name>, then the index unchanged."""
    digest = hashes.SHA1() if sha1 else hashes.SHA256()  # noqa: S303 - Alpine's own indexes are signed so
    signature = key.sign(index, padding.PKCS1v15(), digest)
    prefix = ".SIGN.RSA." if sha1 else ".SIGN.RSA256."
    return gzip.compress(tar_member(prefix + name, signature)) + index


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
