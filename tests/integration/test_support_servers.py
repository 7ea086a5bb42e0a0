"""The trust helpers do what they promise: signed apt repositories and an HTTPS server behind a test CA.

Each check runs the real verifier (gpgv, apt-get, OpenSSL through urllib) both ways: it accepts what it
should trust and rejects what it should not, so a helper that silently stopped signing would fail here.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
import shutil
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from debian.deb822 import Release

from tests.support.aptrepo import AptRepo, ChangelogEntry, SigningKey
from tests.support.tlsserver import DEFAULT_BODY, HttpsServer, TestCA

DIST = "dists/bookworm-security"
INITIAL = ChangelogEntry("1.0-1", lines=["Initial release."])


@pytest.fixture(scope="module")
def key() -> Iterator[SigningKey]:
    with SigningKey() as signing:
        yield signing


@pytest.fixture(scope="module")
def other_key() -> Iterator[SigningKey]:
    with SigningKey() as signing:
        yield signing


def signed_repo(root: Path, key: SigningKey) -> AptRepo:
    repo = AptRepo(root, signing_key=key)
    repo.add_package("demo", "1.0-1", changelog=[INITIAL])
    repo.publish()
    return repo


def gpgv(home: Path, keyring: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    # gpgv wants a home of its own even with an explicit keyring; never let it fall back to ~/.gnupg.
    home.mkdir(exist_ok=True, mode=0o700)
    return subprocess.run(
        ["gpgv", "--homedir", str(home), "--status-fd", "1", "--keyring", str(keyring), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GNUPGHOME": str(home)},
    )


def agents_for(home: str) -> list[str]:
    """Process ids of gpg-agents started for `home` (gpg passes it on their command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"gpg-agent") and home.encode() in argv:
            found.append(entry.name)
    return found


# -- signing key ----------------------------------------------------------------------------------------


