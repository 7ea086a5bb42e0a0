"""Checks on an image's file system for what lets a process gain privileges or persist.

Facts come from the same export stream as the other checks (tar headers, with extended
attributes in pax records), so they hold for distroless images too: nothing runs inside.
Every path and account name here comes from the image, which may be hostile: messages show
them escaped.
"""

from __future__ import annotations

import struct
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from builder.core import plaintext

CAPABILITY_KEYS = ("SCHILY.xattr.security.capability", "LIBARCHIVE.xattr.security.capability")
ACCOUNT_FILES = ("etc/passwd", "etc/group", "etc/shadow", "etc/gshadow")
# Shared temporary folders of the FHS: sticky, so no user can replace another's files, and
# under the strict runtime profile they are read-only unless declared writable.
SHARED_TEMP = ("/var/tmp", "/var/lock", "/run/lock", "/dev/shm")  # noqa: S108
_CAPABILITIES = (
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
)
_SHOWN = 10


@dataclass(frozen=True)
class Entry:
    """A file-system entry someone other than root may own or write."""

    path: str
    mode: int
    uid: int
    gid: int
    is_dir: bool


@dataclass
class FileFacts:
    capabilities: dict[str, str] = field(default_factory=dict)  # path -> e.g. cap_net_raw+ep
    devices: list[str] = field(default_factory=list)  # "path (character device 1,3)"
    open_dirs: list[str] = field(default_factory=list)  # world-writable, no sticky bit
    account_links: list[str] = field(default_factory=list)  # "/etc/shadow is a symlink to ..."
    writable: list[Entry] = field(default_factory=list)  # not owned by root, or group/world-writable
    passwd: str | None = None
    group: str | None = None

    def note(self, path: str, member: tarfile.TarInfo, archive: tarfile.TarFile) -> None:
        """Record what the checks below need of one entry; `path` has no leading slash."""
        where = "/" + path
        if any(key in member.pax_headers for key in CAPABILITY_KEYS):
            self.capabilities[where] = describe_capability(member.pax_headers)
        if member.ischr() or member.isblk():
            kind = "character" if member.ischr() else "block"
            self.devices.append(f"{shown(where)} ({kind} device {member.devmajor},{member.devminor})")
        if member.isdir() and member.mode & 0o002 and not member.mode & 0o1000:
            self.open_dirs.append(f"{shown(where)} ({member.mode & 0o7777:04o})")
        if path in ACCOUNT_FILES and (member.issym() or member.islnk()):
            how = "symlink" if member.issym() else "hard link"
            self.account_links.append(f"{where} is a {how} to {shown(member.linkname)}")
        if not member.issym() and (member.uid or member.gid or member.mode & 0o022):
            self.writable.append(Entry(where, member.mode, member.uid, member.gid, member.isdir()))
        if path in ("etc/passwd", "etc/group") and member.isfile():
            handle = archive.extractfile(member)
            text = handle.read().decode("utf-8", errors="replace") if handle is not None else ""
            setattr(self, path.removeprefix("etc/"), text)


def shown(text: str) -> str:
    """Text from the image as it may be printed: control, bidi and invisible characters escaped."""
    return plaintext.escape(text)


def describe_capability(pax: Mapping[str, str]) -> str:
    """The capability set of a `security.capability` value, as getcap shows it."""
    raw = pax.get(CAPABILITY_KEYS[0])
    data = raw.encode("utf-8", "surrogateescape") if raw is not None else b""
    if len(data) < 20:
        return "capabilities (undecoded)"
    magic, permitted_lo, inheritable_lo, permitted_hi, inheritable_hi = struct.unpack("<5I", data[:20])
    permitted = permitted_lo | permitted_hi << 32
    inheritable = inheritable_lo | inheritable_hi << 32
    names = [f"cap_{name}" for bit, name in enumerate(_CAPABILITIES) if (permitted | inheritable) >> bit & 1]
    flags = ("e" if magic & 1 else "") + ("i" if inheritable else "") + ("p" if permitted else "")
    return f"{','.join(names) or 'no capabilities'}+{flags}"


@dataclass(frozen=True)
class FileCheck:
    id: str
    title: str
    problems: tuple[str, ...]


