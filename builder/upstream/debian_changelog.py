"""What a newer package fixes: its changelog entries since the locked version, with CVE ids.

The changelog is read from the new package itself (`changelog.Debian.gz` inside the .deb
from the pool), so the answer holds for any repository, mirrored or internal. Results are
cached on disk by package and version: a published .deb never changes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import requests
from debian.changelog import Changelog
from debian.debfile import DebError, DebFile
from debian.debian_support import Version

from builder.core.errors import WatchError
from builder.core.files import write_atomic
from builder.upstream.apt_index import Entry

CVE = re.compile(r"\bCVE-\d{4}-\d{4,}\b")
ADVISORY = re.compile(r"\b(?:DSA|DLA)-\d+(?:-\d+)?\b")
MAX_DEB = 512 * 1024 * 1024


@dataclass(frozen=True)
class ChangelogEntry:
    version: str
    cves: tuple[str, ...]
    advisories: tuple[str, ...]
    summary: str  # the entry's first change line, for people


def fixes_since(changelog_text: str, locked: str) -> list[ChangelogEntry]:
    """Entries newer than `locked`, newest first, with the CVE and DSA/DLA ids they name."""
    try:
        since = Version(locked)
    except ValueError:
        raise WatchError(f"unparsable locked version {locked!r}") from None
    changes = []
    for block in Changelog(changelog_text, strict=False):
        if block.version is None or Version(str(block.version)) <= since:
            break
        text = "\n".join(block.changes())
        first = next((line.strip(" *") for line in block.changes() if line.strip().startswith("*")), "")
        changes.append(
            ChangelogEntry(
                str(block.version),
                tuple(dict.fromkeys(CVE.findall(text))),
                tuple(dict.fromkeys(ADVISORY.findall(text))),
                first[:200],
            )
        )
    return changes


class ChangelogCache:
    def __init__(self, cache_dir: Path, session: requests.Session | None = None, timeout: float = 60.0) -> None:
        self._dir = cache_dir / "changelogs"
        self._session = session or requests.Session()
        self._timeout = timeout

    def text(self, entry: Entry) -> str:
        key = hashlib.sha256(f"{entry.deb_url}".encode()).hexdigest()[:32]
        path = self._dir / f"{key}.json"
        if path.is_file():
            try:
                return str(json.loads(path.read_text())["changelog"])
            except (ValueError, KeyError):
                path.unlink(missing_ok=True)
        text = _changelog_from_deb(self._download(entry), entry)
        write_atomic(path, json.dumps({"url": entry.deb_url, "changelog": text}))
        return text

    def _download(self, entry: Entry) -> bytes:
        try:
            answer = self._session.get(entry.deb_url, timeout=self._timeout, stream=True)
            if answer.status_code != 200:
                raise WatchError(f"{entry.deb_url}: HTTP {answer.status_code}")
            chunks = []
            size = 0
            for chunk in answer.iter_content(1 << 16):
                size += len(chunk)
                if size > MAX_DEB:
                    raise WatchError(f"{entry.deb_url}: larger than {MAX_DEB} bytes")
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise WatchError(f"{entry.deb_url}: {type(exc).__name__}") from None
        return b"".join(chunks)


def _changelog_from_deb(data: bytes, entry: Entry) -> str:
    try:
        deb = DebFile(fileobj=io.BytesIO(data))
        archive = deb.data.tgz()
    except (DebError, OSError, EOFError, KeyError) as exc:
        raise WatchError(f"{entry.deb_url}: not a readable .deb ({exc})") from None
    # Debian-revision packages ship changelog.Debian.gz; native ones (apt, dpkg) changelog.gz.
    preferred = (f"usr/share/doc/{entry.name}/changelog.Debian.gz", f"usr/share/doc/{entry.name}/changelog.gz")
    candidates = [
        m
        for m in archive.getmembers()
        if m.isfile() and m.name.lstrip("./").endswith(("/changelog.Debian.gz", "/changelog.gz"))
    ]
    candidates.sort(key=lambda m: (m.name.lstrip("./") not in preferred, not m.name.endswith(".Debian.gz")))
    if not candidates:
        raise WatchError(
            f"{entry.deb_url}: no changelog in the package (its documentation "
            "folder is probably a link to another package of the same source)"
        )
    handle = archive.extractfile(candidates[0])
    if handle is None:
        raise WatchError(f"{entry.deb_url}: unreadable changelog")
    try:
        return gzip.decompress(handle.read()).decode("utf-8", errors="replace")
    except (OSError, EOFError):
        raise WatchError(f"{entry.deb_url}: corrupt changelog.Debian.gz") from None
