"""Organization CA files are accepted only as current CA certificates in PEM form."""

from __future__ import annotations

import base64
import datetime
import hashlib
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from builder.recipe.certificates import Certificate, CertificateError, fingerprints, load_pem

UTC = datetime.UTC
NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
START = datetime.datetime(2025, 1, 1, tzinfo=UTC)
END = datetime.datetime(2030, 1, 1, tzinfo=UTC)
PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _cert(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool | None = True,
    issuer: x509.Name | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    not_before: datetime.datetime = START,
    not_after: datetime.datetime = END,
) -> x509.Certificate:
    """`ca=None` leaves basicConstraints out altogether."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    return builder.sign(issuer_key or key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(PEM)


def _independent_sha256(pem: bytes) -> str:
    """The fingerprint worked out from the PEM text itself, without cryptography's help."""
    body = pem.decode().split("-----")[2]
    return hashlib.sha256(base64.b64decode("".join(body.split()))).hexdigest()


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = _cert(_name("Example Root CA"), root_key)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert(_name("www.example.com"), leaf_key, ca=False, issuer=root.subject, issuer_key=root_key)
    bare = _cert(_name("No Constraints"), leaf_key, ca=None, issuer=root.subject, issuer_key=root_key)
    expired = _cert(
        _name("Old Root CA"),
        root_key,
        not_before=datetime.datetime(2015, 1, 1, tzinfo=UTC),
        not_after=datetime.datetime(2021, 1, 1, tzinfo=UTC),
    )
    future = _cert(_name("Future Root CA"), root_key, not_before=datetime.datetime(2027, 3, 4, tzinfo=UTC))
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = x509.CertificateSigningRequestBuilder().subject_name(_name("www.example.com")).sign(leaf_key, hashes.SHA256())
    root_pem = _pem(root)
    # Same framing, damaged DER: zero bytes where the outer SEQUENCE header belongs.
    lines = root_pem.splitlines(keepends=True)
    damaged = b"".join([lines[0], b"A" * (len(lines[1]) - 1) + b"\n", *lines[2:]])
    private = {
        "pkcs8_key": leaf_key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        "ec_key": leaf_key.private_bytes(
            PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ),
        "rsa_key": rsa_key.private_bytes(
            PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ),
        "encrypted_key": rsa_key.private_bytes(
            PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"hunter2")
        ),
        "openssh_key": leaf_key.private_bytes(PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()),
    }
    return {
        "root": root_pem,
        "root_der": root.public_bytes(DER),
        "intermediate": _pem(_cert(_name("Example Issuing CA"), leaf_key, issuer=root.subject, issuer_key=root_key)),
        "leaf": _pem(leaf),
        "bare": _pem(bare),
        "expired": _pem(expired),
        "future": _pem(future),
        "csr": csr.public_bytes(PEM),
        "public_key": leaf_key.public_key().public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "damaged": damaged,
        **private,
        # A key never slips through because something else is wrong with the file.
        "key_after_expired": _pem(expired) + private["pkcs8_key"],
        "key_after_damaged": damaged + private["ec_key"],
        "key_in_binary": b"\x00\xff\xfe" + private["rsa_key"] + b"\xff",
        "truncated": root_pem[: root_pem.index(b"-----END")],
        "latin1_comment": b"# Soci\xe9t\xe9 G\xe9n\xe9rale root\n" + root_pem,
        "indented": b"".join(b"  " + line for line in root_pem.splitlines(keepends=True)),
        "bundle_bad_second": root_pem + _pem(leaf),
        "garbage_binary": b"\x00\x01\x02\x03 not a certificate \x7f\x80",
        "garbage_text": b"please add our proxy CA\n",
        "empty": b"",
    }


PRIVATE_KEY_WORDS = ("private key", "never be committed", "remove it from the repository", "rotate")

ERRORS = [
    pytest.param("pkcs8_key", ("(PRIVATE KEY)", *PRIVATE_KEY_WORDS), id="pkcs8-private-key"),
    pytest.param("ec_key", ("EC PRIVATE KEY", *PRIVATE_KEY_WORDS), id="ec-private-key"),
    pytest.param("rsa_key", ("RSA PRIVATE KEY", *PRIVATE_KEY_WORDS), id="rsa-private-key"),
    pytest.param("encrypted_key", ("ENCRYPTED PRIVATE KEY", *PRIVATE_KEY_WORDS), id="encrypted-private-key"),
    pytest.param("openssh_key", ("OPENSSH PRIVATE KEY", *PRIVATE_KEY_WORDS), id="openssh-private-key"),
    pytest.param("key_after_expired", ("(PRIVATE KEY)", *PRIVATE_KEY_WORDS), id="key-beats-expiry"),
    pytest.param("key_after_damaged", ("EC PRIVATE KEY", *PRIVATE_KEY_WORDS), id="key-beats-parse-error"),
    pytest.param("key_in_binary", ("RSA PRIVATE KEY", *PRIVATE_KEY_WORDS), id="key-beats-binary"),
    pytest.param("root_der", ("not PEM", "DER", "openssl x509 -inform der -in"), id="der"),
    pytest.param("garbage_binary", ("not PEM", "binary", "openssl x509 -inform der -in"), id="garbage-binary"),
    pytest.param("garbage_text", ("not PEM", "no -----BEGIN CERTIFICATE----- line"), id="garbage-text"),
    pytest.param("empty", ("empty", "-----BEGIN CERTIFICATE-----"), id="empty"),
    pytest.param("latin1_comment", ("not UTF-8", "offset 6", "save the file as UTF-8"), id="not-utf8"),
    pytest.param("indented", ("not PEM", "indented"), id="indented"),
    pytest.param(
        "truncated",
        ("'CERTIFICATE' block at line 1", "no matching -----END CERTIFICATE-----", "truncated"),
        id="truncated",
    ),
    pytest.param(
        "csr", ("'CERTIFICATE REQUEST' block", "not a certificate", "signing request", "CA's own certificate"), id="csr"
    ),
    pytest.param("public_key", ("'PUBLIC KEY' block", "not a certificate"), id="public-key"),
    pytest.param("damaged", ("not a valid X.509 certificate (", "export it again"), id="damaged"),
    pytest.param(
        "expired",
        ("'CN=Old Root CA,O=Example Corp'", "expired on 2021-01-01T00:00:00Z", "replace it with a current certificate"),
        id="expired",
    ),
    pytest.param(
        "future", ("'CN=Future Root CA,O=Example Corp'", "not valid until 2027-03-04T00:00:00Z"), id="not-yet-valid"
    ),
    pytest.param(
        "leaf",
        (
            "'CN=www.example.com,O=Example Corp'",
            "not a CA certificate",
            "CA:FALSE",
            "trust stores take CA certificates",
            "add the CA that issued it ('CN=Example Root CA,O=Example Corp')",
            "not the server certificate",
        ),
        id="leaf",
    ),
    pytest.param(
        "bare",
        ("not a CA certificate", "no basicConstraints extension", "add the CA that issued it"),
        id="no-basic-constraints",
    ),
    pytest.param(
        "bundle_bad_second",
        ("certificate 2 of 2 (line ", "'CN=www.example.com,O=Example Corp'", "not a CA certificate"),
        id="bundle-names-the-bad-one",
    ),
]


