"""Dockerfile text both ways: quoting values for the Dockerfile parser, and reading files back.

ENV and LABEL values are read by the Dockerfile parser's own word lexer, not by a shell. Inside
single quotes it takes every character literally (no `$` expansion, no escapes), so values are
written single-quoted; a single quote is written as `"'"` and a backslash as `\\` outside the
quotes, forms that both Docker's lexer and hadolint's parser read the same way (hadolint
misreads a backslash just before a closing quote). Exec forms are JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

_DIRECTIVE = re.compile(r"#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*")


def quote(value: str) -> str:
    parts: list[str] = []
    run: list[str] = []
    for char in value:
        if char in "'\\":
            if run:
                parts.append("'" + "".join(run) + "'")
                run = []
            parts.append('"\'"' if char == "'" else "\\\\")
        else:
            run.append(char)
    if run or not parts:
        parts.append("'" + "".join(run) + "'")
    text = "".join(parts)
    # A line that ends in the escape character continues onto the next one.
    return text + "''" if text.endswith("\\") else text


def exec_form(argv: Sequence[str]) -> str:
    return json.dumps(list(argv))


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str
    line: int  # 1-based line where the instruction starts


def parse(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined, as Docker's classic parser sees them."""
    lines = text.splitlines()
    escape = "\\"
    index = 0
    # Parser directives come first, before any comment, blank line or instruction.
    while index < len(lines):
        match = _DIRECTIVE.fullmatch(lines[index])
        if not match:
            break
        if match.group(1).lower() == "escape":
            escape = match.group(2)
        index += 1
    result: list[Instruction] = []
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        index += 1
        if not stripped or stripped.startswith("#"):
            continue
        start = index
        parts = []
        current = line.rstrip()
        while current.endswith(escape) and index <= len(lines):
            parts.append(current[: -len(escape)])
            # Comment and empty lines inside a continuation are dropped by the parser.
            while index < len(lines) and (not lines[index].strip() or lines[index].lstrip().startswith("#")):
                index += 1
            if index >= len(lines):
                current = ""
                break
            current = lines[index].rstrip()
            index += 1
        parts.append(current)
        joined = "".join(parts).strip()
        keyword, _, args = joined.partition(" ")
        result.append(Instruction(keyword.upper(), args.strip(), start))
    return result


def split_words(args: str) -> list[str]:
    """The words of an ENV or LABEL instruction, unquoted like the Dockerfile lexer does."""
    words: list[str] = []
    word: list[str] = []
    in_word = False
    i = 0
    while i < len(args):
        char = args[i]
        if char in " \t" and not in_word:
            i += 1
            continue
        if char in " \t":
            words.append("".join(word))
            word, in_word = [], False
            i += 1
            continue
        in_word = True
        if char == '"':
            i += 1
            while i < len(args) and args[i] != '"':
                if args[i] == "\\" and i + 1 < len(args) and args[i + 1] in '"$\\':
                    i += 1
                elif args[i] == "$":
                    raise ValueError("unescaped $ in double quotes would be expanded")
                word.append(args[i])
                i += 1
            if i >= len(args):
                raise ValueError("unterminated double quote")
            i += 1
            continue
        if char == "'":
            end = args.find("'", i + 1)
            if end < 0:
                raise ValueError("unterminated single quote")
            word.append(args[i + 1 : end])
            i = end + 1
            continue
        if char == "\\" and i + 1 < len(args):
            word.append(args[i + 1])
            i += 2
            continue
        if char == "$":
            raise ValueError("unescaped $ would be expanded")
        word.append(char)
        i += 1
    if in_word:
        words.append("".join(word))
    return words


def key_values(args: str) -> list[tuple[str, str]]:
    """`KEY="value" KEY2="value"` pairs of ENV or LABEL, unquoted."""
    pairs = []
    for word in split_words(args):
        key, sep, value = word.partition("=")
        if not sep:
            raise ValueError(f"{word!r} is not KEY=VALUE")
        pairs.append((key, value))
    return pairs


def json_array(args: str) -> list[str] | None:
    """An exec-form argument list, or None when the instruction uses the shell form."""
    try:
        value = json.loads(args)
    except json.JSONDecodeError:
        return None
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    return None
