"""Alpine's APKINDEX.tar.gz is believed only once a trusted key is seen to sign it, as apk does."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from builder.core.errors import WatchError
from builder.core.facts import AptSource
from builder.upstream import apk_index
from builder.upstream.apt_index import IndexCache
from tests.support.apksign import INDEX_TEXT, NAME, pem, sign, tar_member, unsigned_index

URL = "http://apk.invalid/v3.20/main/x86_64/APKINDEX.tar.gz"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("sha1", [True, False], ids=["RSA-SHA1 (Alpine's own)", "RSA256"])
def test_a_correctly_signed_index_is_read(key: rsa.RSAPrivateKey, sha1: bool) -> None:
    text = apk_index.verified_index(sign(unsigned_index(), key, sha1=sha1), {NAME: pem(key)}, URL)
    assert text == INDEX_TEXT


def test_the_first_signature_by_a_trusted_key_decides(key: rsa.RSAPrivateKey, other: rsa.RSAPrivateKey) -> None:
    index = unsigned_index()
    unknown = other.sign(index, padding.PKCS1v15(), hashes.SHA256())
    mine = key.sign(index, padding.PKCS1v15(), hashes.SHA256())
    segment = tar_member(".SIGN.RSA256.unknown.rsa.pub", unknown) + tar_member(".SIGN.RSA256." + NAME, mine)
    assert apk_index.verified_index(gzip.compress(segment) + index, {NAME: pem(key)}, URL) == INDEX_TEXT


def tampered(keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> bytes:
    signed = sign(unsigned_index(), keys[0])
    signature_part = signed[: len(signed) - len(unsigned_index())]
    return signature_part + unsigned_index(INDEX_TEXT.replace("1.2.5-r1", "1.2.5-r9"))


BAD = [
    (
        "tampered after signing",
        tampered,
        {},
        f"{URL}: bad signature by {NAME}: the index was altered after signing, or signed by another key of that name",
    ),
    (
        "signed by another key of the same name",
        lambda keys: sign(unsigned_index(), keys[1]),
        {},
        f"{URL}: bad signature by {NAME}: the index was altered after signing, or signed by another key of that name",
    ),
    (
        "signed by an unknown key",
        lambda keys: sign(unsigned_index(), keys[1], "other@example.com-1.rsa.pub"),
        {},
        f"{URL}: signed by other@example.com-1.rsa.pub, not a trusted key (trusted: {NAME}); name the repository's "
        "key in the recipe's `signed_by`",
    ),
    (
        "a key name with a terminal escape",
        lambda keys: sign(unsigned_index(), keys[1], "x\x1b[31m.rsa.pub"),
        {},
        f"{URL}: signed by x\\x1b[31m.rsa.pub, not a trusted key (trusted: {NAME}); name the repository's "
        "key in the recipe's `signed_by`",
    ),
    (
        "unsigned",
        lambda _keys: unsigned_index(),
        {},
        f"{URL}: not signed (no .SIGN.RSA file before the index); apk refuses an unsigned index: sign it with "
        "abuild-sign",
    ),
    (
        "a signature and nothing after it",
        lambda keys: sign(unsigned_index(), keys[0])[: -len(unsigned_index())],
        {},
        f"{URL}: bad signature by {NAME}: the index was altered after signing, or signed by another key of that name",
    ),
    (
        "signed, but no APKINDEX in it",
        lambda keys: sign(unsigned_index(member="OTHER"), keys[0]),
        {},
        f"{URL}: not an APKINDEX archive (no APKINDEX after the signature)",
    ),
    (
        "not gzip at all",
        lambda _keys: b"<html>captive portal</html>",
        {},
        f"{URL}: not an APKINDEX archive (not gzip data)",
    ),
    (
        "the trusted key is not RSA",
        lambda keys: sign(unsigned_index(), keys[0]),
        {NAME: pem(ec.generate_private_key(ec.SECP256R1()))},
        f"{URL}: the apk key {NAME} is not an RSA public key in PEM form",
    ),
]


@pytest.mark.parametrize(("data", "keys", "message"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_an_index_that_fails_its_signature_check_is_refused(
    key: rsa.RSAPrivateKey, other: rsa.RSAPrivateKey, data: Any, keys: dict[str, bytes], message: str
) -> None:
    with pytest.raises(WatchError) as caught:
        apk_index.verified_index(data((key, other)), keys or {NAME: pem(key)}, URL)
    assert caught.value.message == message


def test_alpine_keys_ship_with_builder() -> None:
    keys = apk_index.alpine_keys()
    assert "alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub" in keys  # x86_64, since Alpine 3.15
    for name, data in keys.items():
        public = serialization.load_pem_public_key(data)
        assert isinstance(public, rsa.RSAPublicKey), name
        assert public.key_size >= 4096, name


class Mirror:
    """A fake requests.Session serving one APKINDEX.tar.gz."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    def get(self, url: str, **_options: Any) -> requests.Response:
        answer = requests.Response()
        answer.status_code = 200 if url == URL else 404
        answer._content = self.body if url == URL else b""
        return answer


SOURCE = AptSource(url="http://apk.invalid/v3.20/main", suite="", kind="apk")


def test_watch_reads_an_apk_repository_with_its_signed_by_key(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    (tmp_path / NAME).write_bytes(pem(key))
    indexes = IndexCache(
        tmp_path / "cache",
        session=Mirror(sign(unsigned_index(), key)),  # type: ignore[arg-type]
        keyrings={SOURCE.url: tmp_path / NAME},
    )
    found = indexes.entries(SOURCE, "x86_64", {"musl", "absent"})
    assert [(e.name, e.version, e.suite, e.deb_url) for e in found["musl"]] == [
        ("musl", "1.2.5-r1", "v3.20/main", "http://apk.invalid/v3.20/main/x86_64/musl-1.2.5-r1.apk")
    ]
    assert set(found) == {"musl"}


@pytest.mark.parametrize("signed", [True, False], ids=["signed by a key the channel does not name", "unsigned"])
def test_an_apk_repository_the_channel_does_not_name_needs_alpines_key(
    tmp_path: Path, key: rsa.RSAPrivateKey, signed: bool
) -> None:
    body = sign(unsigned_index(), key) if signed else unsigned_index()
    indexes = IndexCache(tmp_path / "cache", session=Mirror(body))  # type: ignore[arg-type]
    with pytest.raises(WatchError) as caught:
        indexes.entries(SOURCE, "x86_64", {"musl"})
    assert caught.value.message == (
        f"{URL}: signed by {NAME}, not a trusted key (trusted: alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub); "
        "name the repository's key in the recipe's `signed_by`"
        if signed
        else f"{URL}: not signed (no .SIGN.RSA file before the index); apk refuses an unsigned index: sign it with "
        "abuild-sign"
    )
    assert not list((tmp_path / "cache").rglob("*.json"))  # a refused index is not kept for a 304 next time
