"""apt `Packages` indexes, read the way apt reads them.

Each suite's `InRelease` is fetched (a conditional request: one small answer when nothing
changed) and its signature checked with the suite's keyring (builder/inrelease.py); it names
the SHA256 of every index. An index is downloaded only when no index with that hash has been
read before (by hash where the repository offers it), checked against the hash, and kept
parsed on disk under its hash: a run where nothing changed downloads no index at all.

Keyrings: a repository the channel names is checked with its recipe's `signed_by` key; any
other source with Debian's archive keyring. A `trusted` repository (unsigned, loopback only)
has no signature to check: its `Release` is read as it is, and its indexes checked against it.
Alpine's signed `APKINDEX.tar.gz` is verified the way apk verifies it (builder/upstream/apk_index.py).
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import lzma
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from builder.core.errors import WatchError
from builder.core.facts import AptSource
from builder.core.files import write_atomic
from builder.recipe.names import LOOPBACK_HOSTS
from builder.upstream import apk_index, inrelease

DECOMPRESS: dict[str, Callable[[bytes], bytes]] = {
    ".xz": lzma.decompress,
    ".gz": gzip.decompress,
    "": lambda data: data,
}
# A parsed index as the cache keeps it: one "name TAB version TAB source TAB filename" line per
# stanza. Picking a few hundred names out of it takes milliseconds; no decompressing, no parsing.
FIELD_SEP = "\t"


@dataclass(frozen=True)
class Entry:
    """One version of one package in one suite, and where its .deb lives."""

    name: str
    version: str
    source: str
    filename: str
    base_url: str
    suite: str
    published: str = ""  # the suite's Release Date when this index was read (ISO 8601, UTC); "": unknown

    @property
    def deb_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/{self.filename}"


def channel_keyrings(root: Path, repositories: Iterable[tuple[str, str | None, bool]]) -> dict[str, Path | None]:
    """url -> keyring of the channel's repositories, from (url, signed_by, trusted); None: trusted."""
    found: dict[str, Path | None] = {}
    for url, signed_by, trusted in repositories:
        if signed_by:
            found[url.rstrip("/")] = root / signed_by
        elif trusted:
            found[url.rstrip("/")] = None
    return found


