"""Organization CA certificates a recipe adds to an image's trust store.

`load_pem` accepts only what belongs in a trust store: PEM text holding CA certificates that
are valid now. Everything else raises CertificateError with a one-line message saying what
is wrong and how to fix it; the caller adds the file and line.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes

# Scanned on the raw bytes, unanchored, so that a key is reported even in a file that is
# otherwise binary, badly encoded or truncated.
_ANY_BEGIN = re.compile(rb"-----BEGIN ([^\r\n]*?)-----")
# OpenSSL only honours BEGIN/END lines that start a line.
_BEGIN = re.compile(r"^-----BEGIN ([^\r\n]*?)-----[ \t]*\r?$", re.MULTILINE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONVERT_DER = "openssl x509 -inform der -in <file> -out <file>.crt"
# What parsing a damaged certificate raises; several are not ValueError subclasses.
_UNPARSABLE = (ValueError, x509.DuplicateExtension, x509.InvalidVersion, x509.UnsupportedGeneralNameType)

_OTHER_BLOCK_HINTS = {
    "CERTIFICATE REQUEST": "a signing request is what a CA signs; add the CA's own certificate",
    "NEW CERTIFICATE REQUEST": "a signing request is what a CA signs; add the CA's own certificate",
    "PUBLIC KEY": "a bare public key cannot be trusted; add the CA certificate that holds it",
    "RSA PUBLIC KEY": "a bare public key cannot be trusted; add the CA certificate that holds it",
    "TRUSTED CERTIFICATE": f"convert it to a plain certificate with: {_CONVERT_DER.replace(' -inform der', '')}",
    "X509 CRL": "a revocation list is not a trust anchor; remove it",
}


@dataclass(frozen=True)
class Certificate:
    subject: str  # RFC 4514 string
    sha256: str  # fingerprint, lowercase hex, no colons, of the DER
    not_after: str  # ISO 8601 UTC, e.g. 2030-01-01T00:00:00Z
    is_ca: bool


class CertificateError(ValueError):
    """One line: what is wrong and how to fix it (no path; the caller adds file and line)."""


@dataclass(frozen=True)
class _Block:
    label: str
    line: int
    text: str


def load_pem(data: bytes, now: datetime.datetime | None = None) -> tuple[Certificate, ...]:
    """The CA certificates in `data`, in file order; `now` (naive means UTC) defaults to the current time."""
    _refuse_private_keys(data)
    text = _decode(data)
    blocks = _blocks(text)
    if not blocks:
        if not text.strip():
            raise CertificateError(
                "the file is empty; add the CA certificate in PEM form "
                "(-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)"
            )
        if "-----BEGIN" in text:
            raise CertificateError(
                "not PEM: the -----BEGIN line is indented or damaged; each -----BEGIN and "
                "-----END line must start its line, with nothing before it"
            )
        raise CertificateError(
            "not PEM: no -----BEGIN CERTIFICATE----- line; add the CA certificate in PEM "
            f"form (a DER file converts with: {_CONVERT_DER})"
        )
    for block in blocks:
        if block.label != "CERTIFICATE":
            hint = _OTHER_BLOCK_HINTS.get(block.label, "remove it; the file may hold only CERTIFICATE blocks")
            raise CertificateError(f"holds a {block.label!r} block at line {block.line}, not a certificate; {hint}")
    when = _utc(now)
    return tuple(_certificate(block, index, len(blocks), when) for index, block in enumerate(blocks, 1))


def fingerprints(certs: Iterable[Certificate]) -> list[str]:
    """The certificates' sha256 fingerprints, sorted."""
    return sorted(cert.sha256 for cert in certs)


def _refuse_private_keys(data: bytes) -> None:
    for match in _ANY_BEGIN.finditer(data):
        label = match.group(1).decode("ascii", errors="replace")
        # Covers PKCS#1/#8, SEC1, OpenSSH and PGP ("PGP PRIVATE KEY BLOCK") armour alike.
        if "PRIVATE KEY" in label.upper():
            line = data.count(b"\n", 0, match.start()) + 1
            raise CertificateError(
                f"a private key ({_printable(label)}) was found at line {line}; a private key must never be "
                "committed: remove it from the repository (and its git history) and rotate it, then keep "
                "only the CA certificate in this file"
            )


