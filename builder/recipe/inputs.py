"""Committed files a recipe uses (CA certificates, repository keys, files): found, checked, hashed.

Paths are relative to the repository root and must stay inside it once symlinks are
resolved; each file is read once per run, and its sha256 goes into the image's spec and
lock so that a changed file rebuilds the image (`recipe-changed`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from builder.core.errors import Problem, RecipeError
from builder.core.facts import CertificateInfo, InputFile
from builder.recipe import certificates
from builder.recipe.model import Recipe
from builder.recipe.source import Origin

MAX_BYTES = 1024 * 1024
CA_DIR = "/usr/local/share/ca-certificates"
APT_KEYRINGS = "/etc/apt/keyrings"
APK_KEYS = "/etc/apk/keys"
_PRIVATE = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----")
_PGP_ARMOR = b"-----BEGIN PGP PUBLIC KEY BLOCK-----"
_PGP_PUBLIC_PACKETS = (0x98, 0x99, 0x9A, 0xC6)  # old- and new-format public-key packet tags
_PEM_PUBLIC = b"-----BEGIN PUBLIC KEY-----"

Locate = Callable[[tuple[str | int, ...]], Origin]


class Resolver:
    """Reads and checks each committed file once, for every recipe that uses it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._read: dict[str, bytes | str] = {}  # path -> bytes, or why it cannot be used

    def resolve(self, recipe: Recipe, locate: Locate) -> tuple[InputFile, ...]:
        found: list[InputFile] = []
        problems: list[Problem] = []
        destinations: dict[str, tuple[tuple[str | int, ...], InputFile]] = {}
        modes: dict[str, tuple[tuple[str | int, ...], str]] = {}  # source -> where and mode first seen

        def add(path: tuple[str | int, ...], entry: InputFile | str) -> None:
            doc, where = locate(path)
            if isinstance(entry, str):
                problems.append(doc.problem(where, entry))
                return
            if entry.destination in destinations:
                other_path, other_entry = destinations[entry.destination]
                if other_entry == entry:
                    return  # one key signing two repositories is one file in the image
                other_doc, other = locate(other_path)
                problems.append(
                    doc.problem(
                        where,
                        f"lands on {entry.destination}, as {other_doc.where(other)} does",
                        "rename one of the files",
                    )
                )
                return
            # The build context carries each file once, with its mode.
            first = modes.setdefault(entry.path, (path, entry.mode))
            if first[1] != entry.mode:
                other_doc, other = locate(first[0])
                problems.append(
                    doc.problem(
                        where,
                        f"{entry.path} is copied with mode {entry.mode} here and "
                        f"{first[1]} at {other_doc.where(other)}",
                        "one file has one mode: commit a copy for the other",
                    )
                )
                return
            destinations[entry.destination] = (path, entry)
            found.append(entry)

        for index, rel in enumerate(recipe.ca_certificates):
            add(("ca_certificates", index), self._certificate(rel))
        for index, repo in enumerate(recipe.repositories):
            if repo.signed_by:
                add(("repositories", index, "signed_by"), self._key(repo.signed_by, alpine=recipe.distro == "alpine"))
        user = recipe.user
        for index, entry in enumerate(recipe.files):
            data = self._bytes(entry.source)
            owner = f"{user.uid}:{user.gid}" if entry.owner == "user" else "0:0"
            add(
                ("files", index, "source"),
                data
                if isinstance(data, str)
                else InputFile(
                    kind="file",
                    path=entry.source,
                    sha256=sha256(data),
                    destination=entry.destination,
                    owner=owner,
                    mode=entry.mode,
                ),
            )
        if problems:
            raise RecipeError(f"{recipe.name}: committed files", tuple(problems))
        return tuple(found)

    def _bytes(self, rel: str) -> bytes | str:
        if rel not in self._read:
            self._read[rel] = read_committed(self.root, rel)
        return self._read[rel]

    def _certificate(self, rel: str) -> InputFile | str:
        data = self._bytes(rel)
        if isinstance(data, str):
            return data
        try:
            certs = certificates.load_pem(data)
        except certificates.CertificateError as exc:
            return f"{rel}: {exc}"
        stem = rel.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        infos = tuple(CertificateInfo(subject=c.subject, sha256=c.sha256, not_after=c.not_after) for c in certs)
        # update-ca-certificates only picks up files ending in .crt.
        return InputFile(
            kind="ca-certificate", path=rel, sha256=sha256(data), destination=f"{CA_DIR}/{stem}.crt", certificates=infos
        )

    def _key(self, rel: str, alpine: bool) -> InputFile | str:
        data = self._bytes(rel)
        if isinstance(data, str):
            return data
        name = rel.rsplit("/", 1)[-1]
        if alpine:
            if not (name.endswith(".pub") and data.lstrip().startswith(_PEM_PUBLIC)):
                return (
                    f"{rel} is not an apk public key: expected a PEM `PUBLIC KEY` in a file "
                    "ending in .rsa.pub, named as the repository signs with it"
                )
        else:
            armored = data.lstrip().startswith(_PGP_ARMOR)
            binary = bool(data) and data[0] in _PGP_PUBLIC_PACKETS
            if (name.endswith(".asc") and not armored) or (name.endswith(".gpg") and not binary):
                kind = "an armored OpenPGP public key" if name.endswith(".asc") else "a binary OpenPGP keyring"
                return (
                    f"{rel} is not {kind}; export it with `gpg --export "
                    f"{'--armor ' if name.endswith('.asc') else ''}KEYID > {rel}`"
                )
            if not name.endswith((".asc", ".gpg")):
                return f"{rel}: apt keys end in .asc (armored) or .gpg (binary); rename it"
        return InputFile(kind="repository-key", path=rel, sha256=sha256(data), destination=key_destination(rel, alpine))


def key_destination(rel: str, alpine: bool) -> str:
    """Where the repository key committed at `rel` lands in the image (and `signed-by=` points)."""
    return f"{APK_KEYS if alpine else APT_KEYRINGS}/{rel.rsplit('/', 1)[-1]}"


def read_committed(root: Path, rel: str) -> bytes | str:
    """The bytes of a committed file, or why it cannot be used (read again at build time)."""
    path = root / rel
    try:
        real = path.resolve(strict=True)
    except (FileNotFoundError, RuntimeError):
        return f"{rel} does not exist in the repository (commit it, or fix the path)"
    except NotADirectoryError:
        return f"{rel} goes through a file as if it were a folder; fix the path"
    except OSError as exc:
        return f"{rel} cannot be read ({exc.strerror})"
    if not real.is_relative_to(root.resolve()):
        return f"{rel} is a symlink out of the repository; commit the file itself"
    if not real.is_file():
        return f"{rel} is not a regular file"
    try:
        if real.stat().st_size > MAX_BYTES:
            return f"{rel} is larger than {MAX_BYTES // 1024} KiB; images take small configuration files"
        data = real.read_bytes()
    except OSError as exc:
        return f"{rel} cannot be read ({exc.strerror})"
    match = _PRIVATE.search(data)
    if match:
        return (
            f"{rel} holds a private key ({match.group(0).decode()}): never commit it; remove it "
            "from the repository and its history, and rotate it"
        )
    return data


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
