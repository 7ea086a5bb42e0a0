"""Alpine's `APKINDEX.tar.gz`, read the way apk reads it: signature first, then the index.

A signed index is two gzip streams one after the other (what `abuild-sign` writes): the
first holds a tar with one `.SIGN.RSA.<key name>` (SHA-1) or `.SIGN.RSA256.<key name>`
(SHA-256) file, an RSA PKCS#1 v1.5 signature over the raw bytes of everything after that
stream; the second is the unsigned index (a tar of DESCRIPTION and APKINDEX). The key name is
the file name of the public key in /etc/apk/keys. As in apk, the first signature made by a
key we hold decides, and the index is read only from the bytes it covers.

Keys: a repository the channel names is checked with its recipe's `signed_by` key; any other
(Alpine's own mirrors) with Alpine's keys shipped in builder/upstream/keys/alpine.
"""

from __future__ import annotations

import io
import tarfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from builder.core.errors import WatchError
from builder.core.plaintext import escape
from builder.upstream.package_db import apk_stanzas

ALPINE_KEYS = Path(__file__).resolve().parent / "keys" / "alpine"
_DIGESTS: dict[str, type[hashes.HashAlgorithm]] = {".SIGN.RSA256.": hashes.SHA256, ".SIGN.RSA.": hashes.SHA1}
_SIGNATURE_SEGMENT_MAX = 64 * 1024  # a few signatures of a few hundred bytes each


def keys_from(paths: Iterable[Path]) -> dict[str, bytes]:
    """Key name (the file name, as in /etc/apk/keys) -> PEM, for the given key files."""
    found = {}
    for path in paths:
        try:
            found[path.name] = path.read_bytes()
        except OSError as exc:
            raise WatchError(f"{path}: cannot read the apk key: {exc.strerror}") from None
    return found


def alpine_keys() -> dict[str, bytes]:
    return keys_from(sorted(ALPINE_KEYS.glob("*.rsa.pub")))


def verified_index(data: bytes, keys: Mapping[str, bytes], url: str) -> str:
    """The APKINDEX text of the signed archive `data`, once a key of `keys` is seen to sign it."""
    segment, signed = _split(data, url)
    signatures = _signatures(segment)
    if not signatures:
        raise WatchError(
            f"{url}: not signed (no .SIGN.RSA file before the index); apk refuses an unsigned "
            "index: sign it with abuild-sign"
        )
    for prefix, name, signature in signatures:
        if name not in keys:
            continue
        key = _public_key(keys[name], name, url)
        try:
            key.verify(signature, signed, padding.PKCS1v15(), _DIGESTS[prefix]())
        except InvalidSignature:
            raise WatchError(
                f"{url}: bad signature by {escape(name)}: the index was altered after signing, "
                "or signed by another key of that name"
            ) from None
        return _index_text(signed, url)
    named = ", ".join(escape(name) for _, name, _ in signatures)
    trusted = ", ".join(sorted(keys)) or "none"
    raise WatchError(
        f"{url}: signed by {named}, not a trusted key (trusted: {trusted}); name the "
        "repository's key in the recipe's `signed_by`"
    )


def entries_of(text: str, names: set[str], base: str, arch: str) -> list[tuple[str, str, str, str]]:
    """(name, version, origin, filename) of each wanted package in an APKINDEX."""
    found = []
    for fields in apk_stanzas(text):
        name = fields.get("P")
        if name is None or name not in names:
            continue
        if "V" not in fields:
            raise WatchError(f"{base}: APKINDEX stanza for {name} lacks a version")
        found.append((name, fields["V"], fields.get("o", name), f"{arch}/{name}-{fields['V']}.apk"))
    return found


def _split(data: bytes, url: str) -> tuple[bytes, bytes]:
    """The first gzip stream's content (the signatures) and the raw bytes after it (what they sign)."""
    stream = zlib.decompressobj(wbits=31)
    try:
        segment = stream.decompress(data, _SIGNATURE_SEGMENT_MAX)
    except zlib.error:
        raise WatchError(f"{url}: not an APKINDEX archive (not gzip data)") from None
    if not stream.eof:
        raise WatchError(
            f"{url}: not signed (no .SIGN.RSA file before the index); apk refuses an unsigned "
            "index: sign it with abuild-sign"
        )
    return segment, stream.unused_data


def _signatures(segment: bytes) -> list[tuple[str, str, bytes]]:
    """(prefix, key name, signature) of each RSA signature file; none when the segment holds anything else."""
    found = []
    try:
        with tarfile.open(fileobj=io.BytesIO(segment), mode="r:") as archive:
            for member in archive:
                prefix = next((p for p in _DIGESTS if member.name.startswith(p)), None)
                if prefix is None or not member.isfile():
                    return []  # the index itself, unsigned
                handle = archive.extractfile(member)
                if handle is not None:
                    found.append((prefix, member.name[len(prefix) :], handle.read()))
    except tarfile.TarError:
        return []
    return found


def _public_key(pem: bytes, name: str, url: str) -> rsa.RSAPublicKey:
    try:
        key = load_pem_public_key(pem)
    except ValueError:
        key = None
    if not isinstance(key, rsa.RSAPublicKey):
        raise WatchError(f"{url}: the apk key {escape(name)} is not an RSA public key in PEM form")
    return key


def _index_text(signed: bytes, url: str) -> str:
    try:
        with tarfile.open(fileobj=io.BytesIO(signed), mode="r:gz") as archive:
            member = archive.extractfile("APKINDEX")
            if member is None:
                raise KeyError("APKINDEX")
            return member.read().decode("utf-8", errors="replace")
    except (tarfile.TarError, KeyError, OSError, EOFError, zlib.error):
        raise WatchError(f"{url}: not an APKINDEX archive (no APKINDEX after the signature)") from None
