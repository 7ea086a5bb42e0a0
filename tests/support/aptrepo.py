"""A real, deterministic apt repository for tests, served over HTTP on 127.0.0.1, optionally signed.

Packages are built with `dpkg-deb` and indexed with `dpkg-scanpackages`, so apt inside a container
sees exactly what it would see from a Debian mirror (pool layout, Packages/Packages.gz/Packages.xz,
Release with checksums). Unsigned, consumers trust it with `[trusted=yes]`: see `AptRepo.sources_line()`.

    repo = AptRepo(tmp_path / "apt")
    repo.add_package("demo", "1.0-1", changelog=[ChangelogEntry("1.0-1", lines=["  * Initial release."])])
    repo.publish()
    with repo:
        url = repo.serve()

Signed with a throw-away `SigningKey`, `publish()` also writes InRelease and Release.gpg, and consumers
verify it against the exported public key with `signed-by=`:

    with SigningKey() as key, AptRepo(tmp_path / "apt", signing_key=key) as repo:
        ...
        repo.publish()
        key.export_public(tmp_path / "repo.gpg")
        repo.serve()
        line = repo.sources_line(signed_by="/etc/apt/keyrings/repo.gpg")
"""

from __future__ import annotations

import collections
import datetime as dt
import email.utils
import functools
import gzip
import hashlib
import io
import lzma
import os
import shutil
import subprocess
import tempfile
import threading
import types
import urllib.parse
import weakref
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO, Self

from debian.debian_support import Version

from tests.support.serving import BackgroundServer

# Fixed timestamps keep .debs, changelogs and indexes byte-identical from run to run. Both lie in the
# past so apt never rejects a Release file as "not valid yet".
DEFAULT_DATE = "Thu, 01 Jan 2026 00:00:00 +0000"
SOURCE_DATE_EPOCH = 1767225600  # 2026-01-01T00:00:00Z
RELEASE_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DEFAULT_AUTHOR = "Builder Test Maintainer <tests@builder.invalid>"
# Signing keys are made "at" a fixed time well before any Release date: gpg refuses to sign, and gpgv to
# verify, a signature older than its key, and signatures carry the Release date (see `SigningKey.sign`).
KEY_EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
KEY_USER_ID = "Builder Test Repo <repo@builder.invalid>"


@dataclass
class ChangelogEntry:
    """One stanza of debian/changelog. `lines` are the change lines, e.g. "  * Fix CVE-2026-1234: ..."."""

    version: str
    urgency: str = "medium"
    distribution: str = "bookworm-security"
    lines: list[str] = field(default_factory=list)
    author: str = DEFAULT_AUTHOR
    date: str = DEFAULT_DATE

    def render(self, source: str) -> str:
        # Debian requires change lines to be indented; accept bare text for convenience.
        body = [line if not line or line.startswith(" ") else f"  * {line}" for line in self.lines]
        if not body:
            body = [f"  * Version {self.version}."]
        return (
            f"{source} ({self.version}) {self.distribution}; urgency={self.urgency}\n\n"
            + "\n".join(body)
            + f"\n\n -- {self.author}  {self.date}\n"
        )


def render_changelog(source: str, entries: list[ChangelogEntry]) -> str:
    """The changelog text, newest entry first whatever order `entries` came in."""
    ordered = sorted(entries, key=lambda entry: Version(entry.version), reverse=True)
    return "\n".join(entry.render(source) for entry in ordered)


def _gzip(data: bytes) -> bytes:
    # mtime=0 and no file name in the header: the same input always gives the same bytes.
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as out:
        out.write(data)
    return buffer.getvalue()


def _without_epoch(version: str) -> str:
    return version.split(":", 1)[1] if ":" in version else version


def _stop_gnupg(home: str) -> None:
    # The agent outlives gpg; without this every key would leave a daemon behind, holding a deleted home.
    subprocess.run(
        ["gpgconf", "--kill", "gpg-agent"], env={**os.environ, "GNUPGHOME": home}, check=False, capture_output=True
    )
    shutil.rmtree(home, ignore_errors=True)


