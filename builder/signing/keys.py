"""ECDSA P-256 signing keys in cosign's formats.

The public key is a PKIX `PUBLIC KEY` PEM. The private key is PKCS#8 DER sealed as
go-securesystemslib's `encrypted` package does it: a JSON document `{"kdf": scrypt with its
salt and parameters, "cipher": nacl/secretbox with its nonce, "ciphertext"}`, in a PEM
block `ENCRYPTED SIGSTORE PRIVATE KEY` (cosign 2, skopeo) or `ENCRYPTED COSIGN PRIVATE KEY`
(cosign 1). NaCl's secretbox (XSalsa20-Poly1305) is not in `cryptography`, hence PyNaCl.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import hashlib
import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.secret
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from builder.core.plaintext import escape
from builder.signing.errors import SigningError

PRIVATE_PEM = "ENCRYPTED SIGSTORE PRIVATE KEY"
PRIVATE_PEMS = (PRIVATE_PEM, "ENCRYPTED COSIGN PRIVATE KEY")
PUBLIC_PEM = "PUBLIC KEY"
# The scrypt strengths go-securesystemslib writes (legacy, standard, OWASP): any other is
# refused, so that a key file cannot ask for gigabytes of memory.
SCRYPT_PARAMS = ({"N": 32768, "r": 8, "p": 1}, {"N": 65536, "r": 8, "p": 1}, {"N": 131072, "r": 8, "p": 1})
MAX_KEY_FILE = 64 * 1024
_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\n([A-Za-z0-9+/=\n]+)-----END \1-----\n?")


@dataclass(frozen=True)
class PublicKey:
    key: ec.EllipticCurvePublicKey
    source: str = ""  # where it was read, for messages

    @property
    def id(self) -> str:
        """sha256 of the key's DER (SubjectPublicKeyInfo): how messages and records name a key."""
        der = self.key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return "sha256:" + hashlib.sha256(der).hexdigest()

    def pem(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def verifies(self, data: bytes, signature: bytes) -> bool:
        try:
            self.key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    key: ec.EllipticCurvePrivateKey

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.key.public_key())

    def sign(self, data: bytes) -> bytes:
        """An ASN.1 DER ECDSA signature over sha256(data), as cosign makes them."""
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))


def generate() -> SigningKey:
    return SigningKey(ec.generate_private_key(ec.SECP256R1()))


def pem(kind: str, der: bytes) -> bytes:
    """A PEM block of type `kind`."""
    text = base64.b64encode(der).decode("ascii")
    body = "".join(text[i : i + 64] + "\n" for i in range(0, len(text), 64))  # as Go's encoding/pem
    return f"-----BEGIN {kind}-----\n{body}-----END {kind}-----\n".encode("ascii")


def encrypt(key: SigningKey, password: str, *, salt: bytes | None = None, nonce: bytes | None = None) -> bytes:
    """The private key as cosign writes it (`salt` and `nonce` fixed only by tests)."""
    der = key.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem(PRIVATE_PEM, seal(der, password, salt=salt, nonce=nonce))


