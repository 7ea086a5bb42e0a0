"""File writes that never leave half a file behind."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write to a temporary file beside `path`, fsync it, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_many_atomic(files: dict[Path, str]) -> None:
    """Write several regenerable files so that each is either old or new, never partial.

    All contents go to temporary files first, then each is renamed into place; a failure
    while staging removes the temporary files and changes nothing. There is no fsync: these
    files are rendered from committed recipes and can be made again, and a sync per file
    (or a global one) would dominate the cost of rendering a large channel. Files that
    cannot be remade (locks) go through `write_atomic`, which syncs.
    """
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in files.items():
            if not path.parent.is_dir():
                path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((tmp, path))
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode("utf-8"))
            os.chmod(tmp, 0o644)
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)


@dataclass(frozen=True)
class Writes:
    """What a regeneration did: the files it wrote and those already up to date."""

    written: tuple[Path, ...] = ()
    unchanged: tuple[Path, ...] = ()

    def __add__(self, other: Writes) -> Writes:
        return Writes(self.written + other.written, self.unchanged + other.unchanged)


def write_changed(files: dict[Path, str]) -> Writes:
    """`write_many_atomic` for the files whose text differs from what is there (untouched: same mtime)."""
    changed = {path: text for path, text in files.items() if read_if_exists(path) != text}
    write_many_atomic(changed)
    return Writes(tuple(sorted(changed)), tuple(sorted(set(files) - set(changed))))


def read_if_exists(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