@pytest.mark.parametrize(("name", "words"), ERRORS)
def test_rejected(files: dict[str, bytes], name: str, words: tuple[str, ...]) -> None:
    with pytest.raises(CertificateError) as caught:
        load_pem(files[name], now=NOW)
    message = str(caught.value)
    for word in words:
        assert word in message
    assert "\n" not in message


def test_private_key_line_is_given(files: dict[str, bytes]) -> None:
    key_line = files["expired"].count(b"\n") + 1
    with pytest.raises(CertificateError, match=rf"\(PRIVATE KEY\) was found at line {key_line};"):
        load_pem(files["key_after_expired"], now=NOW)


def test_certificate_error_is_a_value_error() -> None:
    assert issubclass(CertificateError, ValueError)


def test_happy_path(files: dict[str, bytes]) -> None:
    (cert,) = load_pem(files["root"], now=NOW)
    assert cert == Certificate(
        subject="CN=Example Root CA,O=Example Corp",
        sha256=_independent_sha256(files["root"]),
        not_after="2030-01-01T00:00:00Z",
        is_ca=True,
    )
    assert cert.sha256 == hashlib.sha256(files["root_der"]).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{64}", cert.sha256)


def test_bundle_keeps_file_order(files: dict[str, bytes]) -> None:
    bundle = files["intermediate"] + b"\n# the root\n" + files["root"]
    certs = load_pem(bundle, now=NOW)
    assert [c.subject for c in certs] == ["CN=Example Issuing CA,O=Example Corp", "CN=Example Root CA,O=Example Corp"]
    assert [c.sha256 for c in certs] == [_independent_sha256(files["intermediate"]), _independent_sha256(files["root"])]
    reversed_certs = load_pem(files["root"] + files["intermediate"], now=NOW)
    assert reversed_certs == certs[::-1]


def test_crlf_and_byte_order_mark(files: dict[str, bytes]) -> None:
    windows = b"\xef\xbb\xbf" + files["root"].replace(b"\n", b"\r\n")
    assert load_pem(windows, now=NOW) == load_pem(files["root"], now=NOW)


def test_validity_bounds_use_now(files: dict[str, bytes]) -> None:
    assert load_pem(files["root"], now=END)[0].not_after == "2030-01-01T00:00:00Z"
    with pytest.raises(CertificateError, match="expired on 2030-01-01T00:00:00Z"):
        load_pem(files["root"], now=END + datetime.timedelta(seconds=1))
    with pytest.raises(CertificateError, match="not valid until 2025-01-01T00:00:00Z"):
        load_pem(files["root"], now=START - datetime.timedelta(seconds=1))


def test_now_in_another_zone_or_naive(files: dict[str, bytes]) -> None:
    # 2030-01-01 00:30 in UTC+1 is still 2029 in UTC; a naive time is taken as UTC.
    plus_one = datetime.timezone(datetime.timedelta(hours=1))
    assert load_pem(files["root"], now=datetime.datetime(2030, 1, 1, 0, 30, tzinfo=plus_one))
    with pytest.raises(CertificateError, match="expired"):
        load_pem(files["root"], now=datetime.datetime(2030, 1, 1, 0, 30))


def test_now_defaults_to_the_current_time(files: dict[str, bytes]) -> None:
    assert load_pem(files["root"])[0].subject == "CN=Example Root CA,O=Example Corp"
    with pytest.raises(CertificateError, match="expired"):
        load_pem(files["expired"])


def test_control_characters_in_subject_stay_on_one_line() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "evil\nCA")])
    with pytest.raises(CertificateError) as caught:
        load_pem(_pem(_cert(subject, key, ca=False)), now=NOW)
    assert "\n" not in str(caught.value)
    assert "evil\\nCA" in str(caught.value)


def test_fingerprints_are_sorted(files: dict[str, bytes]) -> None:
    certs = load_pem(files["root"] + files["intermediate"], now=NOW)
    expected = sorted([_independent_sha256(files["root"]), _independent_sha256(files["intermediate"])])
    assert fingerprints(certs) == expected
    assert fingerprints(reversed(certs)) == expected
    assert fingerprints([]) == []
