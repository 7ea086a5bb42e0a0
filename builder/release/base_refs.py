"""The base images a Dockerfile's FROM lines name, with build arguments' defaults followed.

Docker's scoping rule: only an ARG declared before the first FROM can be used in a FROM, so those
(and no later ones) are followed, and only into a FROM that is the whole argument (`$BASE`, `${BASE}`).
The text a fix rewrites is where the reference was written: the ARG's default, else the FROM itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from builder.dockerfile import syntax

_VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class BaseRef:
    line: int  # the FROM's line
    text: str  # the reference, as the FROM resolves it
    arg: str | None  # the build argument it came through, if any
    written_at: int  # the line where `text` is written (the ARG's, else the FROM's)


def base_refs(text: str) -> list[BaseRef]:
    """Each FROM's base, resolved through the global ARGs' defaults (one without a default stays as written)."""
    defaults: dict[str, tuple[str, int] | None] = {}  # None: a default we cannot know (it is not plain text)
    seen_from = False
    found = []
    for inst in syntax.parse(text):
        if inst.keyword == "ARG" and not seen_from:
            defaults.update(
                {name: None if value is None else (value, inst.line) for name, value in _arg_defaults(inst.args)}
            )
        if inst.keyword != "FROM":
            continue
        seen_from = True
        words = [w for w in inst.args.split() if not w.startswith("--")]
        if not words:
            continue
        variable = _VARIABLE.fullmatch(words[0])
        name = variable and (variable["braced"] or variable["plain"])
        known = defaults.get(name) if name else None
        if name and known:
            found.append(BaseRef(inst.line, known[0], name, known[1]))
        elif not name:
            found.append(BaseRef(inst.line, words[0], None, inst.line))
    return found


def _arg_defaults(args: str) -> list[tuple[str, str | None]]:
    """(name, default) of each `NAME=value` an ARG declares. When the words expand something (`$(...)`,
    `$OTHER`) the defaults are unknown (None): an earlier default of the same name no longer holds."""
    try:
        words = syntax.split_words(args)
    except ValueError:
        names = (word.partition("=")[0] for word in args.split())
        return [(name, None) for name in names if _NAME.fullmatch(name)]
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        name, equals, value = word.partition("=")
        if equals and _NAME.fullmatch(name):
            pairs.append((name, value))
    return pairs
