"""Hostile .deb files and images, made byte by byte: what dpkg-deb --build would never produce.

A .deb is an ar archive of `debian-binary`, `control.tar.gz` and `data.tar`; here `data.tar` is
written with tarfile, so it can hold device nodes, fifos, links out of the root, any mode and
file capabilities (a pax `SCHILY.xattr.security.capability` record, as GNU tar --xattrs writes).
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from tests.support.aptrepo import AptRepo

# cap_net_raw permitted and effective: what `setcap cap_net_raw+ep FILE` writes.
NET_RAW = bytes.fromhex("0100000200200000000000000000000000000000")
CAPABILITY_KEY = "SCHILY.xattr.security.capability"
EPOCH = 1767225600


@dataclass(frozen=True)
class Member:
    """One entry of a package's or an image layer's file system."""

    path: str
    kind: bytes = tarfile.REGTYPE
    mode: int = 0o644
    data: bytes = b""
    link: str = ""
    device: tuple[int, int] = (0, 0)
    capability: bytes | None = None
    uid: int = 0


def file_tree(members: list[Member]) -> bytes:
    """A tar archive of `members`, their parent folders added (0755, root)."""
    folders = sorted({"/".join(m.path.split("/")[:i]) for m in members for i in range(1, m.path.count("/") + 1)})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for folder in folders:
            if folder not in {m.path for m in members}:
                tar.addfile(_info(Member(folder, tarfile.DIRTYPE, 0o755)))
        for member in members:
            tar.addfile(_info(member), io.BytesIO(member.data) if member.kind == tarfile.REGTYPE else None)
    return buffer.getvalue()


def _info(member: Member) -> tarfile.TarInfo:
    info = tarfile.TarInfo("./" + member.path)
    info.type, info.mode, info.linkname, info.mtime = member.kind, member.mode, member.link, EPOCH
    info.uid = member.uid
    info.uname = info.gname = "root" if member.uid == 0 else ""
    info.devmajor, info.devminor = member.device
    info.size = len(member.data) if member.kind == tarfile.REGTYPE else 0
    if member.capability is not None:
        info.pax_headers = {CAPABILITY_KEY: member.capability.decode("latin-1")}
    return info


def _ar(members: list[tuple[str, bytes]]) -> bytes:
    out = [b"!<arch>\n"]
    for name, data in members:
        header = f"{name:<16}{EPOCH:<12}{0:<6}{0:<6}{0o100644:<8o}{len(data):<10}`\n".encode()
        out += [header, data, b"\n" if len(data) % 2 else b""]
    return b"".join(out)


def add_deb(repo: AptRepo, name: str, members: list[Member], version: str = "1.0-1") -> Path:
    """Write NAME_VERSION_all.deb holding `members` into the repository's pool; `publish()` indexes it."""
    control = (
        f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: Tests <tests@builder.invalid>\n"
        f"Installed-Size: 1\nSection: misc\nPriority: optional\nDescription: hostile {name}\n test fixture\n"
    )
    control_tar = io.BytesIO()
    with tarfile.open(fileobj=control_tar, mode="w:gz") as tar:
        info = tarfile.TarInfo("./control")
        info.size, info.mtime = len(control), EPOCH
        tar.addfile(info, io.BytesIO(control.encode()))
    deb = _ar(
        [("debian-binary", b"2.0\n"), ("control.tar.gz", control_tar.getvalue()), ("data.tar", file_tree(members))]
    )
    target = repo.root / "pool" / repo.component / name[0] / name / f"{name}_{version}_all.deb"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(deb)
    return target
