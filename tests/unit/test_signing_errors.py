"""Bad keys, settings and `vex:` entries, and the one line each gives; keygen, and the published policies."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from builder.cli import main as cli
from builder.core import settings
from builder.core.errors import ConfigError, RecipeError
from builder.recipe import graph
from builder.recipe import load as recipes
from builder.recipe.variants import spec_sha256
from builder.signing import admission, keys, sign
from builder.signing.errors import SigningError

PASSWORD = "pw"
# go-securesystemslib encrypted/encrypted_test.go TestUnsupportedKDFParameters.
UNSUPPORTED = (
    b'{"kdf":{"name":"scrypt","params":{"N":99,"r":99,"p":99},'
    b'"salt":"cZFcQJdwPhPyhU1R4qkl0qVOIjZd4V/7LYYAavq166k="},'
    b'"cipher":{"name":"nacl/secretbox","nonce":"7vhRS7j0hEPBWV05skAdgLj81AkGeE7U"},'
    b'"ciphertext":"6WYU/YSXVbYzl/NzaeAzmjLyfFhOOjLc0d8/GFV0aBFdJvyCcXc="}'
)


def _pkcs8(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _sealed(der: bytes) -> bytes:
    return keys.pem(keys.PRIVATE_PEM, keys.seal(der, PASSWORD))


def _good() -> bytes:
    return keys.encrypt(keys.generate(), PASSWORD)


_EC = ec.generate_private_key(ec.SECP256R1())
BAD_PRIVATE_KEYS: list[tuple[str, Callable[[], bytes | None], str, str]] = [
    ("missing", lambda: None, PASSWORD, "{path}: no such private key file"),
    ("not PEM", lambda: b"hello\n", PASSWORD, "{path}: not a PEM private key (one -----BEGIN ...----- block)"),
    (
        "unencrypted",
        lambda: _EC.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        PASSWORD,
        "{path}: a 'PRIVATE KEY' PEM block; the signing key must be encrypted with a password in cosign's format "
        "(ENCRYPTED SIGSTORE PRIVATE KEY): make one with `builder keygen`, or `cosign import-key-pair`",
    ),
    (
        "unencrypted EC",
        lambda: _EC.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ),
        PASSWORD,
        "{path}: a 'EC PRIVATE KEY' PEM block; the signing key must be encrypted with a password in cosign's format "
        "(ENCRYPTED SIGSTORE PRIVATE KEY): make one with `builder keygen`, or `cosign import-key-pair`",
    ),
    (
        "public",
        lambda: keys.generate().public.pem(),  # noqa: PLW0108
        PASSWORD,
        "{path}: a public key; the signing key is the private one (cosign.key)",
    ),
    ("wrong password", _good, "not the password", "{path}: wrong password for this key (BUILDER_SIGNING_KEY_PASSWORD)"),
    (
        "RSA",
        lambda: _sealed(_pkcs8(rsa.generate_private_key(65537, 2048))),
        PASSWORD,
        "{path}: a RSA key; the channel signs with ECDSA P-256 keys (make one with `builder keygen`)",
    ),
    (
        "Ed25519",
        lambda: _sealed(_pkcs8(ed25519.Ed25519PrivateKey.generate())),
        PASSWORD,
        "{path}: a Ed25519 key; the channel signs with ECDSA P-256 keys (make one with `builder keygen`)",
    ),
    (
        "P-384",
        lambda: _sealed(_pkcs8(ec.generate_private_key(ec.SECP384R1()))),
        PASSWORD,
        "{path}: an ECDSA key on secp384r1; the channel signs with ECDSA P-256 keys (make one with `builder keygen`)",
    ),
    ("not PKCS#8", lambda: _sealed(b"not der"), PASSWORD, "{path}: the decrypted key is not a PKCS#8 private key"),
    (
        "damaged",
        lambda: keys.pem(keys.PRIVATE_PEM, b'{"kdf":{}}'),
        PASSWORD,
        "{path}: the encrypted key is damaged (not the JSON cosign writes)",
    ),
    (
        "huge scrypt",
        lambda: keys.pem(keys.PRIVATE_PEM, UNSUPPORTED),
        "supersecret",
        "{path}: unsupported key encryption scrypt {'N': 99, 'r': 99, 'p': 99} / nacl/secretbox: expected scrypt "
        "(N 32768, 65536 or 131072, r 8, p 1) and nacl/secretbox",
    ),
    (
        "too large",
        lambda: b"x" * (keys.MAX_KEY_FILE + 1),
        PASSWORD,
        "{path}: larger than 65536 bytes: not a private key",
    ),
]


@pytest.mark.parametrize(
    ("case", "content", "password", "message"), BAD_PRIVATE_KEYS, ids=[case[0] for case in BAD_PRIVATE_KEYS]
)
def test_bad_private_keys(
    tmp_path: Path, case: str, content: Callable[[], bytes | None], password: str, message: str
) -> None:
    path = tmp_path / "cosign.key"
    data = content()
    if data is not None:
        path.write_bytes(data)
    with pytest.raises(SigningError) as caught:
        keys.load_private(path, password)
    assert caught.value.message == message.replace("{path}", str(path))
    assert caught.value.exit_code == 16


def test_a_hostile_path_is_escaped(tmp_path: Path) -> None:
    with pytest.raises(SigningError) as caught:
        keys.load_private(tmp_path / "evil\x1b[2J\nerror: forged", PASSWORD)
    assert caught.value.message == f"{tmp_path}/evil\\x1b[2J\\x0aerror: forged: no such private key file"


BAD_PUBLIC_KEYS: list[tuple[str, Callable[[], bytes], str]] = [
    ("private", _good, "{path}: a 'ENCRYPTED SIGSTORE PRIVATE KEY' PEM block, not a public key (PUBLIC KEY)"),
    (
        "RSA",
        lambda: (
            rsa.generate_private_key(65537, 2048)
            .public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        ),
        "{path}: a RSA key; the channel's keys are ECDSA P-256",
    ),
    ("garbage", lambda: keys.pem("PUBLIC KEY", b"garbage"), "{path}: not a PKIX public key"),
]


@pytest.mark.parametrize(("case", "content", "message"), BAD_PUBLIC_KEYS, ids=[c[0] for c in BAD_PUBLIC_KEYS])
def test_bad_public_keys(tmp_path: Path, case: str, content: Callable[[], bytes], message: str) -> None:
    path = tmp_path / "cosign.pub"
    path.write_bytes(content())
    with pytest.raises(SigningError) as caught:
        keys.load_public(path)
    assert caught.value.message == message.replace("{path}", str(path))


def _channel(tmp_path: Path, extra: str = "") -> settings.Settings:
    (tmp_path / "pyproject.toml").write_text(f"[tool.builder]\n{extra}")
    return settings.load(tmp_path, {})


def _pair(folder: Path, name: str) -> keys.SigningKey:
    key = keys.generate()
    keys.write_pair(key, PASSWORD, folder / f"{name}.key", folder / f"{name}.pub")
    return key


def test_signing_key_from_the_environment(tmp_path: Path) -> None:
    a, b = _pair(tmp_path, "a"), _pair(tmp_path, "b")
    env = {"BUILDER_SIGNING_KEY": str(tmp_path / "a.key"), "BUILDER_SIGNING_KEY_PASSWORD": PASSWORD}
    assert sign.key_from_env(_channel(tmp_path), {}) is None
    found = sign.key_from_env(_channel(tmp_path, 'trusted_keys = ["a.pub", "b.pub"]'), env)
    assert found is not None
    assert found.public.id == a.public.id
    cases = [
        (
            "require_signing = true",
            {},
            "require_signing is true and BUILDER_SIGNING_KEY is not set: set it to the "
            "private key file (cosign.key) and BUILDER_SIGNING_KEY_PASSWORD to its password",
        ),
        (
            "",
            {"BUILDER_SIGNING_KEY": str(tmp_path / "a.key")},
            "BUILDER_SIGNING_KEY is set but BUILDER_SIGNING_KEY_PASSWORD is not: set it to the key's password",
        ),
        (
            'trusted_keys = ["b.pub"]',
            env,
            f"the signing key {a.public.id[:19]} is not among trusted_keys: add its "
            "public key there first, or consumers could not verify what it signs",
        ),
        (
            'trusted_keys = ["a.pub", "b.pub"]\nrevoked_keys = ["a.pub"]',
            env,
            f"the signing key {a.public.id[:19]} is revoked (revoked_keys): sign with a trusted key",
        ),
    ]
    for extra, environ, message in cases:
        with pytest.raises(SigningError) as caught:
            sign.key_from_env(_channel(tmp_path, extra), environ)
        assert caught.value.message == message
    assert b.public.id != a.public.id


BAD_SETTINGS = [
    (
        'trusted_keys = "a.pub"',
        '[tool.builder] trusted_keys: expected a list of public key files (PEM), e.g. ["keys/cosign.pub"]',
    ),
    (
        "revoked_keys = [1]",
        '[tool.builder] revoked_keys: expected a list of public key files (PEM), e.g. ["keys/cosign.pub"]',
    ),
    ('require_signing = "yes"', "[tool.builder] require_signing: 'yes' is not true or false"),
    ("trusted_key = []", "pyproject.toml: [tool.builder] trusted_key: unknown setting (did you mean 'trusted_keys'?)"),
]


@pytest.mark.parametrize(("extra", "message"), BAD_SETTINGS)
def test_bad_signing_settings(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _channel(tmp_path, extra)
    assert caught.value.message == message


def test_signing_settings_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.builder]\n")
    loaded = settings.load(tmp_path, {"BUILDER_TRUSTED_KEYS": "a.pub, /keys/b.pub", "BUILDER_REQUIRE_SIGNING": "true"})
    assert loaded.trusted_keys == (tmp_path / "a.pub", Path("/keys/b.pub"))
    assert loaded.require_signing is True


RECIPE = "name: app\ndescription: d\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\nvex:\n"
BAD_VEX = [
    (
        "  - {cve: CVE-26-1, status: under_investigation}",
        "recipes/app.yaml:7:6: vex[0].cve: 'CVE-26-1' is not a CVE id (CVE-YYYY-NNNN)",
    ),
    (
        "  - {cve: CVE-2026-1234, status: not_affected}",
        "recipes/app.yaml:7:5: vex[0]: status not_affected needs a justification (one of OpenVEX's: "
        "component_not_present, vulnerable_code_not_present, ...)",
    ),
    (
        "  - {cve: CVE-2026-1234, status: under_investigation, justification: component_not_present}",
        "recipes/app.yaml:7:5: vex[0]: a justification is only for status not_affected, not under_investigation",
    ),
    (
        "  - {cve: CVE-2026-1234, status: fixed}",
        "recipes/app.yaml:7:26: vex[0].status: 'fixed' is not one of "
        "not_affected or under_investigation (use one of not_affected or under_investigation)",
    ),
]


@pytest.mark.parametrize(("entry", "message"), BAD_VEX)
def test_bad_vex_entries(tmp_path: Path, entry: str, message: str) -> None:
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "app.yaml").write_text(RECIPE + entry + "\n")
    with pytest.raises(RecipeError) as caught:
        graph.build(recipes.load_dir(folder, tmp_path))
    (problem,) = caught.value.problems
    assert str(problem) == message


def test_vex_entries_shape_nothing(tmp_path: Path) -> None:
    hashes: list[str] = []
    for entry in ("", "  - {cve: CVE-2026-1234, status: under_investigation}\n"):
        folder = tmp_path / f"r{len(hashes)}" / "recipes"
        folder.mkdir(parents=True)
        (folder / "app.yaml").write_text(RECIPE.removesuffix("vex:\n") + ("vex:\n" + entry if entry else ""))
        channel = graph.build(recipes.load_dir(folder, folder.parent))
        hashes.append(spec_sha256(channel.images["app"]))
    assert hashes[0] == hashes[1]


def test_keygen_writes_a_pair_and_refuses_to_overwrite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BUILDER_SIGNING_KEY_PASSWORD", PASSWORD)
    prefix = tmp_path / "keys" / "release"
    assert cli.main(["keygen", "--output-prefix", str(prefix)]) == 0
    private, public = tmp_path / "keys" / "release.key", tmp_path / "keys" / "release.pub"
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert keys.load_private(private, PASSWORD).public.id == keys.load_public(public).id
    assert sorted(p.name for p in private.parent.iterdir()) == ["release.key", "release.pub"]  # no temp files
    before = private.read_bytes()
    capsys.readouterr()
    assert cli.main(["keygen", "--output-prefix", str(prefix)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {private}, {public} already exist(s): choose another --output-prefix, or --force"
    )
    assert private.read_bytes() == before
    monkeypatch.setenv("BUILDER_SIGNING_KEY_PASSWORD", "")
    assert cli.main(["keygen", "--output-prefix", str(prefix), "--force"]) == 16
    assert capsys.readouterr().err.strip() == (
        "error: an empty password would leave the private key unprotected; choose one"
    )
    assert private.read_bytes() == before


def test_published_keys_and_policies(tmp_path: Path) -> None:
    a, b = _pair(tmp_path, "a"), _pair(tmp_path, "b")
    config = _channel(
        tmp_path,
        'registry = "registry.example:5000"\nnamespace = "base"\n'
        'trusted_keys = ["a.pub", "b.pub"]\nrevoked_keys = ["a.pub"]\n',
    )
    stale = tmp_path / "base-images" / "keys" / "0000000000000000.pub"
    stale.parent.mkdir(parents=True)
    stale.write_text("an old key")
    written = admission.write(config).written
    out = tmp_path / "base-images"
    assert sorted(str(p.relative_to(out)) for p in written) == sorted(
        [
            f"keys/{admission.key_file(b.public)}",
            f"keys/revoked/{admission.key_file(a.public)}",
            "policy/policy.json",
            "policy/registries.d/builder-channel.yaml",
            "policy/cluster-image-policy.yaml",
            "policy/kyverno-cluster-policy.yaml",
        ]
    )
    assert not stale.exists()
    policy = json.loads((out / "policy" / "policy.json").read_text())
    assert policy == {
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {
                "registry.example:5000/base": [
                    {
                        "type": "sigstoreSigned",
                        "keyDatas": [base64.b64encode(b.public.pem()).decode()],
                        "signedIdentity": {"type": "matchRepository"},
                    }
                ]
            }
        },
    }
    assert yaml.safe_load((out / "policy" / "registries.d" / "builder-channel.yaml").read_text()) == {
        "docker": {"registry.example:5000/base": {"use-sigstore-attachments": True}}
    }
    cip = yaml.safe_load((out / "policy" / "cluster-image-policy.yaml").read_text())
    assert cip["spec"]["images"] == [{"glob": "registry.example:5000/base/**"}]
    assert [x["key"]["data"] for x in cip["spec"]["authorities"]] == [b.public.pem().decode()]
    kyverno = yaml.safe_load((out / "policy" / "kyverno-cluster-policy.yaml").read_text())
    only, signed = kyverno["spec"]["rules"]
    assert only["validate"]["pattern"]["spec"]["=(containers)"] == [{"image": "registry.example:5000/base/*"}]
    (verify,) = signed["verifyImages"]
    assert verify["imageReferences"] == ["registry.example:5000/base/*"]
    assert [e["keys"]["publicKeys"] for e in verify["attestors"][0]["entries"]] == [b.public.pem().decode().strip()]