def findings(
    files: FileFacts,
    *,
    user: str,
    home: str,
    capabilities_allow: Iterable[str],
    user_owned: Iterable[str] = (),
    writable_paths: Iterable[str] = (),
    extra_groups: Iterable[int] = (),
) -> list[FileCheck]:
    """IC010-IC016, in order; `user_owned`: destinations the recipe gives the runtime user;
    `writable_paths`: the runtime profile's; `extra_groups`: groups it may also run with (gid 0
    for an arbitrary uid)."""
    allowed = set(capabilities_allow)
    accounts = _rows(files.passwd)
    return [
        FileCheck(
            "IC010",
            "no file capabilities outside hardening.capabilities_allow",
            tuple(
                f"{shown(path)} has {caps}" for path, caps in sorted(files.capabilities.items()) if path not in allowed
            ),
        ),
        FileCheck("IC011", "no device nodes", tuple(sorted(files.devices))),
        FileCheck("IC012", "no world-writable folder without the sticky bit", tuple(sorted(files.open_dirs))),
        FileCheck(
            "IC013",
            "no account with uid 0 but root",
            tuple(
                f"/etc/passwd: {shown(name)} has uid 0"
                for name, _, uid, _ in accounts
                if uid.isdigit() and int(uid) == 0 and name != "root"
            ),
        ),
        FileCheck("IC014", "no password in /etc/passwd", tuple(_passwd_passwords(accounts))),
        FileCheck("IC015", "account files are regular files", tuple(sorted(files.account_links))),
        FileCheck(
            "IC016",
            "the runtime user writes only its home, /tmp and declared writable paths",
            tuple(
                _user_writable(
                    files,
                    user,
                    (home, "/tmp", *writable_paths),  # noqa: S108
                    set(user_owned),
                    set(extra_groups),
                )
            ),
        ),
    ]


def listing(problems: tuple[str, ...]) -> str:
    shown_part = "; ".join(problems[:_SHOWN])
    return shown_part + (f"; and {len(problems) - _SHOWN} more" if len(problems) > _SHOWN else "")


def _rows(text: str | None) -> list[tuple[str, str, str, str]]:
    """The first four fields of each passwd or group line (name, password, id, group or members)."""
    rows = []
    for line in (text or "").splitlines():
        parts = line.split(":")
        if len(parts) >= 3 and not line.startswith("#"):
            rows.append((parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else ""))
    return rows


def _passwd_passwords(accounts: list[tuple[str, str, str, str]]) -> list[str]:
    problems = []
    for name, field_2, _, _ in accounts:
        # `x`: the password is in /etc/shadow; `*` or `!`: the account cannot log in with one.
        if not field_2:
            problems.append(f"/etc/passwd: {shown(name)} has an empty password field (no password)")
        elif field_2 != "x" and not field_2.startswith(("*", "!")):
            problems.append(f"/etc/passwd: {shown(name)} has a password hash in the second field")
    return problems


def _runtime_ids(user: str, files: FileFacts) -> tuple[int, set[int]] | None:
    """The runtime user's uid and groups (primary and supplementary), as the engine sets them."""
    name_or_uid, _, group = user.partition(":")
    name_or_uid = name_or_uid or "0"  # no user: root
    by_name = {name: (uid, gid) for name, _, uid, gid in _rows(files.passwd)}
    by_uid = {uid: name for name, (uid, _) in reversed(by_name.items())}
    if name_or_uid.isdigit():
        uid, name = name_or_uid, by_uid.get(name_or_uid, "")
    elif name_or_uid in by_name:
        uid, name = by_name[name_or_uid][0], name_or_uid
    else:
        return None
    groups = {gname: (gid, members) for gname, _, gid, members in _rows(files.group)}
    if group.isdigit():
        primary = group
    elif group:
        if group not in groups:
            return None
        primary = groups[group][0]
    else:
        primary = by_name.get(name, ("", ""))[1]
    supplementary = {gid for gid, members in groups.values() if name and name in members.split(",")}
    ids = {int(g) for g in (primary, *supplementary) if g.isdigit()}
    return (int(uid), ids) if uid.isdigit() else None


def _user_writable(
    files: FileFacts, user: str, roots: tuple[str, ...], user_owned: set[str], extra_groups: set[int]
) -> list[str]:
    ids = _runtime_ids(user, files)
    if ids is None:
        return [f"cannot tell who the runtime user {shown(user)} is from /etc/passwd and /etc/group"]
    uid, groups = ids
    groups |= extra_groups
    if uid == 0:
        return ["the runtime user is root, who can write everything"]
    problems = []
    for entry in files.writable:
        if entry.path in user_owned or any(
            entry.path == r or entry.path.startswith(r.rstrip("/") + "/") for r in roots
        ):
            continue
        if entry.path in SHARED_TEMP and entry.is_dir and entry.mode & 0o1000:
            continue
        what = "folder" if entry.is_dir else "file"
        if entry.uid == uid:
            problems.append(f"{shown(entry.path)} ({what}) is owned by the runtime user {uid}")
        elif entry.gid in groups and entry.mode & 0o020:
            problems.append(
                f"{shown(entry.path)} ({what}, {entry.mode & 0o7777:04o}) is writable by group "
                f"{entry.gid} of the runtime user"
            )
        elif entry.mode & 0o002:
            problems.append(f"{shown(entry.path)} ({what}, {entry.mode & 0o7777:04o}) is writable by everyone")
    return sorted(problems)
