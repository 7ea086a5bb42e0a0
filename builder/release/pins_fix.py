"""`builder check-pins --fix`: rewrite pins, only to digests the registry has, all files or none.

Every file's new text is made first (a pin that cannot be located exactly once stops it), then every
proposed digest is looked up in the registry (HEAD of the manifest by digest): a catalog that names a
digest the registry lacks stops it too, so no Dockerfile gets a pin that does not pull. Only then is
each file written, atomically.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from builder.core import reference as imageref
from builder.core.errors import CatalogMismatchError, Problem, UsageError
from builder.core.files import write_atomic
from builder.release.pins import Pin

Exists = Callable[[str], bool]  # REPOSITORY@DIGEST -> whether the registry has that manifest
_MISMATCH_HINT = (
    "nothing was written; the catalog and the registry disagree: retry once the channel's release "
    "is pushed, or tell its maintainers"
)


def fix(pins: list[Pin], exists: Exists) -> list[Path]:
    """Rewrite each pin that has a replacement; the files changed. CatalogMismatchError, nothing written,
    when the registry lacks a proposed digest."""
    chosen = [pin for pin in pins if pin.replacement]
    texts = {
        path: _rewritten(path, [pin for pin in chosen if pin.file == path])
        for path in dict.fromkeys(pin.file for pin in chosen)
    }
    problems = []
    checked: dict[str, bool] = {}
    for pin in chosen:
        ref = imageref.parse(pin.replacement or "")
        by_digest = f"{ref.repository}@{ref.digest}"
        if by_digest not in checked:
            checked[by_digest] = exists(by_digest)
        if not checked[by_digest]:
            problems.append(
                Problem(
                    str(pin.file),
                    pin.written_at,
                    None,
                    pin.reference,
                    f"the catalog proposes {pin.replacement}, but the registry has no manifest {ref.digest}",
                    _MISMATCH_HINT,
                )
            )
    if problems:
        raise CatalogMismatchError("the catalog names digests the registry does not have", tuple(problems))
    for path, text in texts.items():
        write_atomic(path, text)
    return sorted(texts)


def registry_exists() -> Exists:
    """A lookup in the registries themselves, with the Docker config's credentials."""
    from builder.upstream.registry import RegistryClient, docker_config_credentials  # noqa: PLC0415 (requests)
    from builder.upstream.registry_errors import RegistryNotFound  # noqa: PLC0415

    client = RegistryClient(docker_config_credentials())

    def exists(reference: str) -> bool:
        try:
            return client.digest(reference) == imageref.parse(reference).digest
        except RegistryNotFound:
            return False

    return exists


def _rewritten(path: Path, pins: list[Pin]) -> str:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    done = set()
    for pin in pins:
        if (pin.written_at, pin.reference) in done:  # one ARG default behind several FROM lines
            continue
        done.add((pin.written_at, pin.reference))
        token = re.compile(r"(?<![^\s=\"'])" + re.escape(pin.reference) + r"(?![^\s\"'])")
        hits = [(i, match) for i in _instruction_lines(lines, pin.written_at - 1) for match in token.finditer(lines[i])]
        if len(hits) != 1:
            raise UsageError(
                f"{path}:{pin.written_at}: {pin.reference}: found {len(hits)} times in the "
                f"instruction, so not rewritten (nothing was written); set it to "
                f"{pin.replacement} by hand"
            )
        i, match = hits[0]
        lines[i] = lines[i][: match.start()] + (pin.replacement or "") + lines[i][match.end() :]
    return "".join(lines)


def _instruction_lines(lines: list[str], start: int) -> list[int]:
    """The indexes of an instruction's lines: continuations, without the comments and blanks inside them."""
    found = []
    index = start
    while index < len(lines):
        found.append(index)
        if not lines[index].rstrip().endswith("\\"):
            break
        index += 1
        while index < len(lines) and (not lines[index].strip() or lines[index].lstrip().startswith("#")):
            index += 1
    return found
