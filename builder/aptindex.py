"""apt `Packages` indexes: fetched once per run, cached on disk with HTTP validators.

Debian's main index is large (about 63,000 stanzas); only the stanzas of the packages the
locks name are parsed, by looking at each stanza's first line before anything else.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import lzma
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import requests

from builder.errors import WatchError
from builder.fsutil import write_atomic
from builder.lock import AptSource
from builder.packages import apk_stanzas

COMPRESSIONS = (("xz", lzma.decompress), ("gz", gzip.decompress), ("", lambda data: data))


@dataclass(frozen=True)
class Entry:
    """One version of one package in one suite, and where its .deb lives."""

    name: str
    version: str
    source: str
    filename: str
    base_url: str
    suite: str

    @property
    def deb_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/{self.filename}"


class IndexCache:
    def __init__(self, cache_dir: Path, session: requests.Session | None = None,
                 timeout: float = 30.0, mirrors: dict[str, str] | None = None) -> None:
        self._dir = cache_dir / "indexes"
        self._session = session or requests.Session()
        self._timeout = timeout
        self._mirrors = {k.rstrip("/"): v.rstrip("/") for k, v in (mirrors or {}).items()}
        self._fetched: dict[str, bytes] = {}
        self.requests = 0  # HTTP requests made, for benchmarks and tests

    def base_url(self, source: AptSource) -> str:
        """The source's URL, through a configured mirror."""
        url = source.url.rstrip("/")
        return self._mirrors.get(url, url)

    def entries(self, source: AptSource, arch: str, wanted: Iterable[str]) -> dict[str, list[Entry]]:
        """Every version of every wanted package in the source's indexes, by package name."""
        names = set(wanted)
        found: dict[str, list[Entry]] = {}
        base = self.base_url(source)
        if source.kind == "apk":
            for entry in _parse_apkindex(self._apkindex_text(base, arch), names, base, arch):
                found.setdefault(entry.name, []).append(entry)
            return found
        for component in source.components or ("main",):
            text = self._index_text(base, source.suite, component, arch)
            for entry in _parse(text, names, base, source.suite):
                found.setdefault(entry.name, []).append(entry)
        return found

    def _index_text(self, base: str, suite: str, component: str, arch: str) -> str:
        stem = f"{base}/dists/{suite}/{component}/binary-{arch}/Packages"
        if stem not in self._fetched:
            self._fetched[stem] = self._fetch_any(stem)
        return self._fetched[stem].decode("utf-8", errors="replace")

    def _apkindex_text(self, base: str, arch: str) -> str:
        url = f"{base}/{arch}/APKINDEX.tar.gz"
        if url not in self._fetched:
            data = self._fetch(url)
            if data is None:
                raise WatchError(f"no APKINDEX at {url}")
            try:
                with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                    member = archive.extractfile("APKINDEX")
                    if member is None:
                        raise KeyError("APKINDEX")
                    self._fetched[url] = member.read()
            except (tarfile.TarError, KeyError, OSError, EOFError):
                self._forget(url)
                raise WatchError(f"{url}: not an APKINDEX archive") from None
        return self._fetched[url].decode("utf-8", errors="replace")

    def _fetch_any(self, stem: str) -> bytes:
        missing = []
        for ext, decompress in COMPRESSIONS:
            url = f"{stem}.{ext}" if ext else stem
            data = self._fetch(url)
            if data is None:
                missing.append(url)
                continue
            try:
                return decompress(data)
            except (lzma.LZMAError, OSError, EOFError):
                self._forget(url)
                raise WatchError(f"{url}: corrupt {ext or 'index'} data") from None
        raise WatchError(f"no Packages index at {stem}(.xz|.gz)")

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode()).hexdigest()[:32]
        return self._dir / key, self._dir / f"{key}.json"

    def _forget(self, url: str) -> None:
        for path in self._paths(url):
            path.unlink(missing_ok=True)

    def _fetch(self, url: str) -> bytes | None:
        """The body at `url` (from cache when the server says 304), None on 404."""
        body_path, meta_path = self._paths(url)
        headers = {}
        meta: dict[str, str] = {}
        if body_path.is_file() and meta_path.is_file():
            try:
                meta = json.loads(meta_path.read_text())
            except ValueError:
                meta = {}
            if meta.get("etag"):
                headers["If-None-Match"] = meta["etag"]
            if meta.get("last_modified"):
                headers["If-Modified-Since"] = meta["last_modified"]
        self.requests += 1
        try:
            answer = self._session.get(url, headers=headers, timeout=self._timeout)
        except requests.RequestException as exc:
            raise WatchError(f"{url}: {type(exc).__name__}") from None
        if answer.status_code == 304 and headers:
            return body_path.read_bytes()
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise WatchError(f"{url}: HTTP {answer.status_code}")
        body = answer.content
        length = answer.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) != len(body):
            raise WatchError(f"{url}: truncated ({len(body)} of {length} bytes)")
        write_atomic(body_path, body)
        write_atomic(meta_path, json.dumps({"url": url, "etag": answer.headers.get("ETag", ""),
                                            "last_modified": answer.headers.get("Last-Modified", "")}))
        return body


def _parse(text: str, names: set[str], base: str, suite: str) -> list[Entry]:
    found = []
    for raw in text.split("\n\n"):
        stanza = raw.lstrip("\n")
        if not stanza.startswith("Package: "):
            continue
        name = stanza[9:stanza.find("\n") if "\n" in stanza else None].strip()
        if name not in names:
            continue
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t"):
                continue
            key, sep, value = line.partition(":")
            if sep and key in ("Version", "Source", "Filename"):
                fields[key] = value.strip()
        if "Version" not in fields or "Filename" not in fields:
            raise WatchError(f"{base} {suite}: stanza for {name} lacks Version or Filename")
        source = fields.get("Source", name).split()[0]
        found.append(Entry(name, fields["Version"], source, fields["Filename"], base, suite))
    return found


def _parse_apkindex(text: str, names: set[str], base: str, arch: str) -> list[Entry]:
    found = []
    for fields in apk_stanzas(text):
        name = fields.get("P")
        if name is None or name not in names:
            continue
        if "V" not in fields:
            raise WatchError(f"{base}: APKINDEX stanza for {name} lacks a version")
        suite = "/".join(base.rstrip("/").split("/")[-2:])  # e.g. v3.20/main
        found.append(Entry(name, fields["V"], fields.get("o", name), f"{arch}/{name}-{fields['V']}.apk",
                           base, suite))
    return found
