"""A strict YAML reader that remembers where every value came from.

PyYAML's constructors turn `1.10` into 1.1 and `no` into False, accept duplicate keys
silently and expand aliases without bound. Here the document is composed into nodes and
converted by hand: scalars stay the text that was written (the model coerces plain ones
where a number or boolean is wanted; quoted ones are `Quoted`, never a boolean),
duplicate keys and merge keys are errors, alias expansion is bounded, and each value's line
and column are kept for error messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from builder.core.errors import Problem

MAX_BYTES = 256 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 32

Path_ = tuple[str | int, ...]

_Loader: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NULL_TAG = "tag:yaml.org,2002:null"
# C0 and C1 controls besides tab and line ends (YAML reads U+0085 as one: a line would move).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass
class Document:
    """A parsed YAML file: its data and the position of every path in it."""

    file: str
    data: Any
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path_) -> tuple[int | None, int | None]:
        """Line and column (1-based) of `path`, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while True:
            if probe in self.positions:
                return self.positions[probe]
            if not probe:
                return (None, None)
            probe = probe[:-1]

    def where(self, path: Path_) -> str:
        """`file:line` of `path`, for messages that name a second place."""
        line, _ = self.position(path)
        return f"{self.file}:{line}" if line else self.file

    def problem(self, path: Path_, message: str, hint: str = "") -> Problem:
        line, column = self.position(path)
        return Problem(self.file, line, column, format_path(path), message, hint)


class Quoted(str):
    """A scalar written quoted or as a block: text, never a boolean or number in disguise."""

    __slots__ = ()


# Where a value was written: its document and its path there.
Origin = tuple[Document, Path_]


class YamlProblems(Exception):
    """What is wrong with a file; `document` is what could still be read of it, when anything."""

    def __init__(self, problems: list[Problem], document: Document | None = None) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
        self.document = document


def format_path(path: Path_) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def decode(raw: bytes, file: str) -> str:
    """Check size and encoding before YAML sees the bytes."""
    if len(raw) > MAX_BYTES:
        raise YamlProblems(
            [
                Problem(
                    file,
                    None,
                    None,
                    "",
                    f"file is {len(raw)} bytes, over the {MAX_BYTES} byte limit",
                    "a recipe is a short file; split it or remove what is not needed",
                )
            ]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlProblems(
            [Problem(file, line, None, "", f"not valid UTF-8 (byte {exc.start})", "save the file as UTF-8")]
        ) from None
    bad = _CONTROL.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        raise YamlProblems(
            [
                Problem(
                    file,
                    line,
                    column,
                    "",
                    f"control character U+{ord(bad.group()):04X} in the file",
                    "recipes are plain text; remove binary content",
                )
            ]
        )
    return text.removeprefix("\ufeff")


def load(path: Path, display: str | None = None) -> Document:
    file = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise YamlProblems([Problem(file, None, None, "", f"cannot read: {exc.strerror}")]) from None
    return loads(raw, file)


def loads(raw: bytes, file: str) -> Document:
    text = decode(raw, file)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        tab = _tab_indent(text)
        if tab is not None:
            raise YamlProblems(
                [
                    Problem(
                        file,
                        *tab,
                        "",
                        "YAML syntax error: a tab indents this line",
                        "YAML indents with spaces only: replace the tab with spaces",
                    )
                ]
            ) from None
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        what = exc.problem or exc.context or "invalid YAML"
        raise YamlProblems(
            [
                Problem(
                    file, line, column, "", f"YAML syntax error: {what}", "check indentation and quoting near this line"
                )
            ]
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblems([Problem(file, None, None, "", f"YAML error: {exc}")]) from None
    doc = Document(file, None)
    if node is None:
        return doc
    converter = _Converter(doc)
    doc.data = converter.convert(node, (), 0)
    if converter.problems:
        # The rest of the file was read: the loader still reports its unknown fields.
        raise YamlProblems(converter.problems, doc)
    return doc


def _tab_indent(text: str) -> tuple[int, int] | None:
    """Line and column of the first tab in a line's indentation (YAML forbids them), or None."""
    for number, row in enumerate(text.splitlines(), 1):
        indent = row[: len(row) - len(row.lstrip(" \t"))]
        if "\t" in indent and row.strip():
            return number, indent.index("\t") + 1
    return None


class _Converter:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.count = 0
        self.problems: list[Problem] = []
        self.seen: set[int] = set()  # nodes converted: one met again came through an alias
        self.aliased = False

    def _mark(self, node: yaml.Node) -> tuple[int, int]:
        return (node.start_mark.line + 1, node.start_mark.column + 1)

    def _fail(self, node: yaml.Node, path: Path_, message: str, hint: str = "") -> None:
        line, column = self._mark(node)
        self.problems.append(Problem(self.doc.file, line, column, format_path(path), message, hint))

    def convert(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self.count += 1
        if id(node) in self.seen:
            self.aliased = True
        self.seen.add(id(node))
        if self.count > MAX_NODES:
            if self.aliased:
                raise YamlProblems(
                    [
                        Problem(
                            self.doc.file,
                            *self._mark(node),
                            format_path(path),
                            f"more than {MAX_NODES} values (alias expansion?)",
                            "do not use anchors and aliases to repeat large blocks",
                        )
                    ]
                )
            raise YamlProblems(
                [
                    Problem(
                        self.doc.file,
                        *self._mark(node),
                        format_path(path),
                        f"more than {MAX_NODES} values",
                        "a recipe holds what one image needs: list fewer packages, "
                        "or split it into recipes that build FROM each other",
                    )
                ]
            )
        if depth > MAX_DEPTH:
            raise YamlProblems(
                [Problem(self.doc.file, *self._mark(node), format_path(path), f"nested deeper than {MAX_DEPTH} levels")]
            )
        self.doc.positions.setdefault(path, self._mark(node))
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _NULL_TAG and not node.style:  # plain style: None or ""
                return None
            return Quoted(node.value) if node.style else str(node.value)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self._fail(key_node, path, "keys must be plain text")
                    continue
                key = str(key_node.value)
                if key == "<<" and key_node.tag == "tag:yaml.org,2002:merge":
                    self._fail(
                        key_node,
                        path,
                        "merge keys (<<) are not supported: a merge hides which "
                        "fields the recipe sets and lets one override another unseen",
                        "write the fields out",
                    )
                    continue
                if key in result:
                    first = self.doc.positions.get((*path, key), (None, None))
                    self._fail(
                        key_node, (*path, key), "duplicate key", f"it is already set on line {first[0]}; keep one"
                    )
                    continue
                self.doc.positions[(*path, key)] = self._mark(key_node)
                result[key] = self.convert(value_node, (*path, key), depth + 1)
            return result
        self._fail(node, path, "unsupported YAML node")  # pragma: no cover - composer only makes the three
        return None
