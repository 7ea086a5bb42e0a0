"""The distroless merge on real folders: what it stages, what it refuses, and that it never leaves the root."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from builder.dockerfile import staging
from builder.recipe import distroless


def unpacked(where: Path, package: str, tree: dict[str, str | bytes | int]) -> Path:
    """A package unpacked in its own folder: str values are symlink targets, bytes file contents,
    ints folder modes."""
    folder = where / "unpack" / package
    folder.mkdir(parents=True)
    for path, value in tree.items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(value, str):
            target.symlink_to(value)
        elif isinstance(value, bytes):
            target.write_bytes(value)
        else:
            target.mkdir(exist_ok=True)
            target.chmod(value)
    return folder


@pytest.fixture
def root(tmp_path: Path) -> Path:
    staged = tmp_path / "staging"
    (staged / "usr" / "bin").mkdir(parents=True)
    (staged / "bin").symlink_to("usr/bin")  # merged /usr, as the template makes it
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "ca.crt").write_bytes(b"the build stage's own file\n")
    return staged


def run(tmp_path: Path, root: Path) -> list[str]:
    stager = staging.Stager(str(root))
    for package in sorted(os.listdir(tmp_path / "unpack")):
        stager.stage(package, str(tmp_path / "unpack" / package))
    stager.check_links()
    return stager.problems


def snapshot(path: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_files_links_and_merged_usr_are_staged(tmp_path: Path, root: Path) -> None:
    unpacked(
        tmp_path,
        "a-libc",
        {
            "bin/true": b"#!true\n",
            "usr/lib/ssl/certs": "/etc/ssl/certs",
            "etc/ssl/certs/ca.pem": b"pem\n",
            "usr/bin/python3": "python3.11",
        },
    )
    unpacked(tmp_path, "b-tool", {"usr/lib/ssl/certs/extra.pem": b"extra\n"})
    assert run(tmp_path, root) == []
    assert (root / "usr" / "bin" / "true").read_bytes() == b"#!true\n"  # through bin -> usr/bin
    assert os.readlink(root / "usr" / "lib" / "ssl" / "certs") == "../../../etc/ssl/certs"
    assert (root / "etc" / "ssl" / "certs" / "extra.pem").read_bytes() == b"extra\n"
    assert os.readlink(root / "usr" / "bin" / "python3") == "python3.11"


def test_a_later_package_cannot_write_through_an_earlier_link(tmp_path: Path, root: Path) -> None:
    before = snapshot(tmp_path / "outside")
    escape = os.path.relpath(tmp_path / "outside", root / "usr" / "lib")
    unpacked(tmp_path, "a-evil", {"usr/lib/x": escape, "usr/lib/y": "/../../../.."})
    unpacked(tmp_path, "b-evil", {"usr/lib/x/ca.crt": b"replaced\n", "usr/lib/y/ca.crt": b"replaced\n"})
    assert run(tmp_path, root) == ["refused: package a-evil: /usr/lib/x leads out of the root"]
    assert snapshot(tmp_path / "outside") == before
    assert (root / "usr" / "lib" / "x" / "ca.crt").read_bytes() == b"replaced\n"  # a folder of b-evil
    assert (root / "ca.crt").read_bytes() == b"replaced\n"  # y -> / of the root, in the image as in dpkg


def test_links_that_leave_the_root_only_together_are_refused(tmp_path: Path, root: Path) -> None:
    unpacked(tmp_path, "a", {"usr/s": "r/../.."})  # inside while r is missing
    unpacked(tmp_path, "b", {"usr/r": "."})  # now usr/s is /usr/../.., above the root
    unpacked(tmp_path, "c", {"here": ".", "up": "here/.."})
    assert run(tmp_path, root) == [
        "refused: package c: /up leads out of the root",
        "refused: package a: /usr/s is a symlink that leads out of the root",
    ]


@pytest.mark.parametrize(
    ("tree", "problem"),
    [
        ({"srv/drop": 0o777}, "/srv/drop is a world-writable folder without the sticky bit (mode 0777)"),
        ({"usr/bin": b"file\n"}, "/usr/bin replaces a folder"),
        ({"usr/bin/true/x": b"x"}, "/usr/bin/true is a folder where a file is"),
        ({"loop": "loop", "loop/x": b""}, "/loop has too many levels of symlinks"),
    ],
)
def test_refusals_name_the_package_and_path(
    tmp_path: Path, root: Path, tree: dict[str, str | bytes | int], problem: str
) -> None:
    (root / "usr" / "bin" / "true").write_bytes(b"")
    if "loop" in tree:
        unpacked(tmp_path, "a", {"loop": "loop"})
        unpacked(tmp_path, "b", {"loop/x": b""})
        assert run(tmp_path, root)[0] == "refused: package b: " + problem
        return
    unpacked(tmp_path, "hostile", tree)
    assert run(tmp_path, root) == ["refused: package hostile: " + problem]


def test_a_sticky_world_writable_folder_is_staged(tmp_path: Path, root: Path) -> None:
    unpacked(tmp_path, "tmp", {"var/tmp": 0o1777})
    assert run(tmp_path, root) == []
    assert (root / "var" / "tmp").stat().st_mode & 0o7777 == 0o1777


def test_fifos_and_sockets_are_refused(tmp_path: Path, root: Path) -> None:
    folder = unpacked(tmp_path, "special", {"run": 0o755})
    os.mkfifo(folder / "run" / "pipe")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(folder / "run" / "sock"))
        assert run(tmp_path, root) == [
            "refused: package special: /run/pipe is a fifo",
            "refused: package special: /run/sock is a socket",
        ]
    assert sorted(os.listdir(root / "run")) == []


def test_hostile_names_are_escaped(tmp_path: Path, root: Path) -> None:
    unpacked(tmp_path, "evil", {"srv/\x1b[2J\nok": 0o777})
    assert run(tmp_path, root) == [
        "refused: package evil: /'srv/\\x1b[2J\\nok' is a world-writable folder without the sticky bit (mode 0777)"
    ]


def test_the_dockerfile_can_carry_the_script() -> None:
    lines = distroless.stage_script()
    assert lines[0].startswith('"""Merge packages')
    assert not any("'" in line or "\\" in line for line in lines)