class SigningKey:
    """A fresh OpenPGP signing key in its own temporary GNUPGHOME, removed (agent included) by `close()`.

    The user's ~/.gnupg is never read or written: every gpg call gets `--homedir` and GNUPGHOME.
    `algorithm` is anything `gpg --quick-gen-key` takes, e.g. "ed25519" (the default) or "rsa3072".
    """

    def __init__(
        self, user_id: str = KEY_USER_ID, algorithm: str = "ed25519", created: dt.datetime = KEY_EPOCH
    ) -> None:
        self.user_id = user_id
        self.created = created
        # A short path under /tmp: the agent's socket lives in the home and socket paths are length-limited.
        self.home = tempfile.mkdtemp(prefix="gnupg-")
        # Runs even if close() is forgotten (garbage collection or interpreter exit).
        self._finalizer = weakref.finalize(self, _stop_gnupg, self.home)
        try:
            self._gpg("--quick-gen-key", user_id, algorithm, "sign", "never", at=created)
            listing = self._gpg("--with-colons", "--list-secret-keys", user_id).decode()
        except BaseException:
            self.close()
            raise
        # The first fpr record follows the primary key's sec record; later ones would be subkeys.
        self.fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))

    def _gpg(self, *args: str, at: dt.datetime | None = None, stdin: bytes | None = None) -> bytes:
        if not self._finalizer.alive:
            raise RuntimeError("the signing key has been closed")
        command = [
            "gpg",
            "--homedir",
            self.home,
            "--batch",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]
        if at is not None:
            # "!" freezes the clock: key and signature timestamps, hence the signatures, are reproducible.
            command += ["--faked-system-time", f"{int(at.timestamp())}!"]
        result = subprocess.run(
            [*command, *args], input=stdin, capture_output=True, check=False, env={**os.environ, "GNUPGHOME": self.home}
        )
        if result.returncode != 0:
            raise RuntimeError(f"gpg {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
        return result.stdout

    def export_public(self, path: Path, armored: bool = False) -> Path:
        """Write the public key to `path` for apt's `signed-by=` (and gpgv's `--keyring`); return `path`.

        Binary (armored=False) suits a .gpg keyring, which every apt and gpgv read; armored suits a .asc
        file, which apt reads from 1.4 on but gpgv does not.
        """
        options = ["--armor"] if armored else []
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self._gpg(*options, "--export-options", "export-minimal", "--export", self.fingerprint))
        return path

    def sign(self, data: bytes, *, at: dt.datetime, detached: bool) -> bytes:
        """`data` clearsigned (InRelease) or an armored detached signature of it (Release.gpg), made `at`.

        SHA512: apt treats SHA1 signatures as untrusted.
        """
        mode = ["--armor", "--detach-sign"] if detached else ["--clearsign"]
        return self._gpg(
            "--local-user", self.fingerprint, "--digest-algo", "SHA512", *mode, "--output", "-", at=at, stdin=data
        )

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: types.TracebackType | None
    ) -> None:
        self.close()


