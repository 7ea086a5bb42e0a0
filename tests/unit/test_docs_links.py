"""Every relative link in README.md and docs/ points at a file that exists, and at a heading in it."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\((?![a-z]+:)([^)#\s]*)(?:#([^)\s]+))?\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {slug(m[1]) for m in re.finditer(r"^#+ (.+)$", text, re.MULTILINE)}


def broken(page: Path, root: Path = REPO) -> list[str]:
    problems = []
    for target, anchor in LINK.findall(page.read_text(encoding="utf-8")):
        path = (page.parent / target).resolve() if target else page
        if not path.is_file():
            problems.append(f"{page.relative_to(root)}: {target}: no such file")
        elif anchor and anchor not in anchors(path):
            problems.append(f"{page.relative_to(root)}: {target}#{anchor}: no such heading")
    return problems


def test_links_resolve() -> None:
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    assert len(pages) > 5
    assert [p for page in pages for p in broken(page)] == []


def test_a_broken_link_is_caught(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "commands.md").write_text("# Commands\n\n## Exit codes\n", encoding="utf-8")
    page = tmp_path / "docs" / "hostile.md"
    page.write_text(
        "[a](commands.md#exit-codes) [b](nowhere.md) [c](commands.md#no-such) [d](#here) "
        "[e](#gone) [f](https://example.com/x.md)\n# Here\n",
        encoding="utf-8",
    )
    assert broken(page, tmp_path) == [
        "docs/hostile.md: nowhere.md: no such file",
        "docs/hostile.md: commands.md#no-such: no such heading",
        "docs/hostile.md: #gone: no such heading",
    ]
