"""Merge packages unpacked each in its own folder into a distroless staging root, path-checked.

Runs in the build stage of a distroless image (the rendered Dockerfile carries this file), on
the python3-minimal of any supported Debian or Ubuntu release: standard library `os`, `stat`
and `sys` only, and no quote or backslash characters, so each line fits in a shell string.

Every path is resolved inside the root the way the kernel would resolve it there, link by
link, so nothing a package ships is ever followed out of the root. Refused, with the package
and path named: device nodes, fifos and sockets, file capabilities, world-writable folders
without the sticky bit, and symlinks whose target leaves the root. Absolute symlink targets
become relative ones: the same file in the image, and one that the build stage itself can
follow without leaving the root.
"""

from __future__ import annotations

import os
import stat
import sys

MAX_LINKS = 40  # as the kernel: more links followed in one path means a loop
CAPABILITY = "security.capability"


class Refused(Exception):
    """A path of a package that cannot go into the root."""


class Broken(Refused):
    """A path through a file: nothing can be made there, and a link there leads nowhere."""


def shown(text: str) -> str:
    return text if text.isprintable() else ascii(text)


def components(path: str) -> list[str]:
    return [part for part in path.split("/") if part not in ("", ".")]


def resolve(root: str, parts: list[str], follow_last: bool) -> list[str]:
    """The real location of `parts` under `root`, as components; Refused if it leaves the root.

    Missing components are taken as they are: the path names something yet to be made.
    """
    done: list[str] = []
    todo = list(parts)
    links = 0
    while todo:
        part = todo.pop(0)
        if part == "..":
            if not done:
                raise Refused("leads out of the root")
            done.pop()
            continue
        here = os.path.join(root, *done, part)
        try:
            info = os.lstat(here)
        except FileNotFoundError:
            done.append(part)
            continue
        if stat.S_ISLNK(info.st_mode) and (todo or follow_last):
            links += 1
            if links > MAX_LINKS:
                raise Refused("has too many levels of symlinks")
            target = os.readlink(here)
            if target.startswith("/"):
                done = []
            todo = components(target) + todo
            continue
        if todo and not stat.S_ISDIR(info.st_mode) and not stat.S_ISLNK(info.st_mode):
            raise Broken("passes through " + "/" + "/".join([*done, part]) + ", which is not a folder")
        done.append(part)
    return done


def kind_refused(mode: int) -> str:
    """Why an entry of this mode cannot be staged, or an empty string."""
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device node"
    if stat.S_ISFIFO(mode):
        return "is a fifo"
    if stat.S_ISSOCK(mode):
        return "is a socket"
    if stat.S_ISDIR(mode) and mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
        return "is a world-writable folder without the sticky bit (mode " + format(stat.S_IMODE(mode), "04o") + ")"
    return ""