class AptRepo:
    """An apt repository under `root`: `pool/` with the .debs, `dists/SUITE/` with the indexes."""

    def __init__(
        self,
        root: Path,
        suite: str = "bookworm-security",
        component: str = "main",
        arch: str = "amd64",
        signing_key: SigningKey | None = None,
    ) -> None:
        self.root = root
        self.suite = suite
        self.component = component
        self.arch = arch
        # Read at each publish(): set it to sign (or None to stop signing) from the next publish on.
        self.signing_key = signing_key
        self.root.mkdir(parents=True, exist_ok=True)
        self.hits: collections.Counter[str] = collections.Counter()
        # (method, path, status) of every answered request, for "fetched, then 304" assertions.
        self.requests: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()
        self._serving: BackgroundServer[ThreadingHTTPServer] = BackgroundServer("aptrepo")
        self._generation = 0
        self._last_mtime = 0

    # -- packages ---------------------------------------------------------------------------------

    def add_package(
        self,
        name: str,
        version: str,
        *,
        source: str | None = None,
        changelog: list[ChangelogEntry],
        depends: str | None = None,
        files: dict[str, bytes] | None = None,
        arch: str | None = None,
    ) -> Path:
        """Build NAME_VERSION_ARCH.deb into the pool and return its path. Call `publish()` to index it.

        `arch` is the repository's architecture unless given (use "all" for arch-independent packages).
        `files` maps absolute install paths to contents; contents starting with "#!" are made executable.
        """
        arch = arch or self.arch
        source = source or name
        doc = f"usr/share/doc/{name}"
        payload = {f"{doc}/changelog.Debian.gz": _gzip(render_changelog(source, changelog).encode())}
        for path, content in (files or {}).items():
            payload[path.lstrip("/")] = content
        control = {
            "Package": name,
            "Source": source if source != name else None,
            "Version": version,
            "Architecture": arch,
            "Maintainer": DEFAULT_AUTHOR,
            "Installed-Size": str(max(1, sum((len(data) + 1023) // 1024 for data in payload.values()))),
            "Depends": depends,
            "Section": "misc",
            "Priority": "optional",
            "Description": f"{name} test package\n Built by tests/support/aptrepo.py.",
        }
        control_text = "".join(f"{key}: {value}\n" for key, value in control.items() if value is not None)

        deb_name = f"{name}_{_without_epoch(version)}_{arch}.deb"
        target = self.root / "pool" / self.component / source[0] / source / deb_name
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="aptrepo-") as scratch:
            tree = Path(scratch) / "tree"
            self._write(tree / "DEBIAN" / "control", control_text.encode(), 0o644)
            for path, content in sorted(payload.items()):
                self._write(tree / path, content, 0o755 if content.startswith(b"#!") else 0o644)
            # Directories are created with the process umask; pin them too so the tarball never varies.
            for directory in [tree, *(p for p in tree.rglob("*") if p.is_dir())]:
                directory.chmod(0o755)
            env = {**os.environ, "SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH)}
            subprocess.run(
                ["dpkg-deb", "--build", "--root-owner-group", "-Zxz", str(tree), str(target)],
                check=True,
                capture_output=True,
                env=env,
            )
        return target

    @staticmethod
    def _write(path: Path, content: bytes, mode: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        path.chmod(mode)

    def remove_package(self, name: str, version: str) -> None:
        """Delete NAME at VERSION (any architecture) from the pool; the next `publish()` drops it."""
        pattern = f"{name}_{_without_epoch(version)}_*.deb"
        found = list((self.root / "pool").rglob(pattern))
        if not found:
            raise KeyError(f"no {name} {version} in {self.root / 'pool'}")
        for deb in found:
            deb.unlink()

    # -- indexes ----------------------------------------------------------------------------------

    def publish(self, date: dt.datetime | None = None, valid_until: dt.datetime | None = None) -> None:
        """Regenerate Packages(.gz/.xz) and Release from the pool, and with a `signing_key` InRelease and
        Release.gpg, both signed at the Release `Date`. `valid_until` adds a Valid-Until field.

        The Release `Date` defaults to a fixed epoch plus one minute per publish: deterministic, in the
        past, and increasing, as apt expects of a repository that changes.
        """
        (self.root / "pool").mkdir(exist_ok=True)
        # Filenames in the index are relative to the repository root, so scan from there.
        scan = subprocess.run(
            ["dpkg-scanpackages", "--multiversion", "--arch", self.arch, "pool", "/dev/null"],
            cwd=self.root,
            check=True,
            capture_output=True,
            text=True,
        )
        # dpkg-scanpackages lists versions in directory order; sort the stanzas for stable output.
        stanzas = [stanza.strip("\n") for stanza in scan.stdout.split("\n\n") if stanza.strip()]
        stanzas.sort(key=lambda stanza: _field(stanza, "Filename"))
        packages = "".join(f"{stanza}\n\n" for stanza in stanzas).encode()

        dist = self.root / "dists" / self.suite
        binary = f"{self.component}/binary-{self.arch}"
        indexes = {
            f"{binary}/Packages": packages,
            f"{binary}/Packages.gz": _gzip(packages),
            f"{binary}/Packages.xz": lzma.compress(packages, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64),
        }
        for relative, data in indexes.items():
            (dist / relative).parent.mkdir(parents=True, exist_ok=True)
            (dist / relative).write_bytes(data)

        self._generation += 1
        when = date or RELEASE_EPOCH + dt.timedelta(minutes=self._generation)
        lines = [
            "Origin: builder-tests",
            "Label: builder-tests",
            f"Suite: {self.suite}",
            f"Codename: {self.suite}",
            f"Date: {email.utils.format_datetime(when.astimezone(dt.UTC), usegmt=True)}",
            f"Architectures: {self.arch}",
            f"Components: {self.component}",
            f"Description: builder test repository ({'signed' if self.signing_key else 'unsigned'})",
        ]
        if valid_until is not None:
            lines.append(f"Valid-Until: {email.utils.format_datetime(valid_until.astimezone(dt.UTC), usegmt=True)}")
        for title, algorithm in (("MD5Sum", "md5"), ("SHA256", "sha256")):
            lines.append(f"{title}:")
            lines += [
                f" {hashlib.new(algorithm, data).hexdigest()} {len(data):>8} {relative}"
                for relative, data in indexes.items()
            ]
        release = dist / "Release"
        release_bytes = ("\n".join(lines) + "\n").encode()
        release.write_bytes(release_bytes)
        signatures = [dist / "InRelease", dist / "Release.gpg"]
        if self.signing_key is None:
            # apt prefers InRelease: one left from a signed publish would shadow the new Release.
            for stale in signatures:
                stale.unlink(missing_ok=True)
            signatures = []
        else:
            signatures[0].write_bytes(self.signing_key.sign(release_bytes, at=when, detached=False))
            signatures[1].write_bytes(self.signing_key.sign(release_bytes, at=when, detached=True))
        self._bump_mtimes([release, *signatures, *(dist / relative for relative in indexes)])

    def _bump_mtimes(self, paths: list[Path]) -> None:
        # Last-Modified has one-second resolution: two publishes within the same second would let a
        # client's If-Modified-Since match the new files and get a stale 304. Move time forward instead.
        stamp = max(int(dt.datetime.now(dt.UTC).timestamp()), self._last_mtime + 1)
        self._last_mtime = stamp
        for path in paths:
            os.utime(path, (stamp, stamp))

    # -- serving ----------------------------------------------------------------------------------

    def serve(self) -> str:
        """Serve the repository on 127.0.0.1 (a free port) in a background thread; return the base URL."""
        if not self._serving.running:
            handler = functools.partial(_RepoHandler, directory=str(self.root))

            def bind(address: tuple[str, int]) -> ThreadingHTTPServer:
                server = ThreadingHTTPServer(address, handler)
                server.repo = self  # type: ignore[attr-defined]
                return server

            self._serving.start(bind)
        return self.url

    @property
    def url(self) -> str:
        if not self._serving.running:
            raise RuntimeError("the repository is not being served: call serve() first")
        return f"http://127.0.0.1:{self._serving.port}/"

    def sources_line(self, signed_by: str | os.PathLike[str] | None = None) -> str:
        """A sources.list line for this repository (served: call `serve()` first).

        `signed_by` is where the consumer finds the exported public key (a path inside the container,
        say): apt then verifies InRelease against it. Without it apt trusts the repository unverified.
        """
        if signed_by is None:
            return f"deb [trusted=yes] {self.url} {self.suite} {self.component}"
        return f"deb [signed-by={os.fspath(signed_by)}] {self.url} {self.suite} {self.component}"

    def close(self) -> None:
        self._serving.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: types.TracebackType | None
    ) -> None:
        self.close()

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.hits[path] += 1
            self.requests.append((method, path, status))


def _field(stanza: str, name: str) -> str:
    for line in stanza.splitlines():
        key, _, value = line.partition(":")
        if key == name:
            return value.strip()
    return ""


def _etag(stat: os.stat_result) -> str:
    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


class _RepoHandler(SimpleHTTPRequestHandler):
    """Static files with validators: ETag/If-None-Match on top of the stdlib's If-Modified-Since."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def send_response(self, code: int, message: str | None = None) -> None:
        # Every answer, errors included, passes here once: the one place to count it.
        repo: AptRepo = self.server.repo  # type: ignore[attr-defined]
        repo._record(self.command, urllib.parse.urlsplit(self.path).path, int(code))
        super().send_response(code, message)

    def send_head(self) -> io.BytesIO | BinaryIO | None:
        path = Path(self.translate_path(self.path))
        if not path.is_file() or self.path.endswith("/"):
            return super().send_head()
        try:
            handle = path.open("rb")
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return None
        stat = os.fstat(handle.fileno())
        etag = _etag(stat)
        if self._not_modified(stat, etag):
            handle.close()
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", self.date_time_string(int(stat.st_mtime)))
            self.end_headers()
            return None
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(stat.st_size))
        self.send_header("Last-Modified", self.date_time_string(int(stat.st_mtime)))
        self.send_header("ETag", etag)
        self.end_headers()
        return handle

    def _not_modified(self, stat: os.stat_result, etag: str) -> bool:
        # RFC 9110: If-None-Match wins over If-Modified-Since when both are sent.
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
            return "*" in tags or etag in tags
        if_modified_since = self.headers.get("If-Modified-Since")
        if if_modified_since is None:
            return False
        try:
            since = email.utils.parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        return int(stat.st_mtime) <= since.timestamp()
