"""InRelease verification and parsing, with keys and signed files made here (gpg and gpgv run for real)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from builder.core.errors import WatchError
from builder.upstream import inrelease
from tests.support.aptrepo import SigningKey

URL = "http://mirror.invalid/debian/dists/bookworm-security/InRelease"
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
SIGNED_AT = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
HASH = "a" * 64
pytestmark = pytest.mark.allow_subprocess  # gpg makes the keys and signatures, gpgv checks them


def release(
    valid_until: str = "Sat, 01 Aug 2026 00:00:00 UTC",
    suite: str = "stable-security",
    codename: str = "bookworm-security",
) -> bytes:
    return (
        f"Origin: Debian\nSuite: {suite}\nCodename: {codename}\nDate: Fri, 01 May 2026 00:00:00 UTC\n"
        f"Valid-Until: {valid_until}\nAcquire-By-Hash: yes\nSHA256:\n"
        f" {HASH}   1234 main/binary-amd64/Packages.xz\n"
        f" {'b' * 64}   5678 main/binary-amd64/Packages\n"
    ).encode()


@pytest.fixture(scope="module")
def key() -> Iterator[SigningKey]:
    with SigningKey() as made:
        yield made


@pytest.fixture(scope="module")
def other() -> Iterator[SigningKey]:
    with SigningKey(user_id="Someone Else <else@builder.invalid>") as made:
        yield made


@pytest.fixture(scope="module")
def keyring(key: SigningKey, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return key.export_public(tmp_path_factory.mktemp("keys") / "repo.gpg")


def test_a_signed_inrelease_is_verified_and_read(key: SigningKey, keyring: Path) -> None:
    text = inrelease.verified_text(key.sign(release(), at=SIGNED_AT, detached=False), keyring, URL)
    parsed = inrelease.parse(text, URL, "bookworm-security", NOW)
    assert parsed.by_hash
    assert parsed.valid_until == dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
    assert parsed.sha256 == {
        "main/binary-amd64/Packages.xz": (HASH, 1234),
        "main/binary-amd64/Packages": ("b" * 64, 5678),
    }


def test_an_armored_key_from_a_recipe_works_too(key: SigningKey, tmp_path: Path) -> None:
    armored = key.export_public(tmp_path / "repo.asc", armored=True)
    signed = key.sign(release(), at=SIGNED_AT, detached=False)
    assert inrelease.verified_text(signed, armored, URL) == release()


def test_text_outside_the_signature_is_never_read(key: SigningKey, keyring: Path) -> None:
    injected = f"SHA256:\n {'e' * 64}   1 main/binary-amd64/Packages.xz\n\n".encode()
    signed = key.sign(release(), at=SIGNED_AT, detached=False)
    for hostile in (injected + signed, signed + b"\n" + injected):
        parsed = inrelease.parse(inrelease.verified_text(hostile, keyring, URL), URL, "bookworm-security", NOW)
        assert parsed.sha256["main/binary-amd64/Packages.xz"] == (HASH, 1234)


def tampered(signed: bytes) -> bytes:
    return signed.replace(HASH.encode(), ("e" * 64).encode(), 1)


BAD = [
    (
        "tampered",
        lambda keys: tampered(keys[0].sign(release(), at=SIGNED_AT, detached=False)),
        f"{URL}: bad signature: the file does not match its signature (tampered with, or damaged)",
    ),
    (
        "another key",
        lambda keys: keys[1].sign(release(), at=SIGNED_AT, detached=False),
        f"{URL}: bad signature: not signed by a key in KEYRING",
    ),
    ("unsigned", lambda _keys: release(), f"{URL}: not a signed InRelease (no OpenPGP signature in it)"),
    (
        "detached signature only",
        lambda keys: keys[0].sign(release(), at=SIGNED_AT, detached=True),
        f"{URL}: not a signed InRelease (no OpenPGP signature in it)",
    ),
]


@pytest.mark.parametrize(("case", "make", "message"), BAD, ids=[case for case, _, _ in BAD])
def test_bad_signatures_are_errors_naming_the_file(
    case: str, make: object, message: str, key: SigningKey, other: SigningKey, keyring: Path
) -> None:
    signed = make((key, other))  # type: ignore[operator]
    with pytest.raises(WatchError) as caught:
        inrelease.verified_text(signed, keyring, URL)
    assert caught.value.message == message.replace("KEYRING", str(keyring))


def test_a_weak_digest_is_refused(tmp_path: Path) -> None:
    with SigningKey(algorithm="rsa2048") as rsa:
        keyring = rsa.export_public(tmp_path / "rsa.gpg")
        signed = rsa._gpg(
            "--local-user",
            rsa.fingerprint,
            "--digest-algo",
            "SHA1",
            "--clearsign",
            "--output",
            "-",
            at=SIGNED_AT,
            stdin=release(),
        )
        with pytest.raises(WatchError) as caught:
            inrelease.verified_text(signed, keyring, URL)
    assert caught.value.message == f"{URL}: signed with a weak digest (MD5, SHA1 or RIPEMD160), which apt refuses"


def test_a_missing_keyring_is_one_clear_line(key: SigningKey, tmp_path: Path) -> None:
    with pytest.raises(WatchError) as caught:
        inrelease.verified_text(key.sign(release(), at=SIGNED_AT, detached=False), tmp_path / "none.gpg", URL)
    assert caught.value.message == f"{URL}: cannot read the keyring {tmp_path / 'none.gpg'}: No such file or directory"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            release(valid_until="Sun, 31 May 2026 23:59:00 UTC"),
            f"{URL}: expired on 2026-05-31 23:59 UTC (Valid-Until): the mirror serves a stale release; "
            "use an up-to-date mirror",
        ),
        (
            release(suite="oldstable", codename="bullseye"),
            f"{URL}: the release is for bullseye / oldstable, not bookworm-security (a mirror serving another "
            "suite's file)",
        ),
        (release(valid_until="someday"), f"{URL}: Valid-Until: 'someday' is not a date"),
        (b"Suite: bookworm-security\nSHA256:\n", f"{URL}: no SHA256 checksums in the release"),
    ],
)
def test_release_fields_that_are_errors(text: bytes, message: str) -> None:
    with pytest.raises(WatchError) as caught:
        inrelease.parse(text, URL, "bookworm-security", NOW)
    assert caught.value.message == message


def test_without_valid_until_a_release_does_not_expire() -> None:
    text = release().replace(b"Valid-Until: Sat, 01 Aug 2026 00:00:00 UTC\n", b"")
    assert inrelease.parse(text, URL, "bookworm-security", NOW + dt.timedelta(days=3650)).valid_until is None
