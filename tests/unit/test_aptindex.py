"""Indexes read the way apt reads them: verified InRelease, indexes by their signed hash, parsed cache by hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import lzma
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from builder.core.errors import WatchError
from builder.core.facts import AptSource
from builder.upstream import inrelease
from builder.upstream.apt_index import IndexCache
from tests.support.aptrepo import SigningKey

pytestmark = pytest.mark.allow_subprocess  # gpg signs, gpgv verifies
BASE = "http://mirror.invalid/debian"
DISTS = f"{BASE}/dists/bookworm-security"
SOURCE = AptSource(url=BASE, suite="bookworm-security", components=("main",))
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def packages(*versions: str) -> bytes:
    return "".join(
        f"Package: demo\nVersion: {v}\nSource: demo-src (1)\nFilename: pool/d/demo_{v}.deb\nDescription: x\n more\n\n"
        for v in versions
    ).encode()


class Mirror:
    """A fake requests.Session serving a suite: `publish` writes InRelease and the index under by-hash."""

    def __init__(self, key: SigningKey | None) -> None:
        self.key = key
        self.files: dict[str, bytes] = {}
        self.asked: list[str] = []

    def publish(
        self,
        index: bytes,
        *,
        valid_until: str = "Sat, 01 Aug 2026 00:00:00 UTC",
        by_hash: bool = True,
        served: bytes | None = None,
        date: str = "",
    ) -> str:
        """Publish `index` (xz); the mirror serves `served` in its place when given. Returns its SHA256."""
        packed = lzma.compress(index)
        digest = hashlib.sha256(packed).hexdigest()
        release = (
            f"Suite: bookworm-security\nCodename: bookworm-security\nValid-Until: {valid_until}\n"
            + (f"Date: {date}\n" if date else "")
            + f"Acquire-By-Hash: {'yes' if by_hash else 'no'}\nSHA256:\n"
            f" {digest} {len(packed)} main/binary-amd64/Packages.xz\n"
        ).encode()
        if self.key is None:
            self.files[f"{DISTS}/Release"] = release
        else:
            self.files[f"{DISTS}/InRelease"] = self.key.sign(
                release, at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC), detached=False
            )
        self.files[f"{DISTS}/main/binary-amd64/Packages.xz"] = served or packed
        if by_hash:
            self.files[f"{DISTS}/main/binary-amd64/by-hash/SHA256/{digest}"] = served or packed
        return digest

    def get(self, url: str, **_options: Any) -> requests.Response:
        self.asked.append(url.replace(DISTS, "").replace("/main/binary-amd64", ""))
        answer = requests.Response()
        answer.status_code = 200 if url in self.files else 404
        answer._content = self.files.get(url, b"")
        return answer


def cache(mirror: Mirror, where: Path, **options: Any) -> IndexCache:
    return IndexCache(where, session=mirror, now=lambda: NOW, **options)  # type: ignore[arg-type]


def versions(indexes: IndexCache) -> list[str]:
    return [e.version for e in indexes.entries(SOURCE, "amd64", {"demo", "absent"}).get("demo", [])]


@pytest.fixture(scope="module")
def key() -> Iterator[SigningKey]:
    with SigningKey() as made:
        yield made


@pytest.fixture
def keyring(key: SigningKey, tmp_path: Path) -> Path:
    return key.export_public(tmp_path / "keys" / "repo.asc", armored=True)


def test_an_unchanged_suite_costs_one_request_and_no_index(key: SigningKey, keyring: Path, tmp_path: Path) -> None:
    mirror = Mirror(key)
    digest = mirror.publish(packages("1.0-1", "1.1-1"))
    first = cache(mirror, tmp_path, keyrings={BASE: keyring})
    assert versions(first) == ["1.0-1", "1.1-1"]
    assert mirror.asked == ["/InRelease", f"/by-hash/SHA256/{digest}"]
    entry = first.entries(SOURCE, "amd64", {"demo"})["demo"][0]
    assert (entry.source, entry.deb_url) == ("demo-src", f"{BASE}/pool/d/demo_1.0-1.deb")

    mirror.asked.clear()
    assert versions(cache(mirror, tmp_path, keyrings={BASE: keyring})) == ["1.0-1", "1.1-1"]
    assert mirror.asked == ["/InRelease"]
    assert list((tmp_path / "indexes" / "parsed").iterdir()) == [tmp_path / "indexes" / "parsed" / digest]


def test_a_changed_index_is_fetched_by_its_new_hash(key: SigningKey, keyring: Path, tmp_path: Path) -> None:
    mirror = Mirror(key)
    mirror.publish(packages("1.0-1"))
    versions(cache(mirror, tmp_path, keyrings={BASE: keyring}))
    digest = mirror.publish(packages("1.0-1", "1.2-1"))
    mirror.asked.clear()
    assert versions(cache(mirror, tmp_path, keyrings={BASE: keyring})) == ["1.0-1", "1.2-1"]
    assert mirror.asked == ["/InRelease", f"/by-hash/SHA256/{digest}"]


def test_without_by_hash_the_index_path_is_read(key: SigningKey, keyring: Path, tmp_path: Path) -> None:
    mirror = Mirror(key)
    mirror.publish(packages("1.0-1"), by_hash=False)
    assert versions(cache(mirror, tmp_path, keyrings={BASE: keyring})) == ["1.0-1"]
    assert mirror.asked == ["/InRelease", "/Packages.xz"]


def test_debian_suites_are_checked_with_the_debian_keyring(key: SigningKey, tmp_path: Path) -> None:
    mirror = Mirror(key)
    mirror.publish(packages("1.0-1"))
    debian = key.export_public(tmp_path / "debian-archive-keyring.gpg")
    assert versions(cache(mirror, tmp_path, debian_keyring=debian)) == ["1.0-1"]
    with SigningKey(user_id="Not Debian <x@builder.invalid>") as stranger:
        elsewhere = stranger.export_public(tmp_path / "stranger.gpg")
        with pytest.raises(WatchError) as caught:
            versions(cache(mirror, tmp_path / "again", debian_keyring=elsewhere))
    assert caught.value.message == f"{DISTS}/InRelease: bad signature: not signed by a key in {elsewhere}"


def test_a_trusted_repository_has_no_signature_but_its_hashes_are_checked(tmp_path: Path) -> None:
    mirror = Mirror(None)
    mirror.publish(packages("1.0-1"))
    assert versions(cache(mirror, tmp_path, keyrings={BASE: None})) == ["1.0-1"]
    assert mirror.asked[0] == "/Release"
    mirror.publish(packages("2.0-1"), served=lzma.compress(packages("6.6-6")))
    with pytest.raises(WatchError, match="SHA256 mismatch"):
        versions(cache(mirror, tmp_path / "again", keyrings={BASE: None}))


def test_loopback_sources_the_channel_does_not_name_are_read_unsigned(tmp_path: Path) -> None:
    indexes = IndexCache(tmp_path)
    assert indexes.keyring(AptSource(url="http://127.0.0.1:8080/", suite="x")) is None
    assert indexes.keyring(AptSource(url="http://localhost/x", suite="x")) is None
    assert indexes.keyring(AptSource(url="http://deb.debian.org/debian", suite="x")) == Path(
        "/usr/share/keyrings/debian-archive-keyring.gpg"
    )
    assert (
        IndexCache(tmp_path, keyrings={"http://127.0.0.1:8080": tmp_path / "k.gpg"}).keyring(
            AptSource(url="http://127.0.0.1:8080/", suite="x")
        )
        == tmp_path / "k.gpg"
    )


def hostile_index(mirror: Mirror) -> None:
    packed = lzma.compress(packages("9.9-9"))
    mirror.publish(packages("1.0-1"), served=packed)


ERRORS = [
    (
        "index not matching its signed hash",
        hostile_index,
        "{dists}/main/binary-amd64/Packages.xz: SHA256 mismatch: got {got}… ({size} bytes), the release "
        "says {want}… ({want_size} bytes); the mirror is inconsistent or tampered with",
    ),
    (
        "expired",
        lambda m: m.publish(packages("1.0-1"), valid_until="Fri, 29 May 2026 00:00:00 UTC"),
        "{dists}/InRelease: expired on 2026-05-29 00:00 UTC (Valid-Until): the mirror serves a stale release; "
        "use an up-to-date mirror",
    ),
    (
        "tampered InRelease",
        lambda m: (
            m.publish(packages("1.0-1")),
            m.files.__setitem__(
                f"{DISTS}/InRelease",
                m.files[f"{DISTS}/InRelease"].replace(b"Acquire-By-Hash: yes", b"Acquire-By-Hash: no"),
            ),
        ),
        "{dists}/InRelease: bad signature: the file does not match its signature (tampered with, or damaged)",
    ),
    (
        "no InRelease",
        lambda _mirror: None,
        "{dists}/InRelease: not found (HTTP 404): is bookworm-security a suite of {base}?",
    ),
]


@pytest.mark.parametrize(("case", "prepare", "message"), ERRORS, ids=[case for case, _, _ in ERRORS])
def test_errors_name_the_source(
    case: str, prepare: Any, message: str, key: SigningKey, keyring: Path, tmp_path: Path
) -> None:
    mirror = Mirror(key)
    prepare(mirror)
    with pytest.raises(WatchError) as caught:
        versions(cache(mirror, tmp_path, keyrings={BASE: keyring}))
    served = mirror.files.get(f"{DISTS}/main/binary-amd64/Packages.xz", b"")
    want = lzma.compress(packages("1.0-1"))
    assert caught.value.message == message.format(
        dists=DISTS,
        base=BASE,
        got=hashlib.sha256(served).hexdigest()[:16],
        size=len(served),
        want=hashlib.sha256(want).hexdigest()[:16],
        want_size=len(want),
    )
    assert not (tmp_path / "indexes" / "parsed").exists()  # nothing unverified is kept


def test_without_debian_keyring_the_error_says_what_to_install(
    key: SigningKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = Mirror(key)
    mirror.publish(packages("1.0-1"))
    missing = tmp_path / "debian-archive-keyring.gpg"
    monkeypatch.setattr(inrelease, "DEBIAN_KEYRING", missing)  # as on a machine without the package
    with pytest.raises(WatchError) as caught:
        versions(cache(mirror, tmp_path, debian_keyring=missing))
    assert caught.value.message == (
        f"{DISTS}/InRelease: cannot read the keyring {missing}: No such file or "
        "directory (apt-get install debian-archive-keyring)"
    )
