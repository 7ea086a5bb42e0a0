"""Alpine package version ordering, as apk-tools compares versions (`apk version -t`).

    version := NUMBER ("." NUMBER)* [LETTER] ("_" SUFFIX [NUMBER])* ["-r" NUMBER]

Numbers after the first that start with 0 compare as fractions (as strings); suffixes
alpha < beta < pre < rc < (none) < cvs < svn < git < hg < p; the -rN revision last.
No maintained Python library implements these rules, so they are written out here.
"""

from __future__ import annotations

import re
from typing import Any

_VERSION = re.compile(r"(\d+(?:\.\d+)*)([a-z]?)((?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)\d*)*)(?:-r(\d+))?")
_SUFFIX = re.compile(r"_(alpha|beta|pre|rc|cvs|svn|git|hg|p)(\d*)")
_RANK = {"alpha": 0, "beta": 1, "pre": 2, "rc": 3, "": 4, "cvs": 5, "svn": 6, "git": 7, "hg": 8, "p": 9}


def _parse(version: str) -> tuple[list[str], str, list[tuple[str, int]], int]:
    match = _VERSION.fullmatch(version)
    if match is None:
        raise ValueError(f"{version!r} is not an apk version")
    suffixes = [(name, int(number or 0)) for name, number in _SUFFIX.findall(match.group(3))]
    return match.group(1).split("."), match.group(2), suffixes, int(match.group(4) or 0)


def _sign(a: Any, b: Any) -> int:
    return int(a > b) - int(a < b)


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as a is older than, the same as, or newer than b."""
    nums_a, letter_a, suffixes_a, rev_a = _parse(a)
    nums_b, letter_b, suffixes_b, rev_b = _parse(b)
    for index in range(max(len(nums_a), len(nums_b))):
        if index >= len(nums_a):
            return -1
        if index >= len(nums_b):
            return 1
        x, y = nums_a[index], nums_b[index]
        fractional = index > 0 and (x.startswith("0") or y.startswith("0"))
        result = _sign(x, y) if fractional else _sign(int(x), int(y))
        if result:
            return result
    if letter_a != letter_b:
        return _sign(letter_a, letter_b)
    for index in range(max(len(suffixes_a), len(suffixes_b))):
        sa = suffixes_a[index] if index < len(suffixes_a) else ("", 0)
        sb = suffixes_b[index] if index < len(suffixes_b) else ("", 0)
        result = _sign((_RANK[sa[0]], sa[1]), (_RANK[sb[0]], sb[1]))
        if result:
            return result
    return _sign(rev_a, rev_b)
