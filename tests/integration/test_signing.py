"""Signed releases on the real registry, checked by `builder verify` and by skopeo 1.18 (trixie).

One image is built and released for the whole module (through a fault proxy, so that a
registry refusing the `.sig` push can be shown); every test reads that release.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from builder.channel import history, layout
from builder.channel import lock as lockfile
from builder.cli import main as cli
from builder.image.engine import Engine
from builder.signing import admission, dsse, keys, sign, simplesigning
from builder.signing.errors import SigningError
from builder.signing.store import Layer, Store, sha256, tag_for
from builder.upstream.registry import INDEX_TYPES, Manifest, RegistryClient
from tests.support import skopeo
from tests.support.channel import load_channel, make_channel
from tests.support.faultproxy import FaultProxy

PASSWORD = "correct horse battery staple"
RECIPE = (
    "name: app\ndescription: signing test\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"
    "vex:\n  - {cve: CVE-2026-0001, status: not_affected, justification: vulnerable_code_not_present}\n"
    "  - {cve: CVE-2026-0002, status: under_investigation}\n"
)
PROVENANCE = "https://slsa.dev/provenance/v1"
VEX = "https://openvex.dev/ns/v0.2.0"
SPDX = "https://spdx.dev/Document"
INDEX = INDEX_TYPES[0]


@dataclass(frozen=True)
class Released:
    root: Path
    repository: str
    digest: str
    keys: Path  # key-a.key/.pub (signs the release), key-b.key/.pub (another key)
    proxy: FaultProxy
    skopeo: str


def cli_run(capsys: pytest.CaptureFixture[str] | None, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    if capsys is None:
        return code, "", ""
    out, err = capsys.readouterr()
    return code, out, err


def release(root: Path) -> tuple[int, str]:
    """`builder release`: its exit code and the last line it wrote to stderr."""
    with contextlib.redirect_stderr(io.StringIO()) as err:
        code = cli.main(["--root", str(root), "release"])
    return code, err.getvalue().strip().splitlines()[-1]


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory, engine: Engine, registry: str) -> Iterator[Released]:
    where = tmp_path_factory.mktemp("signing")
    tag = skopeo.image(registry)
    with pytest.MonkeyPatch.context() as patch, FaultProxy(f"http://{registry}") as proxy:
        through = proxy.start().removeprefix("http://")
        root = make_channel(where, registry, patch, {"app": RECIPE})
        patch.setenv("BUILDER_REGISTRY", through)
        patch.setenv("BUILDER_SIGNING_KEY_PASSWORD", PASSWORD)
        folder = where / "keys"
        for name in ("key-a", "key-b"):
            assert cli.main(["keygen", "--output-prefix", str(folder / name)]) == 0
        assert cli.main(["--root", str(root), "build", "--push"]) == 0
        lock = json.loads((root / "base-images" / "app" / "image.lock.json").read_text())
        repository, digest = lock["result"]["repository"], lock["result"]["digest"]
        patch.setenv("BUILDER_TRUSTED_KEYS", str(folder / "key-a.pub"))
        patch.setenv("BUILDER_SIGNING_KEY", str(folder / "key-a.key"))

        # A wrong password, then a registry refusing the signature: no tag moved, nothing recorded.
        patch.setenv("BUILDER_SIGNING_KEY_PASSWORD", "not the password")
        assert release(root) == (
            16,
            f"error: {folder}/key-a.key: wrong password for this key (BUILDER_SIGNING_KEY_PASSWORD)",
        )
        assert RegistryClient().digest_or_none(f"{repository}:1.0.0") is None
        patch.setenv("BUILDER_SIGNING_KEY_PASSWORD", PASSWORD)
        proxy.fail(403, times=1, path_contains=".sig", method="PUT")
        sig = f"{repository.replace(through, f'http://{through}/v2', 1)}/manifests/{tag_for(digest, 'sig')}"
        assert release(root) == (
            16,
            f"error: app 1.0.0: signing {repository}@{digest[:19]} failed: PUT {sig}: "
            "HTTP 403: access denied (check the credentials for this registry); the "
            "release is not recorded as signed (run `builder release` again to finish)",
        )
        assert RegistryClient().digest_or_none(f"{repository}:1.0.0") is None
        assert not (root / "base-images" / "app" / "releases.json").exists()
        assert not (root / "base-images" / "app" / "signatures.json").exists()
        proxy.clear()

        assert cli.main(["--root", str(root), "release"]) == 0
        yield Released(root, repository, digest, folder, proxy, tag)


def test_release_attaches_a_signature_and_three_attestations(released: Released) -> None:
    store = Store()
    sig = store.attached(released.repository, released.digest, "sig")
    assert [layer.media_type for layer in sig] == [simplesigning.MEDIA_TYPE]
    payload = store.blob(released.repository, sig[0].digest)
    assert payload == simplesigning.payload(released.repository, released.digest)
    signature = base64.b64decode(sig[0].annotations[simplesigning.SIGNATURE_ANNOTATION])
    assert keys.load_public(released.keys / "key-a.pub").verifies(payload, signature)

    att = store.attached(released.repository, released.digest, "att")
    assert sorted(layer.annotations[dsse.PREDICATE_ANNOTATION] for layer in att) == sorted([SPDX, PROVENANCE, VEX])
    trusted = [keys.load_public(released.keys / "key-a.pub")]
    found = {}
    for layer in att:
        attestation, _ = dsse.open_envelope(store.blob(released.repository, layer.digest), trusted)
        assert attestation.digests == (released.digest,)
        found[attestation.predicate_type] = attestation.predicate
    lock = json.loads((released.root / "base-images" / "app" / "image.lock.json").read_text())
    deps = {d["name"]: d for d in found[PROVENANCE]["buildDefinition"]["resolvedDependencies"]}
    assert deps["base"]["digest"] == {"sha256": lock["base"]["digest"].removeprefix("sha256:")}
    assert deps["dockerfile"]["digest"] == {"sha256": lock["dockerfile_sha256"]}
    assert deps["recipe"]["digest"] == {"sha256": lock["recipe_sha256"]}
    assert [(s["vulnerability"]["name"], s["status"]) for s in found[VEX]["statements"]] == [
        ("CVE-2026-0001", "not_affected"),
        ("CVE-2026-0002", "under_investigation"),
    ]
    assert found[SPDX]["packages"][0]["checksums"][0]["checksumValue"] == released.digest.removeprefix("sha256:")

    record = json.loads((released.root / "base-images" / "app" / "signatures.json").read_text())
    assert [(s["digest"], s["key"]) for s in record["signed"]] == [
        (released.digest, keys.load_public(released.keys / "key-a.pub").id)
    ]
    published = released.root / "base-images"
    assert (published / "keys" / admission.key_file(trusted[0])).read_bytes() == trusted[0].pem()
    for name in (
        "policy.json",
        "registries.d/builder-channel.yaml",
        "cluster-image-policy.yaml",
        "kyverno-cluster-policy.yaml",
    ):
        assert (published / "policy" / name).is_file()


def test_verify_accepts_the_release(released: Released, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli_run(capsys, "--root", str(released.root), "verify", "--json", f"{released.repository}:1.0.0")
    (verdict,) = json.loads(out)["images"]
    assert (code, verdict["status"], verdict["digest"], verdict["version"]) == (0, "verified", released.digest, "1.0.0")
    assert verdict["attestations"] == sorted([SPDX, PROVENANCE, VEX])
    # A newer release in the catalog makes it stale, with the CVEs it lacks.
    index = json.loads((released.root / "base-images" / "index.json").read_text())
    newer = dict(
        index["images"][0]["versions"][0], version="1.0.1", digest="sha256:" + "e" * 64, cves_fixed=["CVE-2026-4242"]
    )
    index["images"][0]["versions"].insert(0, newer)
    catalog = released.root / "newer-index.json"
    catalog.write_text(json.dumps(index))
    code, out, _ = cli_run(
        capsys,
        "--root",
        str(released.root),
        "verify",
        "--catalog",
        str(catalog),
        f"{released.repository}@{released.digest}",
    )
    assert code == 19
    assert "newer release: 1.0.1 (CVEs fixed since: CVE-2026-4242)" in out


def _policy_folder(released: Released, where: Path) -> Path:
    """The published policy.json and registries.d, and the keys, as skopeo gets them in /work."""
    shutil.copytree(released.root / "base-images" / "policy", where)
    shutil.copytree(released.keys, where / "keys")
    (where / "pass").write_text(PASSWORD)
    (where / "open.json").write_text(json.dumps({"default": [{"type": "insecureAcceptAnything"}]}))
    return where


def _admitted(released: Released, folder: Path, source: str) -> subprocess.CompletedProcess[str]:
    """skopeo copy under the channel's published policy.json and registries.d."""
    return skopeo.run(
        released.skopeo,
        folder,
        "--policy",
        "/work/policy.json",
        "--registries.d",
        "/work/registries.d",
        "copy",
        "--src-tls-verify=false",
        f"docker://{source}",
        "dir:/tmp/out",
    )


