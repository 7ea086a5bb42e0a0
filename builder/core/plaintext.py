"""Characters that have no business in a recipe value or a terminal line, and their escapes.

C0 and C1 controls move the cursor, recolour or retitle a terminal; bidi overrides and
isolates and zero-width characters make text read differently from what it is (Trojan
Source, CVE-2021-42574); line and paragraph separators and U+FEFF end or hide a line.
Recipes may not contain them, and every message writes them as visible escapes.
"""

from __future__ import annotations

import re

UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
# GitHub Actions reads a line starting with `::` (after leading blanks) as a workflow
# command, and `##[` anywhere in a line as a legacy one.
_COMMAND = re.compile(r"\A(\s*):(?=:)|##\[")


def first_unsafe(value: str) -> str | None:
    """The first character of `value` that no recipe value may hold, or None."""
    found = UNSAFE.search(value)
    return found.group() if found else None


def escape(text: str) -> str:
    """`text` with each unsafe character written as a visible escape (\\x1b, \\u202e)."""
    return UNSAFE.sub(_escape_char, text)


def line(text: str) -> str:
    """One line for a terminal or a CI log: escaped, and never read as a workflow command."""
    return _COMMAND.sub(_defuse, escape(text))


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _defuse(match: re.Match[str]) -> str:
    if match.group().startswith("#"):
        return "#\\x23["
    return f"{match.group(1)}\\x3a"
