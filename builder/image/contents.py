"""Package sources and os-release, read from an image's files: apt (one-line and deb822
formats) and apk repositories."""

from __future__ import annotations

from debian.deb822 import Deb822

from builder.core.facts import AptSource, OsRelease


def parse_list(text: str) -> list[AptSource]:
    """`deb [options] URI SUITE COMPONENT...` lines; deb-src and comments are ignored."""
    found = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        words = line.split()[1:]
        if words and words[0].startswith("["):
            while words and not words[0].endswith("]"):
                words.pop(0)
            words = words[1:]
        if len(words) >= 2:
            found.append(AptSource(url=words[0], suite=words[1], components=tuple(words[2:])))
    return found


def parse_sources(text: str) -> list[AptSource]:
    """deb822 `.sources` stanzas (Types/URIs/Suites/Components), enabled deb types only."""
    found = []
    for para in Deb822.iter_paragraphs(text.splitlines(), use_apt_pkg=False):
        if "deb" not in para.get("Types", "").split() or para.get("Enabled", "yes") == "no":
            continue
        for url in para.get("URIs", "").split():
            for suite in para.get("Suites", "").split():
                found.append(AptSource(url=url, suite=suite, components=tuple(para.get("Components", "").split())))
    return found


def parse_apk_repositories(text: str) -> list[AptSource]:
    """/etc/apk/repositories: one repository URL a line; `@tag` pins and comments skipped."""
    found = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("@"):
            continue  # tagged repositories are only used for packages pinned to them
        if line.startswith(("http://", "https://")):
            found.append(AptSource(url=line.rstrip("/"), suite="", kind="apk"))
    return found


def parse_os_release(text: str) -> OsRelease:
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip('"').strip("'")
    return OsRelease(
        id=fields.get("ID", ""), version_id=fields.get("VERSION_ID", ""), codename=fields.get("VERSION_CODENAME", "")
    )
