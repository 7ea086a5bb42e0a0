"""Allow-list patterns shared by the validators and the JSON Schemas: one copy of each.

Python matches them against the whole value (re.fullmatch: `^...$` with re.match would let a
final newline through); a JSON Schema matches anywhere unless anchored, hence `anchored`.
"""

from __future__ import annotations

import re

_PART = r"[A-Za-z0-9._@+-]+"
# The characters a path may hold here: no spaces, quotes, `$` or backslashes.
PATH_CHARS = re.compile(r"[A-Za-z0-9._@+/-]*")
# A path from the repository root: parts joined by single slashes, none empty.
RELATIVE_PATH = re.compile(f"{_PART}(?:/{_PART})*")
# An absolute path without //, a trailing / or an empty part ("/" itself is not one).
NORMAL_PATH = re.compile(f"/{_PART}(?:/{_PART})*")


def anchored(pattern: re.Pattern[str]) -> str:
    """`pattern` for a JSON Schema, where patterns match anywhere unless anchored."""
    return f"^(?:{pattern.pattern})$"