def seal(plaintext: bytes, password: str, *, salt: bytes | None = None, nonce: bytes | None = None) -> bytes:
    """go-securesystemslib's `encrypted` JSON document of `plaintext` (scrypt at its legacy strength)."""
    salt = salt if salt is not None else os.urandom(32)
    nonce = nonce if nonce is not None else os.urandom(nacl.secret.SecretBox.NONCE_SIZE)
    params = SCRYPT_PARAMS[0]
    sealed = nacl.secret.SecretBox(_derive(password, salt, params)).encrypt(plaintext, nonce).ciphertext
    document = {
        "kdf": {"name": "scrypt", "params": params, "salt": base64.b64encode(salt).decode()},
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _derive(password: str, salt: bytes, params: dict[str, int]) -> bytes:
    return Scrypt(salt=salt, length=32, n=params["N"], r=params["r"], p=params["p"]).derive(password.encode())


def _read(path: Path, what: str) -> tuple[str, bytes]:
    """(PEM type, body) of the one PEM block in the file at `path`."""
    where = escape(str(path))
    try:
        if path.stat().st_size > MAX_KEY_FILE:
            raise SigningError(f"{where}: larger than {MAX_KEY_FILE} bytes: not a {what}")
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise SigningError(f"{where}: no such {what} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SigningError(f"{where}: cannot read the {what} ({type(exc).__name__})") from None
    match = _PEM.fullmatch(text.strip() + "\n")
    if match is None:
        raise SigningError(f"{where}: not a PEM {what} (one -----BEGIN ...----- block)")
    try:
        return match.group(1), base64.b64decode(match.group(2), validate=False)
    except binascii.Error:
        raise SigningError(f"{where}: the PEM body is not base64") from None


def load_private(path: Path, password: str) -> SigningKey:
    """The signing key in cosign's encrypted format, or a SigningError saying what is wrong."""
    where = escape(str(path))
    kind, body = _read(path, "private key")
    if kind == PUBLIC_PEM:
        raise SigningError(f"{where}: a public key; the signing key is the private one (cosign.key)")
    if kind not in PRIVATE_PEMS:
        raise SigningError(
            f"{where}: a {kind!r} PEM block; the signing key must be encrypted with a password "
            f"in cosign's format ({PRIVATE_PEM}): make one with `builder keygen`, or "
            "`cosign import-key-pair`"
        )
    der = unseal(body, password, where)
    try:
        key = serialization.load_der_private_key(der, password=None)
    except ValueError:
        raise SigningError(f"{where}: the decrypted key is not a PKCS#8 private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningError(
            f"{where}: {_describe(key)}; the channel signs with ECDSA P-256 keys (make one with `builder keygen`)"
        )
    return SigningKey(key)


def unseal(sealed_json: bytes, password: str, where: str) -> bytes:
    """The plaintext of go-securesystemslib's `encrypted` JSON document."""
    try:
        document = json.loads(sealed_json)
        kdf, cipher = document["kdf"], document["cipher"]
        params = {k: int(kdf["params"][k]) for k in ("N", "r", "p")}
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(cipher["nonce"], validate=True)
        sealed = base64.b64decode(document["ciphertext"], validate=True)
        names = (kdf["name"], cipher["name"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise SigningError(f"{where}: the encrypted key is damaged (not the JSON cosign writes)") from None
    if names != ("scrypt", "nacl/secretbox") or params not in SCRYPT_PARAMS or len(nonce) != 24:
        raise SigningError(
            f"{where}: unsupported key encryption {names[0]} {params} / {names[1]}: "
            "expected scrypt (N 32768, 65536 or 131072, r 8, p 1) and nacl/secretbox"
        )
    try:
        return nacl.secret.SecretBox(_derive(password, salt, params)).decrypt(sealed, nonce)
    except nacl.exceptions.CryptoError:
        raise SigningError(f"{where}: wrong password for this key (BUILDER_SIGNING_KEY_PASSWORD)") from None


def load_public(path: Path) -> PublicKey:
    where = escape(str(path))
    kind, body = _read(path, "public key")
    if kind != PUBLIC_PEM:
        raise SigningError(f"{where}: a {kind!r} PEM block, not a public key ({PUBLIC_PEM})")
    try:
        key = serialization.load_der_public_key(body)
    except ValueError:
        raise SigningError(f"{where}: not a PKIX public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningError(f"{where}: {_describe(key)}; the channel's keys are ECDSA P-256")
    return PublicKey(key, str(path))


def _describe(key: object) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return f"an ECDSA key on {key.curve.name}"
    return f"a {type(key).__name__.removeprefix('_').replace('PrivateKey', '').replace('PublicKey', '')} key"


def password_from_env_or_prompt(environ: Mapping[str, str] | None = None) -> str:
    """The new key's password: BUILDER_SIGNING_KEY_PASSWORD, or asked twice on a terminal."""
    env = os.environ if environ is None else environ
    password = env.get("BUILDER_SIGNING_KEY_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise SigningError("no password: set BUILDER_SIGNING_KEY_PASSWORD (no terminal to ask on)")
        password = getpass.getpass("password for the new key: ")
        if getpass.getpass("again: ") != password:
            raise SigningError("the two passwords differ; nothing written")
    if not password:
        raise SigningError("an empty password would leave the private key unprotected; choose one")
    return password


def write_pair(key: SigningKey, password: str, private: Path, public: Path) -> None:
    """Both files or neither: the private key readable by its owner only."""
    sealed = encrypt(key, password)
    staged = []
    try:
        for path, data, mode in ((private, sealed, 0o600), (public, key.public.pem(), 0o644)):
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        for tmp, path in staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