def _push(released: Released, folder: Path, source: str, target: str, *sign: str) -> None:
    done = skopeo.run(
        released.skopeo,
        folder,
        "--policy",
        "/work/open.json",
        "--registries.d",
        "/work/registries.d",
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        *sign,
        f"docker://{source}",
        f"docker://{target}",
    )
    assert done.returncode == 0, done.stderr


def _refused(released: Released, folder: Path, source: str) -> None:
    done = _admitted(released, folder, source)
    assert done.returncode != 0, f"skopeo admitted {source}"
    assert "signature" in done.stderr.lower(), done.stderr


def test_skopeo_admits_signed_and_refuses_unsigned_foreign_and_tampered(
    released: Released, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _policy_folder(released, tmp_path / "work")
    root, repository = str(released.root), released.repository
    for source in (f"{repository}:1.0.0", f"{repository}@{released.digest}"):
        done = _admitted(released, folder, source)
        assert done.returncode == 0, done.stderr
    registry = repository.split("/", 1)[0]

    # Unsigned: another image under the channel's repository.
    unsigned = f"{repository}:unsigned"
    _push(released, folder, f"{registry}/library/debian:trixie-slim", unsigned)
    _refused(released, folder, unsigned)
    code, out, _ = cli_run(capsys, "--root", root, "verify", unsigned)
    assert code == 17
    assert f"{unsigned}: not-signed: no signature" in out

    # Foreign: signed by skopeo with key B (made by `builder keygen`), which the channel does not trust.
    foreign = f"{repository}:foreign"
    _push(
        released,
        folder,
        f"{registry}/library/debian:bookworm-slim",
        foreign,
        "--sign-by-sigstore-private-key",
        "/work/keys/key-b.key",
        "--sign-passphrase-file",
        "/work/pass",
    )
    _refused(released, folder, foreign)
    code, out, _ = cli_run(capsys, "--root", root, "verify", foreign)
    assert code == 17
    assert "none of 1 signature(s) verifies with a trusted key for this repository and digest" in out
    # Given key B, builder verify accepts skopeo's signature (and says the image is no release).
    code, out, _ = cli_run(
        capsys, "--root", root, "verify", "--json", "--key", str(released.keys / "key-b.pub"), foreign
    )
    (verdict,) = json.loads(out)["images"]
    assert (code, verdict["status"]) == (18, "not-in-channel")
    assert verdict["key"] == keys.load_public(released.keys / "key-b.pub").id

    # Tampered: the release's signature moved onto a payload naming the unsigned digest.
    store = Store()
    target = store.digest(unsigned)
    (layer,) = store.attached(repository, released.digest, "sig")
    forged = simplesigning.payload(repository, target)
    store.attach(
        repository,
        target,
        "sig",
        [],
        [(Layer(simplesigning.MEDIA_TYPE, sha256(forged), len(forged), dict(layer.annotations)), forged)],
    )
    _refused(released, folder, unsigned)
    code, out, _ = cli_run(capsys, "--root", root, "verify", f"{repository}@{target}")
    assert code == 17
    assert "none of 1 signature(s) verifies with a trusted key" in out


def test_skopeo_keys_sign_for_builder_and_builder_keys_sign_for_skopeo(released: Released, tmp_path: Path) -> None:
    folder = _policy_folder(released, tmp_path / "work")
    done = skopeo.run(
        released.skopeo,
        folder,
        "generate-sigstore-key",
        "--output-prefix",
        "/work/skopeo",
        "--passphrase-file",
        "/work/pass",
    )
    assert done.returncode == 0, done.stderr
    key = keys.load_private(folder / "skopeo.private", PASSWORD)
    assert key.public.id == keys.load_public(folder / "skopeo.pub").id
    with pytest.raises(SigningError, match="wrong password for this key"):
        keys.load_private(folder / "skopeo.private", "not it")


def test_an_index_is_signed_with_its_platform_manifests(released: Released) -> None:
    store = Store()
    child = store.manifest(f"{released.repository}@{released.digest}")
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": INDEX,
            "manifests": [
                {
                    "mediaType": child.media_type,
                    "digest": child.digest,
                    "size": len(child.body),
                    "platform": {"os": "linux", "architecture": "amd64"},
                }
            ],
        }
    ).encode()
    index = Manifest(INDEX, sha256(body), body)
    store.put_manifest(f"{released.repository}:multi", index)
    config, channel = load_channel(released.root)
    record = history.read(config.output_dir / "app" / layout.RELEASES, "app")
    lock = lockfile.read(config.output_dir / "app" / layout.LOCK)
    assert lock is not None
    assert lock.result is not None
    as_index = record.releases[0].model_copy(update={"digest": index.digest})
    built = lock.model_copy(update={"result": lock.result.model_copy(update={"digest": index.digest})})
    key = keys.load_private(released.keys / "key-a.key", PASSWORD)
    outcome = sign.Signer(config, channel, key, store).sign("app", as_index, built)
    assert outcome.added == 4  # the index's signature and attestations; the platform manifest had its own
    assert len(store.attached(released.repository, index.digest, "sig")) == 1
    assert len(store.attached(released.repository, index.digest, "att")) == 3
    assert len(store.attached(released.repository, released.digest, "sig")) == 1


