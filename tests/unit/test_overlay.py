"""Organization overlays and committed files: merge rules, and each bad input's exact message."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from builder.core import settings
from builder.core.errors import RecipeError
from builder.dockerfile import render
from builder.recipe import graph
from builder.recipe.variants import effective_spec, spec_sha256
from tests.support.channel import load_channel

RECIPE = """\
name: app
description: An application base
version: 1.0.0
distro: debian
from: debian:bookworm-slim
packages: [curl]
"""
PGP = b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ...\n-----END PGP PUBLIC KEY BLOCK-----\n"


def ca_pem(expired: bool = False, days: int = 365) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Corp Root CA")])
    now = dt.datetime.now(dt.UTC)
    start, end = (
        (now - dt.timedelta(days=30), now - dt.timedelta(days=1))
        if expired
        else (now - dt.timedelta(days=1), now + dt.timedelta(days=days))
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def private_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def channel(
    tmp_path: Path, recipe: str = RECIPE, overlay: str | None = None, files: dict[str, bytes] | None = None
) -> Path:
    (tmp_path / "recipes").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.builder]\nregistry = "registry.example.com"\n')
    (tmp_path / "recipes" / "app.yaml").write_text(recipe, encoding="utf-8")
    if overlay is not None:
        (tmp_path / "recipes" / "_overlay.yaml").write_text(overlay, encoding="utf-8")
    for rel, data in {
        "certificates/corp.crt": ca_pem(),
        "keys/corp.asc": PGP,
        "files/pip.conf": b"[global]\n",
        **(files or {}),
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(data)
    return tmp_path


def load(root: Path) -> graph.Channel:
    return load_channel(root, environ={})[1]


def problems(root: Path) -> list[str]:
    with pytest.raises(RecipeError) as caught:
        load(root)
    return [str(p) for p in caught.value.problems]


OVERLAY = """\
ca_certificates: [certificates/corp.crt]
repositories:
  - {url: "https://apt.corp.example/debian", suite: bookworm, signed_by: keys/corp.asc}
files:
  - {source: files/pip.conf, destination: /etc/pip.conf}
