"""Alpine version ordering, pair by pair, as `apk version -t` orders them."""

from __future__ import annotations

import pytest

from builder.upstream.apk_version import compare


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("1.2.3-r0", "1.2.3-r1"),
        ("1.2.3_rc1", "1.2.3"),
        ("1.2.3_alpha", "1.2.3_beta"),
        ("1.2.3", "1.2.3_p1"),
        ("1.2.3", "1.2.3a"),
        ("3.3.2-r0", "3.3.10-r0"),
        ("1.02", "1.1"),
        ("1.0", "1.0.1"),
        ("2.38-r1", "2.38-r10"),
        ("1.2.3_git20240101", "1.2.3_p0"),
        ("8.11.1-r0", "8.12.0-r0"),
    ],
)
def test_ordering(older: str, newer: str) -> None:
    assert compare(older, newer) == -1
    assert compare(newer, older) == 1


@pytest.mark.parametrize("version", ["1.2.3-r0", "1.0_rc2", "20240101"])
def test_equal(version: str) -> None:
    assert compare(version, version) == 0


@pytest.mark.parametrize("bad", ["", "v1.2", "1.2-3", "1..2", "1.2_foo", "1.2\n", "1.2-r1\n"])
def test_unparsable_versions_fail_closed(bad: str) -> None:
    with pytest.raises(ValueError, match="not an apk version"):
        compare(bad, "1.0")
