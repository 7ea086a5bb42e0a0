"""The channel's Atom feeds: feed.xml (every release, newest first) and security.xml (the releases
that fix CVEs). Each entry gives the version, the digest, the packages changed and the CVE ids, linked
to the distribution's tracker.

Entry ids are `urn:uuid:` names derived from repository and digest: stable across runs, unique per
release, valid IRIs whatever the channel's names. Releases without a date are left out: Atom needs
an `updated` time for each entry.
"""

from __future__ import annotations

import uuid

import jinja2

from builder.release.site_data import ImageLine, ReleaseView

FEEDS = {"feed.xml": "Releases", "security.xml": "Security releases"}


def entry_id(repository: str, digest: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{repository}@{digest}')}"


def timestamp(date: str) -> str:
    return f"{date}T00:00:00Z"


def entries(lines: tuple[ImageLine, ...], security: bool) -> list[tuple[ImageLine, ReleaseView]]:
    """Dated releases, newest first (ties by image id, then version, newest first)."""
    found = [
        (line, release)
        for line in lines
        for release in line.releases
        if release.date and (release.cves or not security)
    ]
    found.sort(key=lambda item: (item[0].id, item[1].version))
    found.sort(key=lambda item: item[1].date, reverse=True)
    return found


def render(lines: tuple[ImageLine, ...], channel: str, template: jinja2.Template) -> dict[str, str]:
    """Both feeds by file name; `template` is feed.xml.j2 from the site's environment (autoescape on)."""
    feeds = {}
    for name, title in FEEDS.items():
        items = entries(lines, security=name == "security.xml")
        updated = timestamp(items[0][1].date) if items else "1970-01-01T00:00:00Z"
        feeds[name] = template.render(
            name=name,
            title=f"{title} of {channel}",
            channel=channel,
            updated=updated,
            feed_id=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{channel}/{name}')}",
            items=[
                {
                    "line": line,
                    "release": release,
                    "id": entry_id(line.repository, release.digest),
                    "updated": timestamp(release.date),
                }
                for line, release in items
            ],
        )
    return feeds