packages: [ca-certificates]
labels: {com.example.team: platform}
"""


def test_overlay_lists_append_first_and_maps_merge(tmp_path: Path) -> None:
    root = channel(
        tmp_path,
        RECIPE
        + "packages: [curl]\nlabels: {com.example.app: web}\n".replace("packages: [curl]\n", "")
        + "ca_certificates: [certificates/corp.crt]\n",
        OVERLAY,
    )
    image = load(root).images["app"]
    recipe = image.recipe
    assert recipe.packages == ("ca-certificates", "curl")
    assert recipe.labels == {"com.example.team": "platform", "com.example.app": "web"}
    assert recipe.ca_certificates == ("certificates/corp.crt",)  # the same item twice is one
    assert [r.url for r in recipe.repositories] == ["https://apt.corp.example/debian"]
    assert [(i.kind, i.destination) for i in image.inputs] == [
        ("ca-certificate", "/usr/local/share/ca-certificates/corp.crt"),
        ("repository-key", "/etc/apt/keyrings/corp.asc"),
        ("file", "/etc/pip.conf"),
    ]
    file_sha = hashlib.sha256(b"[global]\n").hexdigest()
    assert f"file files/pip.conf sha256:{file_sha} -> /etc/pip.conf 0:0 0644" in effective_spec(image).inputs


def test_overlay_repositories_go_to_their_distro_only(tmp_path: Path) -> None:
    overlay = (
        'repositories:\n  - {distro: alpine, url: "https://apk.corp.example/main", signed_by: keys/corp.rsa.pub}\n'
    )
    root = channel(tmp_path, overlay=overlay, files={"keys/corp.rsa.pub": b"-----BEGIN PUBLIC KEY-----\nx\n"})
    assert load(root).images["app"].recipe.repositories == ()


def test_a_changed_committed_file_changes_the_spec_hash(tmp_path: Path) -> None:
    root = channel(tmp_path, overlay=OVERLAY)
    before = spec_sha256(load(root).images["app"])
    (root / "files" / "pip.conf").write_bytes(b"[global]\ntimeout = 30\n")
    assert spec_sha256(load(root).images["app"]) != before


@pytest.mark.parametrize(
    ("recipe_extra", "overlay", "expected"),
    [
        (
            "labels: {com.example.team: web}\n",
            OVERLAY,
            "recipes/app.yaml:7:10: labels.com.example.team: label com.example.team is 'web' here and "
            "'platform' in recipes/_overlay.yaml:7 (lists append and maps merge, but one key cannot have "
            "two values: keep one)",
        ),
        (
            "files: [{source: files/pip.conf, destination: /etc/pip.conf, mode: '0600'}]\n",
            OVERLAY,
            "recipes/app.yaml:7:9: files[0]: files entry /etc/pip.conf differs in recipes/_overlay.yaml:5 "
            "(lists append and maps merge, but one key cannot have two values: keep one)",
        ),
        (
            "repositories: [{url: 'https://apt.corp.example/debian', suite: bookworm, signed_by: keys/other.asc}]\n",
            OVERLAY,
            "recipes/app.yaml:7:16: repositories[0]: repositories entry https://apt.corp.example/debian "
            "bookworm differs in recipes/_overlay.yaml:3 (lists append and maps merge, but one key cannot "
            "have two values: keep one)",
        ),
    ],
)
def test_overlay_conflicts_name_both_sources(tmp_path: Path, recipe_extra: str, overlay: str, expected: str) -> None:
    root = channel(tmp_path, RECIPE + recipe_extra, overlay, files={"keys/other.asc": PGP})
    assert problems(root) == [expected]


def test_overlay_errors_are_located_in_the_overlay(tmp_path: Path) -> None:
    root = channel(tmp_path, overlay="ca_certificates: [../corp.crt]\nlables: {}\n")
    assert problems(root) == [
        "recipes/_overlay.yaml:1:19: ca_certificates[0]: '../corp.crt' leaves or walks around the "
        "repository (no .., . or // parts); give the plain path from the repository root",
        "recipes/_overlay.yaml:2:1: lables: unknown field 'lables' (did you mean 'labels'?)",
    ]


def test_overlay_package_refused_by_a_distroless_recipe_names_the_overlay(tmp_path: Path) -> None:
    root = channel(tmp_path, RECIPE + "final: distroless\n", "packages: [bash]\n")
    assert problems(root) == [
        "recipes/_overlay.yaml:1:12: packages[0]: the recipe is distroless, which carries no shell or package "
        "manager, so bash cannot be staged; drop them, or make it `final: hardened` (after merging "
        "recipes/_overlay.yaml)"
    ]


BAD_INPUTS = [
    (
        "ca_certificates: [certificates/missing.crt]",
        {},
        "recipes/app.yaml:7:19: ca_certificates[0]: certificates/missing.crt does not exist in the "
        "repository (commit it, or fix the path)",
    ),
    (
        "ca_certificates: [certificates/bad.crt]",
        {"certificates/bad.crt": b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
        "recipes/app.yaml:7:19: ca_certificates[0]: certificates/bad.crt: ",
    ),
    (
        "ca_certificates: [certificates/key.crt]",
        {"certificates/key.crt": private_pem()},
        "recipes/app.yaml:7:19: ca_certificates[0]: certificates/key.crt holds a private key (-----BEGIN "
        "PRIVATE KEY-----): never commit it; remove it from the repository and its history, and rotate it",
    ),
    (
        "ca_certificates: [certificates/old.crt]",
        {"certificates/old.crt": ca_pem(expired=True)},
        "recipes/app.yaml:7:19: ca_certificates[0]: certificates/old.crt: ",
    ),
    (
        "ca_certificates: [/etc/ssl/corp.crt]",
        {},
        "recipes/app.yaml:7:19: ca_certificates[0]: '/etc/ssl/corp.crt' is absolute; give the path from "
        "the repository root (e.g. files/pip.conf)",
    ),
    (
        "ca_certificates: ['https://corp.example/root.crt']",
        {},
        "recipes/app.yaml:7:19: ca_certificates[0]: 'https://corp.example/root.crt' is a URL; commit the "
        "file and give its path in the repository (e.g. files/pip.conf)",
    ),
    (
        "files: [{source: files/../../etc/passwd, destination: /etc/x}]",
        {},
        "recipes/app.yaml:7:10: files[0].source: 'files/../../etc/passwd' leaves or walks around the "
        "repository (no .., . or // parts); give the plain path from the repository root",
    ),
    (
        "files: [{source: files/link, destination: /etc/x}]",
        {"@link files/link": b"/etc/hostname"},
        "recipes/app.yaml:7:10: files[0].source: files/link is a symlink out of the repository; commit the file itself",
    ),
    (
        "files: [{source: files/id_ed25519, destination: /etc/x}]",
        {"files/id_ed25519": private_pem()},
        "recipes/app.yaml:7:10: files[0].source: files/id_ed25519 holds a private key (-----BEGIN PRIVATE "
        "KEY-----): never commit it; remove it from the repository and its history, and rotate it",
    ),
    (
        "files: [{source: files/pip.conf, destination: /etc/x, mode: '0666'}]",
        {},
        "recipes/app.yaml:7:55: files[0].mode: '0666' is world-writable; drop the o+w bit (e.g. \"0644\")",
    ),
    (
        "files: [{source: files/pip.conf, destination: /etc/x, mode: '4755'}]",
        {},
        "recipes/app.yaml:7:55: files[0].mode: '4755' is not an octal file mode like \"0644\" (quote it; "
        "setuid, setgid and sticky bits are not allowed)",
    ),
    (
        "files: [{source: files/pip.conf, destination: /etc/x, mode: '0664'}]",
        {},
        "recipes/app.yaml:7:9: files[0]: mode 0664 lets the group write a root-owned file; drop g+w or "
        "set `owner: user`",
    ),
    (
        "files: [{source: files/pip.conf, destination: /etc/passwd}]",
        {},
        "recipes/app.yaml:7:9: files[0]: destination /etc/passwd is managed by the builder; set `user:` instead",
    ),
    (
        "files: [{source: files/pip.conf, destination: /home/nonroot/.pip/pip.conf}]",
        {},
        "recipes/app.yaml:7:34: files[0].destination: /home/nonroot/.pip/pip.conf is in the home of nonroot, who can "
        "replace it whoever owns it: say who owns it, `owner: user` (the program may change it) or "
        "`owner: root`",
    ),
    (
        "files: [{source: files/pip.conf, destination: /etc/a}, {source: files/p2.conf, destination: /etc/a}]",
        {"files/p2.conf": b"x"},
        "recipes/app.yaml:7:57: files[1].source: lands on /etc/a, as recipes/app.yaml:7 does (rename one of the files)",
    ),
    (
        "repositories: [{url: 'https://apt.corp.example/', suite: stable}]",
        {},
        "recipes/app.yaml:7:16: repositories[0]: an unsigned repository is refused: give `signed_by: "
        "keys/NAME.asc` (its public key, committed here)",
    ),
    (
        "repositories: [{url: 'https://apt.corp.example/', suite: stable, signed_by: keys/corp.gpg}]",
        {"keys/corp.gpg": PGP},
        "recipes/app.yaml:7:66: repositories[0].signed_by: keys/corp.gpg is not a binary OpenPGP keyring; "
        "export it with `gpg --export KEYID > keys/corp.gpg`",
    ),
    (
        "repositories: [{url: 'https://apt.corp.example/', suite: stable, signed_by: keys/corp.asc}]",
        {"keys/corp.asc": b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n"},
        "recipes/app.yaml:7:66: repositories[0].signed_by: keys/corp.asc holds a private key (-----BEGIN "
        "PGP PRIVATE KEY BLOCK-----): never commit it; remove it from the repository and its history, "
        "and rotate it",
    ),
    (
        "files: [{source: files/pip.conf, destination: /etc/a}, {source: files/pip.conf, destination: /etc/b, "
        "mode: '0600'}]",
        {},
        "recipes/app.yaml:7:57: files[1].source: files/pip.conf is copied with mode 0600 "
        "here and 0644 at recipes/app.yaml:7 (one file has one mode: commit a copy for the other)",
    ),
    (
        "files: [{source: .git/config, destination: /etc/x}]",
        {},
        "recipes/app.yaml:7:10: files[0].source: '.git/config' is inside .git, which holds the checkout's "
        "credentials and history; commit the file elsewhere",
    ),
    (
        "files: [{source: Dockerfile, destination: /etc/x}]",
        {},
        "recipes/app.yaml:7:10: files[0].source: 'Dockerfile' is a name the build context reserves for "
        "itself; move the file into a folder (e.g. files/)",
    ),
    (
        "files: [{source: files/pip.conf, destination: /}]",
        {},
        "recipes/app.yaml:7:9: files[0]: destination / is a folder: give the file's full path, e.g. /etc/pip.conf",
    ),
    (
        "files: [{source: files/pip.conf, destination: /tmp/seed}]",
        {},
        "recipes/app.yaml:7:9: files[0]: destination /tmp/seed is managed by the builder; it is emptied at "
        "the end of the build",
    ),
    (
        "ca_certificates: [certificates/corp.crt, certificates/copy/corp.crt]",
        {"certificates/copy/corp.crt": ca_pem()},
        "recipes/app.yaml:7:42: ca_certificates[1]: lands on /usr/local/share/ca-certificates/corp.crt, as "
        "recipes/app.yaml:7 does (rename one of the files)",
    ),
]


@pytest.mark.parametrize(("line", "extra", "expected"), BAD_INPUTS, ids=[b[2][18:70] for b in BAD_INPUTS])
def test_bad_input(tmp_path: Path, line: str, extra: dict[str, bytes], expected: str) -> None:
    links = {k.removeprefix("@link "): v for k, v in extra.items() if k.startswith("@link ")}
    root = channel(tmp_path, RECIPE + line + "\n", files={k: v for k, v in extra.items() if not k.startswith("@link ")})
    for rel, target in links.items():
        os.symlink(target.decode(), root / rel)
    found = problems(root)
    assert len(found) == 1, found
    assert found[0].startswith(expected) if expected.endswith(": ") else found[0] == expected


def test_nothing_is_written_when_an_input_is_bad(tmp_path: Path) -> None:
    root = channel(tmp_path, RECIPE + "ca_certificates: [certificates/missing.crt]\n")
    with pytest.raises(RecipeError):
        load(root)
    assert not (root / "base-images").exists()


def test_rendered_copy_lines_and_modes(tmp_path: Path) -> None:
    recipe = RECIPE + (
        "files:\n  - {source: files/pip.conf, destination: /home/nonroot/.config/pip/pip.conf,"
        " owner: user, mode: '0600'}\n"
    )
    overlay = OVERLAY.replace("files:\n  - {source: files/pip.conf", "files:\n  - {source: files/p2.conf")
    root = channel(tmp_path, recipe, overlay, files={"files/p2.conf": b"x\n"})
    config = settings.load(root, environ={})
    chan = load(root)
    text = render.render_dockerfile(render.render_input(config, chan, chan.images["app"]))
    run = text.index("\nRUN ")
    # Certificates and keys before the RUN that uses them; files after it, so nothing overwrites them.
    assert text.index('COPY ["certificates/corp.crt", "/usr/local/share/ca-certificates/corp.crt"]') < run
    assert text.index('COPY ["keys/corp.asc", "/etc/apt/keyrings/corp.asc"]') < run
    assert text.index('COPY --chown=0:0 ["files/p2.conf", "/etc/pip.conf"]') > run
    assert text.index('COPY --chown=65532:65532 ["files/pip.conf", "/home/nonroot/.config/pip/pip.conf"]') > run
    assert (
        "deb [signed-by=/etc/apt/keyrings/corp.asc] https://apt.corp.example/debian bookworm main' \\\n"
        "        > /etc/apt/sources.list.d/builder-app.list" in text
    )
    assert "    update-ca-certificates; \\\n" in text
    assert "chown 65532:65532 /home/nonroot/.config" not in text  # COPY --chown owns what it creates
    modes = {i.destination: (i.owner, i.mode) for i in chan.images["app"].inputs}
    assert modes["/home/nonroot/.config/pip/pip.conf"] == ("65532:65532", "0600")


def test_one_key_may_sign_several_repositories(tmp_path: Path) -> None:
    overlay = (
        "repositories:\n"
        "  - {url: 'https://apt.corp.example/debian', suite: bookworm, signed_by: keys/corp.asc}\n"
        "  - {url: 'https://apt.corp.example/debian', suite: bookworm-security, signed_by: keys/corp.asc}\n"
    )
    image = load(
        channel(
            tmp_path,
            RECIPE + "repositories: [{url: 'https://apt.corp.example/extra', "
            "suite: stable, signed_by: keys/corp.asc}]\n",
            overlay,
        )
    ).images["app"]
    assert len(image.recipe.repositories) == 3
    assert [i.destination for i in image.inputs] == ["/etc/apt/keyrings/corp.asc"]


def test_variant_labels_conflict_with_the_overlay_too(tmp_path: Path) -> None:
    root = channel(tmp_path, RECIPE + "variants: [{name: slim, labels: {com.example.team: web}}]\n", OVERLAY)
    assert problems(root) == [
        "recipes/app.yaml:7:34: variants[0].labels.com.example.team: label com.example.team is 'web' here "
        "and 'platform' in recipes/_overlay.yaml:7 (lists append and maps merge, but one key cannot have "
        "two values: keep one)"
    ]


def test_an_error_in_what_the_overlay_adds_points_at_the_overlay(tmp_path: Path) -> None:
    root = channel(tmp_path, overlay="packages: [Bad_Pkg]\n")
    found = problems(root)
    assert len(found) == 1
    assert found[0].startswith(
        "recipes/_overlay.yaml:1:12: packages[0]: 'Bad_Pkg' is not a valid debian package name"
    ), found[0]