def test_key_rotation(released: Released, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    root, ref = str(released.root), f"{released.repository}@{released.digest}"
    a, b = released.keys / "key-a.pub", released.keys / "key-b.pub"
    monkeypatch.setenv("BUILDER_TRUSTED_KEYS", f"{a},{b}")
    assert cli_run(capsys, "--root", root, "verify", ref)[0] == 0  # signed with A; A and B trusted
    monkeypatch.setenv("BUILDER_REVOKED_KEYS", str(a))
    code, out, _ = cli_run(capsys, "--root", root, "verify", ref)
    assert code == 17
    assert f"signed only by the revoked key {keys.load_public(a).id}" in out
    # A release run with the new key signs what is missing: B's signature and attestations join A's.
    # This release's lock is gone (a later build replaced it): the statements A attested are signed again.
    monkeypatch.setenv("BUILDER_SIGNING_KEY", str(released.keys / "key-b.key"))
    monkeypatch.setenv("BUILDER_REVOKED_KEYS", "")
    lock = released.root / "base-images" / "app" / "image.lock.json"
    lock.rename(lock.with_suffix(".away"))
    code, out, _ = cli_run(capsys, "--root", root, "release")
    lock.with_suffix(".away").rename(lock)
    assert code == 0
    assert "signed app 1.0.0 (released before it was signed)" in out
    assert len(Store().attached(released.repository, released.digest, "sig")) == 2
    assert len(Store().attached(released.repository, released.digest, "att")) == 6
    monkeypatch.setenv("BUILDER_REVOKED_KEYS", str(a))
    assert cli_run(capsys, "--root", root, "verify", ref)[0] == 0
    code, out, _ = cli_run(capsys, "--root", root, "release")  # nothing left to sign
    assert (code, "signed" in out) == (0, False)
    # With the record lost, the registry is asked: what is there already is not signed again.
    (released.root / "base-images" / "app" / "signatures.json").unlink()
    code, out, _ = cli_run(capsys, "--root", root, "release")
    assert "recorded app 1.0.0 as signed (the registry has its signature and attestations)" in out
    assert code == 0
    assert len(Store().attached(released.repository, released.digest, "sig")) == 2
    assert len(Store().attached(released.repository, released.digest, "att")) == 6
    assert tag_for(released.digest, "sig") == released.digest.replace(":", "-") + ".sig"


def test_without_a_key_a_release_warns_or_fails(
    released: Released, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BUILDER_SIGNING_KEY")
    code, out, err = cli_run(capsys, "--root", str(released.root), "release")
    assert (code, out.strip()) == (0, "0 image(s) released")
    assert err.strip() == (
        "warning: releases are not signed: set BUILDER_SIGNING_KEY and "
        "BUILDER_SIGNING_KEY_PASSWORD (`builder keygen` makes a key), or require_signing = true "
        "to make this an error"
    )
    monkeypatch.setenv("BUILDER_REQUIRE_SIGNING", "true")
    code, _, err = cli_run(capsys, "--root", str(released.root), "release")
    assert code == 16
    assert err.strip() == (
        "error: require_signing is true and BUILDER_SIGNING_KEY is not set: set it to the private "
        "key file (cosign.key) and BUILDER_SIGNING_KEY_PASSWORD to its password"
    )