class IndexCache:
    def __init__(
        self,
        cache_dir: Path,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        mirrors: dict[str, str] | None = None,
        *,
        keyrings: Mapping[str, Path | None] | None = None,
        debian_keyring: Path = inrelease.DEBIAN_KEYRING,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._dir = cache_dir / "indexes"
        self._session = session or requests.Session()
        self._timeout = timeout
        self._mirrors = {k.rstrip("/"): v.rstrip("/") for k, v in (mirrors or {}).items()}
        self._keyrings = {k.rstrip("/"): v for k, v in (keyrings or {}).items()}
        self._debian_keyring = debian_keyring
        self._now = now
        self._apkindexes: dict[str, str] = {}  # url -> verified APKINDEX text
        self._releases: dict[tuple[str, str], inrelease.Release] = {}
        self._parsed: dict[str, str] = {}
        self._lock = threading.Lock()  # builds read indexes from several threads
        self.requests = 0  # HTTP requests made, for benchmarks and tests
        self.bytes = 0  # body bytes received

    def base_url(self, source: AptSource) -> str:
        """The source's URL, through a configured mirror."""
        url = source.url.rstrip("/")
        return self._mirrors.get(url, url)

    def keyring(self, source: AptSource) -> Path | None:
        """The keyring that signs the source's InRelease; None for an unsigned (trusted) one.

        A source the channel does not name is Debian's, unless it is on loopback, where only the
        channel's own test repositories live (build steps read indexes without the channel's keys).
        """
        url = source.url.rstrip("/")
        if url in self._keyrings:
            return self._keyrings[url]
        if urllib.parse.urlsplit(url).hostname in {h.strip("[]") for h in LOOPBACK_HOSTS}:
            return None
        return self._debian_keyring

    def entries(self, source: AptSource, arch: str, wanted: Iterable[str]) -> dict[str, list[Entry]]:
        """Every version of every wanted package in the source's indexes, by package name."""
        names = set(wanted)
        found: dict[str, list[Entry]] = {}
        base = self.base_url(source)
        with self._lock:
            if source.kind == "apk":
                suite = "/".join(base.split("/")[-2:])  # e.g. v3.20/main
                text = self._apkindex_text(base, arch, self._apk_keys(source))
                for name, version, origin, filename in apk_index.entries_of(text, names, base, arch):
                    found.setdefault(name, []).append(Entry(name, version, origin, filename, base, suite))
                return found
            release = self._release(base, source.suite, self.keyring(source))
            published = release.date.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if release.date else ""
            for component in source.components or ("main",):
                parsed = self._index(base, source.suite, release, f"{component}/binary-{arch}/Packages")
                for line in parsed.split("\n"):
                    name, _, rest = line.partition(FIELD_SEP)
                    if name in names:
                        version, origin, filename = rest.split(FIELD_SEP)
                        found.setdefault(name, []).append(
                            Entry(name, version, origin, filename, base, source.suite, published)
                        )
        return found

    def _release(self, base: str, suite: str, keyring: Path | None) -> inrelease.Release:
        key = (base, suite)
        if key not in self._releases:
            folder = f"{base}/dists/{suite}"
            if keyring is None:
                url = f"{folder}/Release"
                text = self._fetch(url)
            else:
                url = f"{folder}/InRelease"
                signed = self._fetch(url)
                text = None if signed is None else inrelease.verified_text(signed, keyring, url)
            if text is None:
                raise WatchError(f"{url}: not found (HTTP 404): is {suite} a suite of {base}?")
            self._releases[key] = inrelease.parse(text, url, suite, self._now())
        return self._releases[key]

    def _index(self, base: str, suite: str, release: inrelease.Release, stem: str) -> str:
        """The parsed index at dists/SUITE/`stem`, downloaded only if its hash is new."""
        folder = f"{base}/dists/{suite}"
        listed = [(stem + ext, ext) for ext in DECOMPRESS if stem + ext in release.sha256]
        if not listed:
            raise WatchError(f"{folder}/{stem}: the release lists no such index (.xz, .gz or plain)")
        path, ext = listed[0]
        digest, size = release.sha256[path]
        if digest in self._parsed:
            return self._parsed[digest]
        stored = self._dir / "parsed" / digest
        try:
            parsed = stored.read_text(encoding="utf-8")
        except OSError:
            data = self._download(folder, path, digest, size, release.by_hash)
            try:
                text = DECOMPRESS[ext](data).decode("utf-8", errors="replace")
            except (lzma.LZMAError, OSError, EOFError):
                raise WatchError(f"{folder}/{path}: corrupt {ext.lstrip('.')} data") from None
            parsed = _parse(text, f"{folder}/{path}")
            write_atomic(stored, parsed)
        self._parsed[digest] = parsed
        return parsed

    def _download(self, folder: str, path: str, digest: str, size: int, by_hash: bool) -> bytes:
        url = f"{folder}/{path}"
        data = None
        if by_hash:  # a mirror mid-update still serves the file this InRelease names
            data = self._fetch(f"{folder}/{path.rsplit('/', 1)[0]}/by-hash/SHA256/{digest}", cache=False)
        if data is None:
            data = self._fetch(url, cache=False)
        if data is None:
            raise WatchError(f"{url}: not found (HTTP 404), though the release lists it")
        actual = hashlib.sha256(data).hexdigest()
        if actual != digest or len(data) != size:
            raise WatchError(
                f"{url}: SHA256 mismatch: got {actual[:16]}… ({len(data)} bytes), the release "
                f"says {digest[:16]}… ({size} bytes); the mirror is inconsistent or tampered with"
            )
        return data

    def _apk_keys(self, source: AptSource) -> dict[str, bytes]:
        """The recipe's `signed_by` key for a repository the channel names, else Alpine's keys."""
        path = self._keyrings.get(source.url.rstrip("/"))
        return apk_index.keys_from([path]) if path is not None else apk_index.alpine_keys()

    def _apkindex_text(self, base: str, arch: str, keys: Mapping[str, bytes]) -> str:
        url = f"{base}/{arch}/APKINDEX.tar.gz"
        if url not in self._apkindexes:
            data = self._fetch(url)
            if data is None:
                raise WatchError(f"no APKINDEX at {url}")
            try:
                self._apkindexes[url] = apk_index.verified_index(data, keys, url)
            except WatchError:
                self._forget(url)  # fetched whole again next time, not answered 304 from a bad copy
                raise
        return self._apkindexes[url]

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode()).hexdigest()[:32]
        return self._dir / key, self._dir / f"{key}.json"

    def _forget(self, url: str) -> None:
        for path in self._paths(url):
            path.unlink(missing_ok=True)

    def _fetch(self, url: str, cache: bool = True) -> bytes | None:
        """The body at `url`, None on 404. With `cache`, a conditional request: a 304 is answered from disk."""
        body_path, meta_path = self._paths(url)
        headers = {}
        meta: dict[str, str] = {}
        if cache and body_path.is_file() and meta_path.is_file():
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
        self.bytes += len(answer.content)
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
        if cache:
            write_atomic(body_path, body)
            write_atomic(
                meta_path,
                json.dumps(
                    {
                        "url": url,
                        "etag": answer.headers.get("ETag", ""),
                        "last_modified": answer.headers.get("Last-Modified", ""),
                    }
                ),
            )
        return body


def _parse(text: str, where: str) -> str:
    """Every stanza's Package, Version, Source and Filename: the whole index, once per hash."""
    lines = []
    for raw in text.split("\n\n"):
        stanza = "\n" + raw.strip("\n")
        if not stanza.startswith("\nPackage: "):
            continue
        fields = {key: _field(stanza, key) for key in ("Package", "Version", "Source", "Filename")}
        name, version, filename = fields["Package"], fields["Version"], fields["Filename"]
        if not version or not filename:
            raise WatchError(f"{where}: stanza for {name} lacks Version or Filename")
        source = (fields["Source"] or name).split()[0]
        if any(FIELD_SEP in value for value in (name, version, filename)):
            raise WatchError(f"{where}: stanza for {name.strip()} has a tab in a field")
        lines.append(FIELD_SEP.join((name, version, source, filename)))
    return "\n".join(lines)


def _field(stanza: str, key: str) -> str:
    start = stanza.find(f"\n{key}:")
    if start < 0:
        return ""
    start += len(key) + 2
    end = stanza.find("\n", start)
    return stanza[start : end if end >= 0 else None].strip()