class Stager:
    def __init__(self, root: str) -> None:
        self.root = root
        self.problems: list[str] = []
        self.made_by: dict[str, str] = {}  # staged symlink path -> its package
        self.linked: dict[tuple[int, int], str] = {}  # an inode of the package -> where it was staged

    def refuse(self, package: str, path: str, why: str) -> None:
        self.problems.append("refused: package " + shown(package) + ": /" + shown(path) + " " + why)

    def stage(self, package: str, source: str) -> None:
        """Merge the folder `source` (one package unpacked) into the root."""
        self.linked = {}
        self._folder(package, source, "")

    def _folder(self, package: str, source: str, relative: str) -> None:
        for name in sorted(os.listdir(os.path.join(source, relative) if relative else source)):
            path = relative + "/" + name if relative else name
            try:
                self._entry(package, os.path.join(source, path), path)
            except Refused as refusal:
                self.refuse(package, path, str(refusal))
                continue
            except OSError as error:
                self.refuse(package, path, "cannot be staged: " + str(error.strerror))
                continue
            if os.path.isdir(os.path.join(source, path)) and not os.path.islink(os.path.join(source, path)):
                self._folder(package, source, path)

    def _entry(self, package: str, origin: str, path: str) -> None:
        info = os.lstat(origin)
        why = kind_refused(info.st_mode)
        if why:
            raise Refused(why)
        if not stat.S_ISLNK(info.st_mode) and CAPABILITY in attributes(origin):
            raise Refused("carries file capabilities (" + CAPABILITY + ")")
        parts = components(path)
        real = resolve(self.root, parts[:-1], follow_last=True) + parts[-1:]
        target = os.path.join(self.root, *real)
        existing = lstat_or_none(target)
        if stat.S_ISDIR(info.st_mode):
            if existing is not None and stat.S_ISLNK(existing.st_mode):
                followed = resolve(self.root, real, follow_last=True)
                if not os.path.isdir(os.path.join(self.root, *followed)):
                    raise Refused("is a folder where a symlink to something else is")
                return  # a link to a folder stays, as dpkg keeps it
            if existing is not None and not stat.S_ISDIR(existing.st_mode):
                raise Refused("is a folder where a file is")
            if existing is None:
                os.mkdir(target)
            os.chown(target, info.st_uid, info.st_gid, follow_symlinks=False)
            os.chmod(target, stat.S_IMODE(info.st_mode))
            return
        if existing is not None and stat.S_ISDIR(existing.st_mode):
            raise Refused("replaces a folder")
        if existing is not None:
            os.unlink(target)
        if stat.S_ISLNK(info.st_mode):
            self._symlink(package, os.readlink(origin), real, target)
            os.chown(target, info.st_uid, info.st_gid, follow_symlinks=False)
        else:
            self._file(origin, info, target)

    def _symlink(self, package: str, link: str, real: list[str], target: str) -> None:
        if link.startswith("/"):
            # The same file in the image; for the build stage, a link that stays in the root.
            link = os.path.relpath("/" + "/".join(components(link)), "/" + "/".join(real[:-1]))
        else:
            try:  # noqa: SIM105 - only os, stat and sys are sure to be in python3-minimal
                resolve(self.root, real[:-1] + components(link), follow_last=False)
            except Broken:
                pass  # dangling: harmless
        os.symlink(link, target)
        self.made_by["/".join(real)] = package

    def _file(self, origin: str, info: os.stat_result, target: str) -> None:
        first = self.linked.get((info.st_dev, info.st_ino))
        if first is not None:
            os.link(first, target, follow_symlinks=False)
            return
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        source = os.open(origin, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            out = os.open(target, flags, 0o600)
            try:
                while True:
                    chunk = os.read(source, 1 << 20)
                    if not chunk:
                        break
                    os.write(out, chunk)
                os.fchown(out, info.st_uid, info.st_gid)
                os.fchmod(out, stat.S_IMODE(info.st_mode))
            finally:
                os.close(out)
        finally:
            os.close(source)
        if info.st_nlink > 1:
            self.linked[(info.st_dev, info.st_ino)] = target

    def check_links(self) -> None:
        """Every staged symlink, now that all are there, still resolves inside the root."""
        for path, package in sorted(self.made_by.items()):
            try:
                resolve(self.root, components(path), follow_last=True)
            except Broken:
                continue  # dangling, as the kernel would see it: harmless
            except Refused as refusal:
                self.refuse(package, path, "is a symlink that " + str(refusal))


def attributes(path: str) -> list[str]:
    try:
        return os.listxattr(path, follow_symlinks=False)
    except OSError:  # a file system without extended attributes holds no capabilities
        return []


def lstat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def main(argv: list[str]) -> int:
    """stage.py ROOT UNPACKED: merge UNPACKED/PACKAGE for each package, in name order."""
    root, unpacked = argv[1], argv[2]
    stager = Stager(root)
    for package in sorted(os.listdir(unpacked)):
        stager.stage(package, os.path.join(unpacked, package))
    stager.check_links()
    if not stager.problems:
        return 0
    # One write, so that the engine reports the lines together, the count last.
    count = str(len(stager.problems))
    lines = ["staging " + problem for problem in stager.problems]
    lines.append("staging refused " + count + " path(s) of the packages above")
    sys.stderr.write(os.linesep.join(lines) + os.linesep)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
