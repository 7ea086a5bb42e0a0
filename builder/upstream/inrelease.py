"""A suite's `InRelease`, read the way apt reads it: signature first, then its fields.

The signature is checked with `gpgv`, the verifier apt itself runs, against one keyring: the
fields are read only from the text gpgv says is signed, so nothing outside the signature (a
stanza prepended or appended by a mirror) is ever believed. A signature counts when gpgv
reports it valid, made with a digest apt accepts; one bad signature fails the file, as in apt.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.utils
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from builder.core.errors import WatchError

# Debian's keyring, from the debian-archive-keyring package: the keys of every Debian suite.
DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
# VALIDSIG's hash algorithm ids (RFC 4880 9.4) apt refuses: MD5, SHA1, RIPEMD160.
_WEAK_DIGESTS = frozenset({"1", "2", "3"})
_ARMOR_BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----"


@dataclass(frozen=True)
class Release:
    """The fields of a Release file that reading its indexes needs."""

    suite: str
    codename: str
    valid_until: dt.datetime | None
    by_hash: bool
    sha256: Mapping[str, tuple[str, int]]  # path below dists/SUITE -> (hex digest, size)
    date: dt.datetime | None = None  # when the archive published this Release: when its packages appeared


def verified_text(signed: bytes, keyring: Path, url: str) -> bytes:
    """The text that a key of `keyring` signed in the clearsigned `signed`, or WatchError."""
    with tempfile.TemporaryDirectory(prefix="inrelease-") as scratch:
        folder = Path(scratch)
        (folder / "InRelease").write_bytes(signed)
        try:
            key_bytes = keyring.read_bytes()
        except OSError as exc:
            hint = " (apt-get install debian-archive-keyring)" if keyring == DEBIAN_KEYRING else ""
            raise WatchError(f"{url}: cannot read the keyring {keyring}: {exc.strerror}{hint}") from None
        (folder / "keyring.gpg").write_bytes(_dearmored(key_bytes, keyring, url))
        try:
            result = subprocess.run(
                [
                    "gpgv",
                    "--status-fd",
                    "1",
                    "--keyring",
                    str(folder / "keyring.gpg"),
                    "--output",
                    str(folder / "signed"),
                    str(folder / "InRelease"),
                ],
                capture_output=True,
                check=False,
                timeout=60,
            )
        except FileNotFoundError:
            raise WatchError(f"{url}: gpgv is not installed (apt-get install gpgv)") from None
        status = [
            line.split() for line in result.stdout.decode(errors="replace").splitlines() if line.startswith("[GNUPG:] ")
        ]
        problem = _signature_problem(status, keyring)
        if problem:
            raise WatchError(f"{url}: {problem}")
        return (folder / "signed").read_bytes()


def _signature_problem(status: list[list[str]], keyring: Path) -> str:
    """Why gpgv's status lines do not make a good signature, or "" when they do."""
    kinds = {words[1] for words in status if len(words) > 1}
    if "NODATA" in kinds or not kinds & {"GOODSIG", "BADSIG", "ERRSIG", "EXPKEYSIG", "REVKEYSIG"}:
        return "not a signed InRelease (no OpenPGP signature in it)"
    if "BADSIG" in kinds:
        return "bad signature: the file does not match its signature (tampered with, or damaged)"
    valid = [words for words in status if len(words) > 9 and words[1] == "VALIDSIG"]
    strong = [words for words in valid if words[9] not in _WEAK_DIGESTS]
    if valid and not strong:
        return "signed with a weak digest (MD5, SHA1 or RIPEMD160), which apt refuses"
    if not strong or "GOODSIG" not in kinds:
        if kinds & {"EXPKEYSIG", "REVKEYSIG"}:
            return f"signed by an expired or revoked key of {keyring}"
        return f"bad signature: not signed by a key in {keyring}"
    return ""


def _dearmored(data: bytes, keyring: Path, url: str) -> bytes:
    """gpgv reads binary keyrings only; a recipe's key may be armored (.asc)."""
    text = data.decode("ascii", errors="replace")
    if not text.lstrip().startswith(_ARMOR_BEGIN):
        return data
    lines = text.strip().splitlines()
    try:
        start = lines.index("") + 1  # the armor headers end at the first empty line
    except ValueError:
        start = 1
    body = []
    for line in lines[start:]:
        if line.startswith(("=", "-----END")):
            break
        body.append(line.strip())
    try:
        return base64.b64decode("".join(body), validate=True)
    except (binascii.Error, ValueError):
        raise WatchError(f"{url}: {keyring} is not an armored OpenPGP key") from None


def parse(text: bytes, url: str, suite: str, now: dt.datetime) -> Release:
    """The Release fields of `text` (verified), checked against the suite asked for and `now`."""
    fields: dict[str, str] = {}
    key = ""
    for line in text.decode("utf-8", errors="replace").splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    names = {fields.get("Suite", ""), fields.get("Codename", "")}
    if suite not in names:
        raise WatchError(
            f"{url}: the release is for {' / '.join(sorted(n for n in names if n)) or 'no suite'}, "
            f"not {suite} (a mirror serving another suite's file)"
        )
    valid_until = _date(fields.get("Valid-Until"), url, "Valid-Until")
    if valid_until is not None and valid_until < now:
        raise WatchError(
            f"{url}: expired on {valid_until:%Y-%m-%d %H:%M} UTC (Valid-Until): the mirror "
            "serves a stale release; use an up-to-date mirror"
        )
    hashes: dict[str, tuple[str, int]] = {}
    for line in fields.get("SHA256", "").splitlines():
        words = line.split()
        if len(words) == 3 and words[1].isdigit():
            hashes[words[2]] = (words[0].lower(), int(words[1]))
    if not hashes:
        raise WatchError(f"{url}: no SHA256 checksums in the release")
    try:
        published = _date(fields.get("Date"), url, "Date")
    except WatchError:
        published = None  # informational only (patch latency): a bad Date must not stop reading the suite
    return Release(
        fields.get("Suite", ""),
        fields.get("Codename", ""),
        valid_until,
        fields.get("Acquire-By-Hash", "").lower() == "yes",
        hashes,
        published,
    )


def _date(value: str | None, url: str, name: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        raise WatchError(f"{url}: {name}: {value!r} is not a date") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
