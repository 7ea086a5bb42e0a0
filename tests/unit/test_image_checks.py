"""Image checks, package databases and SBOMs, from facts alone (no engine)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.channel import sbom
from builder.channel.lock import Lock
from builder.core.facts import BaseLock, ImageLock, Package
from builder.image import checks
from builder.recipe.variants import ImageSpec
from builder.upstream import package_db
from tests.support.channel import load_channel
from tests.unit.test_overlay import OVERLAY, channel, load

REPO = Path(__file__).resolve().parents[2]

DPKG_STATUS = """\
Package: libssl3
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: openssl
Version: 3.0.15-1~deb12u1
Description: Secure Sockets Layer toolkit

Package: removed-thing
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: bsdutils
Status: install ok installed
Architecture: amd64
Source: util-linux (2.38.1-5+deb12u3)
Version: 1:2.38.1-5+deb12u3
"""

APK_INSTALLED = """\
C:Q1abc=
P:musl
V:1.2.5-r0
A:x86_64
o:musl

C:Q1def=
P:libcrypto3
V:3.3.2-r0
A:x86_64
o:openssl
"""


def sample_image() -> ImageSpec:
    return load_channel(REPO, environ={})[1].images["debian-base"]


def test_dpkg_status_keeps_installed_packages_with_their_source() -> None:
    assert package_db.from_dpkg_status(DPKG_STATUS) == (
        Package(name="bsdutils", version="1:2.38.1-5+deb12u3", source="util-linux", architecture="amd64"),
        Package(name="libssl3", version="3.0.15-1~deb12u1", source="openssl", architecture="amd64"),
    )


def test_apk_installed() -> None:
    assert package_db.from_apk_installed(APK_INSTALLED) == (
        Package(name="libcrypto3", version="3.3.2-r0", source="openssl", architecture="x86_64"),
        Package(name="musl", version="1.2.5-r0", source="musl", architecture="x86_64"),
    )


def good_facts() -> checks.ImageFacts:
    return checks.ImageFacts(
        user="65532:65532",
        env={"PATH": "/usr/bin"},
        size=1,
        shadow="root:*:19000:0:99999:7:::\nnonroot:!:19000::::::\n",
        dpkg_status=DPKG_STATUS,
    )


def test_static_checks_pass_on_a_hardened_image() -> None:
    results = checks.static_checks(sample_image(), good_facts())
    assert [(r.id, r.passed) for r in results] == [
        ("IC001", True),
        ("IC002", True),
        ("IC003", True),
        ("IC004", True),
        ("IC005", True),
        ("IC006", True),
        ("IC010", True),
        ("IC011", True),
        ("IC012", True),
        ("IC013", True),
        ("IC014", True),
        ("IC015", True),
        ("IC016", True),
    ]


ROOT_WRITES = ("IC016", "the runtime user is root, who can write everything")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"user": ""}, [("IC001", "config User is 'empty (root)', not uid:gid"), ROOT_WRITES]),
        (
            {"user": "app"},
            [
                ("IC001", "config User is 'app', not uid:gid"),
                ("IC016", "cannot tell who the runtime user app is from /etc/passwd and /etc/group"),
            ],
        ),
        ({"user": "0:0"}, [("IC001", "config User 0:0 is root"), ROOT_WRITES]),
        ({"user": "1000:0"}, [("IC001", "config User 1000:0 is root")]),
        (
            {"user": "65532:65532\n"},
            [
                ("IC001", "config User is '65532:65532\\n', not uid:gid"),
                ("IC016", "cannot tell who the runtime user 65532:65532\\x0a is from /etc/passwd and /etc/group"),
            ],
        ),
        ({"setuid": ["/usr/bin/su"]}, [("IC002", "/usr/bin/su")]),
        ({"shadow": "root::19000:0:99999:7:::\n"}, [("IC003", "root has an empty password")]),
        ({"shadow": "app:$6$salt$hash:19000::::::\n"}, [("IC003", "app has a password hash")]),
        (
            {"cache_files": ["/var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease"]},
            [("IC004", "/var/lib/apt/lists/deb.debian.org_dists_bookworm_InRelease")],
        ),
        ({"env": {"DB_PASSWORD": "x"}}, [("IC005", "DB_PASSWORD")]),
        (
            {"dpkg_status": None},
            [
                (
                    "IC006",
                    "no /var/lib/dpkg/status, /var/lib/dpkg/status.d/ or "
                    "/lib/apk/db/installed: scanners would see an empty image",
                )
            ],
        ),
    ],
)
def test_each_check_fails_on_its_own_fault(change: dict[str, object], expected: list[tuple[str, str]]) -> None:
    facts = good_facts()
    for key, value in change.items():
        setattr(facts, key, value)
    bad = checks.failed(checks.static_checks(sample_image(), facts))
    assert [(r.id, r.detail) for r in bad] == expected


def test_sbom_lists_every_locked_package_with_a_purl() -> None:
    lock = Lock(
        image="debian-base",
        version="1.0.0",
        recipe_sha256="0" * 64,
        base=BaseLock(reference="r/library/debian:bookworm-slim", digest="sha256:" + "1" * 64),
        result=ImageLock(
            repository="127.0.0.1:5000/base/debian-base",
            tag="candidate",
            digest="sha256:" + "2" * 64,
            image_id="sha256:" + "3" * 64,
            size=5,
        ),
        packages=package_db.from_dpkg_status(DPKG_STATUS),
        built_at="2026-01-01T00:00:00Z",
    )
    document = json.loads(sbom.render(lock, "debian", "12"))
    assert document["spdxVersion"] == "SPDX-2.3"
    locators = sorted(ref["referenceLocator"] for p in document["packages"][1:] for ref in p["externalRefs"])
    assert locators == [
        "pkg:deb/debian/bsdutils@1%3A2.38.1-5%2Bdeb12u3?arch=amd64&distro=debian-12&upstream=util-linux",
        "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl",
    ]
    described = {r["relatedSpdxElement"] for r in document["relationships"] if r["relationshipType"] == "CONTAINS"}
    assert len(described) == 2


def test_apt_sources_in_both_formats_and_os_release() -> None:
    facts = good_facts()
    facts.apt_lists = {
        "etc/apt/sources.list.d/debian.sources": (
            "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n"
            "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
            "Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\n"
        ),
        "etc/apt/sources.list.d/builder.list": (
            "# local\ndeb [trusted=yes arch=amd64] http://127.0.0.1:8080/ bookworm-security main contrib\n"
        ),
    }
    facts.os_release = (
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n'
    )
    assert [(s.url, s.suite, s.components) for s in facts.apt_sources()] == [
        ("http://127.0.0.1:8080/", "bookworm-security", ("main", "contrib")),
        ("http://deb.debian.org/debian", "bookworm", ("main",)),
        ("http://deb.debian.org/debian", "bookworm-updates", ("main",)),
    ]
    os_release = facts.os()
    assert os_release is not None
    assert (os_release.id, os_release.version_id, os_release.codename) == ("debian", "12", "bookworm")


STATUS_D = {
    "var/lib/dpkg/status.d/libssl3": "Package: libssl3\nArchitecture: amd64\nSource: openssl\n"
    "Version: 3.0.15-1~deb12u1\n",
    "var/lib/dpkg/status.d/tzdata": "Package: tzdata\nArchitecture: all\nVersion: 2026f-0+deb12u1\n",
}


def distroless_image(debug: bool) -> ImageSpec:
    images = load_channel(REPO, environ={})[1].images
    return images["python/distroless-debug" if debug else "python/distroless"]


def distroless_facts(present: set[str]) -> checks.ImageFacts:
    return checks.ImageFacts(user="65532:65532", env={}, size=1, dpkg_status_d=dict(STATUS_D), present=present)


def test_status_d_paragraphs_are_the_package_list() -> None:
    assert distroless_facts(set()).packages() == (
        Package(name="libssl3", version="3.0.15-1~deb12u1", source="openssl", architecture="amd64"),
        Package(name="tzdata", version="2026f-0+deb12u1", source="tzdata", architecture="all"),
    )


@pytest.mark.parametrize(
    ("debug", "present", "passed", "detail"),
    [
        (False, set(), True, ""),
        (False, {"bin/sh", "usr/bin/dpkg"}, False, "/usr/bin/dpkg is present; /bin/sh is present"),
        (False, {"busybox/sh"}, False, "/busybox/sh is present"),
        (True, {"busybox/sh"}, True, ""),
        (True, set(), False, "/busybox/sh is missing: the debug companion carries a busybox shell"),
        (True, {"busybox/sh", "usr/bin/apt-get", "bin/sh"}, False, "/usr/bin/apt-get is present"),
    ],
)
def test_distroless_check(debug: bool, present: set[str], passed: bool, detail: str) -> None:
    results = {r.id: r for r in checks.static_checks(distroless_image(debug), distroless_facts(present))}
    assert (results["IC007"].passed, results["IC007"].detail) == (passed, detail)
    assert results["IC006"].passed


def test_distroless_check_wants_status_d_alone() -> None:
    facts = distroless_facts(set())
    facts.dpkg_status = DPKG_STATUS
    result = {r.id: r for r in checks.static_checks(distroless_image(False), facts)}["IC007"]
    assert (result.passed, result.detail) == (False, "package metadata is not in /var/lib/dpkg/status.d/ alone")


def test_hardened_images_get_no_distroless_check() -> None:
    assert "IC007" not in {r.id for r in checks.static_checks(sample_image(), good_facts())}


def overlay_image(tmp_path: Path) -> ImageSpec:
    return load(channel(tmp_path, overlay=OVERLAY)).images["app"]


def test_committed_files_check(tmp_path: Path) -> None:
    image = overlay_image(tmp_path)
    item = next(i for i in image.inputs if i.kind == "file")
    facts = good_facts()
    facts.committed = {"etc/pip.conf": (item.sha256, "0644", "0:0")}
    results = {r.id: r for r in checks.static_checks(image, facts)}
    assert (results["IC008"].passed, results["IC008"].detail) == (True, "")
    facts.committed = {"etc/pip.conf": ("0" * 64, "0644", "0:0")}
    detail = {r.id: r for r in checks.static_checks(image, facts)}["IC008"].detail
    assert detail.startswith("/etc/pip.conf is " + "0" * 64)
    facts.committed = {}
    assert {r.id: r for r in checks.static_checks(image, facts)}["IC008"].detail == "/etc/pip.conf is missing"


def test_trust_store_check(tmp_path: Path) -> None:
    image = overlay_image(tmp_path)
    pem = (tmp_path / "certificates" / "corp.crt").read_text()
    facts = good_facts()
    facts.ca_bundle = "# other\n" + pem
    assert {r.id: r for r in checks.static_checks(image, facts)}["IC009"].passed
    facts.ca_bundle = ""
    result = {r.id: r for r in checks.static_checks(image, facts)}["IC009"]
    assert (result.passed, result.detail) == (False, "not in the bundle: CN=Corp Root CA (certificates/corp.crt)")
    facts.ca_bundle = None
    result = {r.id: r for r in checks.static_checks(image, facts)}["IC009"]
    assert result.detail == "/etc/ssl/certs/ca-certificates.crt is missing"
