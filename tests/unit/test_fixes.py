"""What a build fixes since the last release, and the fingerprint that says "nothing new"."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from builder.channel import fingerprint
from builder.channel.lock import Lock
from builder.core.errors import WatchError
from builder.core.facts import AptSource, BaseLock, ImageLock, InputFile, Package, Update
from builder.upstream import fixes
from builder.upstream.apt_index import Entry
from tests.support.aptrepo import ChangelogEntry, render_changelog

SOURCE = AptSource(url="http://deb.example/debian", suite="bookworm-security", components=("main",))
RELEASED = "sha256:" + "a" * 64
CANDIDATE = "sha256:" + "b" * 64


def lock(digest: str, packages: dict[str, str], updates: tuple[Update, ...] = ()) -> Lock:
    return Lock(
        image="demo",
        version="1.0.0",
        recipe_sha256="r",
        dockerfile_sha256="d",
        base=BaseLock(reference="debian:bookworm-slim", digest="sha256:" + "1" * 64),
        result=ImageLock(repository="r/demo", tag="candidate", digest=digest, image_id="i", size=1),
        packages=tuple(Package(name=n, version=v, source=n, architecture="amd64") for n, v in packages.items()),
        updates=updates,
    )


class Indexes:
    def __init__(self, *entries: Entry, broken: bool = False) -> None:
        self.offered = list(entries)
        self.broken = broken

    def entries(self, source: AptSource, arch: str, wanted: Iterable[str]) -> dict[str, list[Entry]]:
        assert (source, arch) == (SOURCE, "amd64")
        if self.broken:
            raise WatchError("InRelease: signature by an unknown key")
        names = set(wanted)
        found: dict[str, list[Entry]] = {}
        for entry in self.offered:
            if entry.name in names:
                found.setdefault(entry.name, []).append(entry)
        return found


class Logs:
    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts

    def text(self, entry: Entry) -> str:
        try:
            return self.texts[entry.deb_url]
        except KeyError:
            raise WatchError(f"{entry.deb_url}: HTTP 404") from None


def entry(name: str, version: str) -> Entry:
    return Entry(name, version, name, f"pool/{name}_{version}.deb", SOURCE.url, SOURCE.suite)


def changelog(name: str, *versions: tuple[str, str]) -> str:
    return render_changelog(name, [ChangelogEntry(v, lines=[text]) for v, text in versions])


def test_the_released_versions_come_from_the_release_or_back_through_a_candidate() -> None:
    released = lock(RELEASED, {"demo": "1.0-1", "libc6": "2.36-9"})
    assert fixes.released_packages(released, RELEASED) == {"demo": "1.0-1", "libc6": "2.36-9"}
    candidate = lock(
        CANDIDATE,
        {"demo": "1.1-1", "libc6": "2.36-9", "extra": "1"},
        (Update(name="demo", old="1.0-1", new="1.1-1"), Update(name="extra", old="", new="1")),
    )
    assert fixes.released_packages(candidate, RELEASED) == {"demo": "1.0-1", "libc6": "2.36-9"}
    assert fixes.released_packages(candidate, None) is None
    assert fixes.released_packages(None, RELEASED) is None


def test_every_fix_since_the_release_is_counted_however_many_candidates_came_between() -> None:
    text = changelog(
        "demo",
        ("1.2-1", "Fix CVE-2026-0002 (DSA-5999-1)."),
        ("1.1-1", "Fix CVE-2026-0001."),
        ("1.0-1", "Initial release, CVE-2020-0001 was never here."),
    )
    built = lock(CANDIDATE, {"demo": "1.2-1", "libc6": "2.36-9", "new": "1"}).packages
    warnings: list[str] = []
    found = fixes.since_release(
        {"demo": "1.0-1", "libc6": "2.36-9", "gone": "3"},
        built,
        [SOURCE],
        arch="amd64",
        indexes=Indexes(entry("demo", "1.2-1")),
        logs=Logs({entry("demo", "1.2-1").deb_url: text}),
        warn=warnings.append,
    )
    assert found == (
        Update(
            name="demo", old="1.0-1", new="1.2-1", cves=("CVE-2026-0001", "CVE-2026-0002"), advisories=("DSA-5999-1",)
        ),
        Update(name="gone", old="3", new=""),
        Update(name="new", old="", new="1"),
    )
    assert warnings == []


def test_an_unreadable_source_keeps_the_update_and_says_why() -> None:
    built = lock(CANDIDATE, {"demo": "1.1-1"}).packages
    warnings: list[str] = []
    found = fixes.since_release(
        {"demo": "1.0-1"},
        built,
        [SOURCE],
        arch="amd64",
        indexes=Indexes(broken=True),
        logs=Logs({}),
        warn=warnings.append,
    )
    assert found == (Update(name="demo", old="1.0-1", new="1.1-1"),)
    assert warnings == [
        "http://deb.example/debian bookworm-security: InRelease: signature by an unknown key; "
        "the ids its packages fix are not known"
    ]
    warnings.clear()
    fixes.since_release(
        {"demo": "1.0-1"},
        built,
        [SOURCE],
        arch="amd64",
        indexes=Indexes(entry("demo", "1.1-1")),
        logs=Logs({}),
        warn=warnings.append,
    )
    assert warnings == ["demo 1.1-1: http://deb.example/debian/pool/demo_1.1-1.deb: HTTP 404"]


def test_a_build_is_fingerprinted_by_each_of_its_inputs() -> None:
    built = lock(CANDIDATE, {"demo": "1.1-1"})
    same = fingerprint.of(
        recipe_sha256="r", dockerfile_sha256="d", base_digest=built.base.digest, inputs=(), offers={"demo": "1.1-1"}
    )
    assert fingerprint.of_lock(built) == same
    assert fingerprint.of_lock(lock(RELEASED, {"demo": "1.1-1"})) == same  # the image's own digest is no input
    changed: list[dict[str, object]] = [
        {"recipe_sha256": "r2"},
        {"dockerfile_sha256": "d2"},
        {"base_digest": "sha256:" + "2" * 64},
        {"offers": {"demo": "1.2-1"}},
        {"inputs": (InputFile(kind="file", path="files/a", sha256="0" * 64, destination="/etc/a"),)},
    ]
    for change in changed:
        arguments: dict[str, object] = {
            "recipe_sha256": "r",
            "dockerfile_sha256": "d",
            "base_digest": built.base.digest,
            "inputs": (),
            "offers": {"demo": "1.1-1"},
            **change,
        }
        assert fingerprint.of(**arguments) != same, change  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("packages", "arch"),
    [({"a": "all"}, "amd64"), ({"a": "arm64", "b": "all"}, "arm64"), ({"a": "amd64", "b": "arm64"}, "amd64")],
)
def test_the_architecture_of_the_indexes(packages: dict[str, str], arch: str) -> None:
    assert fixes.arch_of(Package(name=n, version="1", source=n, architecture=a) for n, a in packages.items()) == arch
