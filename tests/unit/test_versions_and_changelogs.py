"""Debian version ordering and what a changelog says a new version fixes."""

from __future__ import annotations

import pytest
from debian.debian_support import Version

from builder.core.errors import WatchError
from builder.upstream import debian_changelog


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("2.36-9+deb12u9", "2.36-9+deb12u10"),  # numeric, not lexical
        ("1.0~rc1-1", "1.0-1"),  # ~ sorts before anything
        ("1.0-1", "1.0-1+b1"),  # binNMU
        ("9.9-1", "1:1.0-1"),  # an epoch wins
        ("3.0.11-1~deb12u2", "3.0.15-1~deb12u1"),
        ("20230311", "20230311+deb12u1"),
        ("5.36.0-7+deb12u3", "5.36.0-7+deb12u4"),
    ],
)
def test_debian_ordering(older: str, newer: str) -> None:
    assert Version(older) < Version(newer)


CHANGELOG = """\
openssl (3.0.17-1~deb12u3) bookworm-security; urgency=medium

  * Non-maintainer upload by the Security Team.
  * Fix CVE-2026-1111 and CVE-2026-2222 (DSA-6001-1).

 -- Security Team <team@security.debian.org>  Mon, 02 Nov 2026 10:00:00 +0000

openssl (3.0.17-1~deb12u2) bookworm-security; urgency=medium

  * Fix CVE-2026-0001.
  * Fix CVE-2026-1111 regression.

 -- Security Team <team@security.debian.org>  Mon, 05 Oct 2026 10:00:00 +0000

openssl (3.0.17-1~deb12u1) bookworm; urgency=medium

  * New upstream stable release, fixing CVE-2025-9999.

 -- Maintainer <m@example.org>  Mon, 01 Jun 2026 10:00:00 +0000
"""


def test_changes_since_the_locked_version() -> None:
    changes = debian_changelog.fixes_since(CHANGELOG, "3.0.17-1~deb12u1")
    assert [(c.version, c.cves, c.advisories) for c in changes] == [
        ("3.0.17-1~deb12u3", ("CVE-2026-1111", "CVE-2026-2222"), ("DSA-6001-1",)),
        ("3.0.17-1~deb12u2", ("CVE-2026-0001", "CVE-2026-1111"), ()),
    ]
    assert changes[0].summary == "Non-maintainer upload by the Security Team."
    assert debian_changelog.fixes_since(CHANGELOG, "3.0.17-1~deb12u3") == []


def test_an_unparsable_locked_version_fails_closed() -> None:
    with pytest.raises(WatchError, match="unparsable locked version"):
        debian_changelog.fixes_since(CHANGELOG, "not a version!")