def _decode(data: bytes) -> str:
    try:
        # utf-8-sig: editors on Windows save PEM files with a byte order mark.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if b"-----BEGIN" in data:
            raise CertificateError(
                f"not UTF-8 text (invalid byte at offset {exc.start}); save the file as UTF-8 or ASCII"
            ) from None
        raise CertificateError(_not_pem(data)) from None
    if _CONTROL.search(text):
        raise CertificateError(_not_pem(data))
    return text


def _not_pem(data: bytes) -> str:
    try:
        x509.load_der_x509_certificate(data)
    except ValueError:
        return (
            "not PEM: the file is binary; a trust store file must be PEM text "
            f"(-----BEGIN CERTIFICATE-----); if it is a DER certificate, convert it with: {_CONVERT_DER}"
        )
    return f"not PEM: this is a DER (binary) certificate; convert it to PEM with: {_CONVERT_DER}"


def _blocks(text: str) -> list[_Block]:
    blocks = []
    position = 0
    while match := _BEGIN.search(text, position):
        label = match.group(1)
        line = text.count("\n", 0, match.start()) + 1
        end = re.compile(rf"^-----END {re.escape(label)}-----[ \t]*\r?$", re.MULTILINE).search(text, match.end())
        if end is None:
            raise CertificateError(
                f"the {label!r} block at line {line} has no matching "
                f"-----END {_printable(label)}----- line; the file is truncated: "
                "copy the whole block again"
            )
        blocks.append(_Block(label=label, line=line, text=text[match.start() : end.end()]))
        position = end.end()
    return blocks


def _utc(now: datetime.datetime | None) -> datetime.datetime:
    if now is None:
        return datetime.datetime.now(datetime.UTC)
    if now.tzinfo is None:
        return now.replace(tzinfo=datetime.UTC)
    return now.astimezone(datetime.UTC)


def _certificate(block: _Block, index: int, total: int, now: datetime.datetime) -> Certificate:
    which = f"certificate {index} of {total} (line {block.line})" if total > 1 else "the certificate"
    try:
        cert = x509.load_pem_x509_certificate(block.text.encode("utf-8"))
        subject = cert.subject.rfc4514_string()
        issuer = cert.issuer.rfc4514_string()
        not_before = cert.not_valid_before_utc
        not_after = cert.not_valid_after_utc
        try:
            constraints: x509.BasicConstraints | None = cert.extensions.get_extension_for_class(
                x509.BasicConstraints
            ).value
        except x509.ExtensionNotFound:
            constraints = None
        sha256 = cert.fingerprint(hashes.SHA256()).hex()
    except _UNPARSABLE as exc:
        raise CertificateError(
            f"{which} is not a valid X.509 certificate ({_reason(exc)}); export it again from the CA in PEM form"
        ) from None
    named = f"{which} {subject!r}" if subject else f"{which} (empty subject)"
    if not_after < now:
        raise CertificateError(
            f"{named} expired on {_iso(not_after)}; replace it with a current certificate from the CA"
        )
    if not_before > now:
        raise CertificateError(
            f"{named} is not valid until {_iso(not_before)}; check the clock, or use the "
            "CA's current certificate instead"
        )
    if constraints is None or not constraints.ca:
        why = "has no basicConstraints extension" if constraints is None else "has basicConstraints CA:FALSE"
        raise CertificateError(
            f"{named} is not a CA certificate ({why}); trust stores take CA certificates: "
            f"add the CA that issued it ({issuer!r}), not the server certificate"
        )
    return Certificate(subject=subject, sha256=sha256, not_after=_iso(not_after), is_ca=True)


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _reason(exc: Exception) -> str:
    # The library's PEM message starts with a generic FAQ pointer; the detail comes after it.
    reason = re.sub(r"^Unable to load PEM file\. See \S+ for more details\.\s*", "", str(exc))
    reason = " ".join(reason.split()) or type(exc).__name__
    return reason if len(reason) <= 160 else reason[:157] + "..."


def _printable(value: str) -> str:
    """Labels come from the file; keep the message on one line."""
    return repr(value)[1:-1]