def test_signing_key_exports_and_cleans_up_without_touching_the_users_gnupg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GNUPGHOME", raising=False)
    (tmp_path / "home").mkdir()

    with SigningKey() as signing:
        assert len(signing.fingerprint) == 40
        assert int(signing.fingerprint, 16) >= 0
        home = signing.home
        binary = signing.export_public(tmp_path / "keys" / "repo.gpg")
        armored = signing.export_public(tmp_path / "keys" / "repo.asc", armored=True)
        # A new-format public-key packet (tag 6) or an old-format one: either way not text.
        assert binary.read_bytes()[0] in {0x98, 0x99, 0xC6}
        assert armored.read_text(encoding="ascii").startswith("-----BEGIN PGP PUBLIC KEY BLOCK-----")
        (tmp_path / "probe").mkdir(mode=0o700)
        listing = subprocess.run(
            ["gpg", "--homedir", str(tmp_path / "probe"), "--with-colons", "--show-keys", str(binary)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert f"fpr:::::::::{signing.fingerprint}:" in listing
        assert "Builder Test Repo <repo@builder.invalid>" in listing
        assert agents_for(home), "signing should have started an agent for the temporary home"

    assert not Path(home).exists()
    assert agents_for(home) == []
    assert not (tmp_path / "home" / ".gnupg").exists()
    signing.close()  # closing twice is harmless
    with pytest.raises(RuntimeError, match="closed"):
        signing.sign(b"data", at=dt.datetime.now(dt.UTC), detached=True)


def test_signatures_are_reproducible(key: SigningKey) -> None:
    at = dt.datetime(2026, 1, 1, 0, 1, tzinfo=dt.UTC)
    assert key.sign(b"Origin: x\n", at=at, detached=True) == key.sign(b"Origin: x\n", at=at, detached=True)
    assert key.sign(b"Origin: x\n", at=at, detached=False) == key.sign(b"Origin: x\n", at=at, detached=False)


# -- signed repository ----------------------------------------------------------------------------------


def test_signed_repo_verifies_with_gpgv_and_only_with_its_key(
    tmp_path: Path, key: SigningKey, other_key: SigningKey
) -> None:
    repo = signed_repo(tmp_path / "apt", key)
    dist = repo.root / DIST
    release_bytes = (dist / "Release").read_bytes()
    release = Release(release_bytes.decode())
    assert release["Description"] == "builder test repository (signed)"

    inrelease = (dist / "InRelease").read_text(encoding="utf-8")
    assert inrelease.startswith("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n")
    signed_text = inrelease.split("\n\n", 1)[1].split("-----BEGIN PGP SIGNATURE-----\n", 1)[0]
    assert signed_text == release_bytes.decode()
    assert (dist / "Release.gpg").read_text(encoding="ascii").startswith("-----BEGIN PGP SIGNATURE-----")

    keyring = key.export_public(tmp_path / "repo.gpg")
    good = gpgv(tmp_path / "gpgv", keyring, dist / "InRelease")
    assert good.returncode == 0, good.stderr
    # VALIDSIG <fingerprint> <date> <signature timestamp> ...: signed at the Release date, not "now".
    validsig = next(line.split() for line in good.stdout.splitlines() if line.startswith("[GNUPG:] VALIDSIG"))
    assert validsig[2] == key.fingerprint
    assert int(validsig[4]) == int(email.utils.parsedate_to_datetime(release["Date"]).timestamp())
    detached = gpgv(tmp_path / "gpgv", keyring, dist / "Release.gpg", dist / "Release")
    assert detached.returncode == 0, detached.stderr

    wrong = gpgv(tmp_path / "gpgv", other_key.export_public(tmp_path / "other.gpg"), dist / "InRelease")
    assert wrong.returncode != 0
    assert "NO_PUBKEY" in wrong.stdout

    (dist / "Release").write_bytes(release_bytes.replace(b"Suite:", b"Suite: evil\nX-Suite:"))
    tampered = gpgv(tmp_path / "gpgv", keyring, dist / "Release.gpg", dist / "Release")
    assert tampered.returncode != 0
    assert "BADSIG" in tampered.stdout


def test_signed_repo_is_deterministic_and_unsigned_repo_is_unchanged(tmp_path: Path, key: SigningKey) -> None:
    first, second = signed_repo(tmp_path / "one", key), signed_repo(tmp_path / "two", key)
    for name in ("Release", "InRelease", "Release.gpg"):
        assert (first.root / DIST / name).read_bytes() == (second.root / DIST / name).read_bytes(), name

    # Dropping the key drops the signatures: a stale InRelease would shadow the new Release.
    first.signing_key = None
    first.publish()
    assert not (first.root / DIST / "InRelease").exists()
    assert not (first.root / DIST / "Release.gpg").exists()
    assert Release((first.root / DIST / "Release").read_text(encoding="utf-8"))["Description"] == (
        "builder test repository (unsigned)"
    )


def test_sources_line_trusts_or_names_the_keyring(tmp_path: Path, key: SigningKey) -> None:
    with signed_repo(tmp_path / "apt", key) as repo:
        url = repo.serve()
        assert repo.sources_line() == f"deb [trusted=yes] {url} bookworm-security main"
        assert repo.sources_line(signed_by="/etc/apt/keyrings/repo.gpg") == (
            f"deb [signed-by=/etc/apt/keyrings/repo.gpg] {url} bookworm-security main"
        )
        assert repo.sources_line(signed_by=tmp_path / "repo.asc") == (
            f"deb [signed-by={tmp_path / 'repo.asc'}] {url} bookworm-security main"
        )


def apt_update(where: Path, sources_line: str) -> subprocess.CompletedProcess[str]:
    """`apt-get update` against `sources_line` alone, with state and cache under `where` (no root needed)."""
    empty = where / "empty"
    for directory in (empty, where / "state" / "lists" / "partial", where / "cache" / "archives" / "partial"):
        directory.mkdir(parents=True, exist_ok=True)
    (where / "state" / "status").touch()
    (where / "sources.list").write_text(sources_line + "\n", encoding="utf-8")
    options = {
        "Dir::Etc::SourceList": where / "sources.list",
        "Dir::Etc::SourceParts": empty,
        "Dir::Etc::Trusted": where / "no-trusted.gpg",
        "Dir::Etc::TrustedParts": empty,
        "Dir::State": where / "state",
        "Dir::State::status": where / "state" / "status",
        "Dir::Cache": where / "cache",
        "Debug::NoLocking": "1",
        "Acquire::Languages": "none",
        # Downloads otherwise run as _apt, which cannot write into the test's directories.
        "APT::Sandbox::User": "root" if os.geteuid() == 0 else "",
        "Acquire::http::Proxy": "DIRECT",
    }
    argv = ["apt-get", "-q"]
    for name, value in options.items():
        argv += ["-o", f"{name}={value}"]
    return subprocess.run([*argv, "update"], capture_output=True, text=True, check=False)


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="apt-get is not installed")
def test_apt_get_accepts_the_signed_repo_only_with_its_key(
    tmp_path: Path, key: SigningKey, other_key: SigningKey
) -> None:
    with signed_repo(tmp_path / "apt", key) as repo:
        repo.serve()
        for armored in (False, True):
            keyring = key.export_public(tmp_path / ("repo.asc" if armored else "repo.gpg"), armored=armored)
            accepted = apt_update(tmp_path / f"good-{armored}", repo.sources_line(signed_by=keyring))
            assert accepted.returncode == 0, accepted.stdout + accepted.stderr
            assert "W:" not in accepted.stderr, accepted.stderr
            assert "E:" not in accepted.stderr, accepted.stderr
            lists = [path.name for path in (tmp_path / f"good-{armored}" / "state" / "lists").iterdir()]
            assert any(name.endswith("_InRelease") for name in lists), lists

        rejected = apt_update(
            tmp_path / "wrong", repo.sources_line(signed_by=other_key.export_public(tmp_path / "other.gpg"))
        )
        assert rejected.returncode != 0
        assert "NO_PUBKEY" in rejected.stdout + rejected.stderr


# -- HTTPS behind a test CA -----------------------------------------------------------------------------


def fetch(url: str, context: ssl.SSLContext) -> tuple[int, bytes]:
    # No proxies from the environment: the server is on loopback and must be reached directly.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    with opener.open(url, timeout=10) as answer:
        return int(answer.status), bytes(answer.read())


def test_test_ca_and_server_certificates_have_the_promised_shape() -> None:
    ca = TestCA()
    now = dt.datetime.now(dt.UTC)
    cert = x509.load_pem_x509_certificate(ca.cert_pem)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical
    assert constraints.value.ca
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert abs(cert.not_valid_before_utc - (now - dt.timedelta(days=1))) < dt.timedelta(minutes=1)
    assert abs(cert.not_valid_after_utc - (now + dt.timedelta(days=30))) < dt.timedelta(minutes=1)

    server_pem, key_pem = ca.issue_server()
    server = x509.load_pem_x509_certificate(server_pem)
    assert server.issuer == cert.subject
    server.verify_directly_issued_by(cert)
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usages = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usages
    assert key_pem.startswith(b"-----BEGIN PRIVATE KEY-----")


def test_https_server_is_trusted_with_the_ca_and_rejected_without(tmp_path: Path) -> None:
    ca = TestCA()
    ca_file = ca.write_ca(tmp_path / "ca" / "ca.pem")
    assert ca_file.read_bytes() == ca.cert_pem

    with HttpsServer(ca) as server:
        assert server.url == f"https://127.0.0.1:{server.port}/"
        trusting = ssl.create_default_context(cafile=str(ca_file))
        assert fetch(server.url, trusting) == (200, DEFAULT_BODY)
        # Hostname verification against the DNS name too (localhost may resolve to ::1 first).
        assert fetch(f"https://localhost:{server.port}/", trusting) == (200, DEFAULT_BODY)
        with pytest.raises(urllib.error.HTTPError) as missing:
            fetch(f"{server.url}elsewhere", trusting)
        assert missing.value.code == 404

        for stranger in (ssl.create_default_context(), ssl.create_default_context(cadata=TestCA().cert_pem.decode())):
            with pytest.raises(urllib.error.URLError) as refused:
                fetch(server.url, stranger)
            assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)
        # The failed handshakes did not stop the server.
        assert fetch(server.url, trusting) == (200, DEFAULT_BODY)
        port = server.port

    assert server.hits["/"] == 3
    assert server.handshake_failures == 2
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_https_server_listens_on_loopback_only_and_serves_a_custom_body(tmp_path: Path) -> None:
    with HttpsServer(TestCA(), body=b"internal\n") as server:
        assert server._server is not None
        assert server._server.server_address[0] == "127.0.0.1"
        context = ssl.create_default_context(cadata=server.ca.cert_pem.decode())
        assert fetch(server.url, context) == (200, b"internal\n")