def test_modes_and_hard_links_are_kept(tmp_path: Path, root: Path) -> None:
    folder = unpacked(tmp_path, "tool", {"usr/bin/tool": b"\x7fELF", "etc/tool.conf": b"conf\n"})
    (folder / "usr" / "bin" / "tool").chmod(0o4755)  # stripped later, unless allow-listed
    os.link(folder / "usr" / "bin" / "tool", folder / "usr" / "bin" / "tool-alias")
    assert run(tmp_path, root) == []
    tool = (root / "usr" / "bin" / "tool").stat()
    assert tool.st_mode & 0o7777 == 0o4755
    assert (root / "usr" / "bin" / "tool-alias").stat().st_ino == tool.st_ino
    assert (root / "etc" / "tool.conf").stat().st_mode & 0o7777 == 0o644


def test_file_capabilities_are_refused(tmp_path: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = unpacked(tmp_path, "pinger", {"usr/bin/ping": b"\x7fELF"})
    capable = str(folder / "usr" / "bin" / "ping")
    monkeypatch.setattr(
        os,
        "listxattr",
        lambda path, follow_symlinks=True: (  # noqa: ARG005
            ["security.capability"] if path == capable else []
        ),
    )
    assert run(tmp_path, root) == [
        "refused: package pinger: /usr/bin/ping carries file capabilities (security.capability)"
    ]
    assert not (root / "usr" / "bin" / "ping").exists()


def test_a_link_through_a_file_is_dangling_not_refused(tmp_path: Path, root: Path) -> None:
    unpacked(tmp_path, "odd", {"usr/bin/true": b"", "usr/bin/odd": "true/x", "usr/bin/zz": "true/x"})
    assert run(tmp_path, root) == []
    assert os.readlink(root / "usr" / "bin" / "zz") == "true/x"
