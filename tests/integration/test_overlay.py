"""An organization's overlay end to end: its CA, its signed apt repository and a config file.

One channel carries recipes/_overlay.yaml; a second, identical but without it, shows
what the overlay changes. Both are built on the real engine and pushed to the real registry.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest
from cryptography.hazmat.primitives import hashes

from builder.cli import main as cli
from builder.image.engine import Engine
from tests.support.aptrepo import AptRepo, ChangelogEntry, SigningKey
from tests.support.channel import make_channel, pushed
from tests.support.tlsserver import HttpsServer, TestCA

FIX = "Fix CVE-2026-4242: corp-tool trusted any certificate."
PIP_CONF = b"[global]\nindex-url = https://pypi.internal.example.com/simple\n"
APP_FILES = """\
files:
  - {source: files/app.toml, destination: /home/nonroot/.config/app/app.toml, owner: user, mode: "0600"}
"""
RECIPE = """\
name: app
description: curl with the organization's tools
version: 1.0.0
distro: debian
from: library/debian:bookworm-slim
packages: [ca-certificates, curl{extra}]
entrypoint: [curl]
{files}variants:
  - name: distroless
    final: distroless
tests:
  - {{name: curl runs, run: [curl, --version]}}
"""


@dataclass
class Org:
    root: Path  # the channel with the overlay
    plain: Path  # the same recipe without it
    repo: AptRepo
    key: SigningKey
    ca: TestCA
    server: HttpsServer


def write_overlay(root: Path, repo: AptRepo, key: SigningKey, ca: TestCA) -> None:
    (root / "certificates").mkdir()
    ca.write_ca(root / "certificates" / "corp-root.crt")
    (root / "keys").mkdir()
    key.export_public(root / "keys" / "corp-packages.asc", armored=True)
    (root / "files").mkdir()
    (root / "files" / "pip.conf").write_bytes(PIP_CONF)
    (root / "files" / "app.toml").write_bytes(b"retries = 3\n")
    (root / "recipes" / "_overlay.yaml").write_text(
        textwrap.dedent(f"""\
        ca_certificates: [certificates/corp-root.crt]
        repositories:
          - {{url: "{repo.url}", suite: internal, signed_by: keys/corp-packages.asc}}
        files:
          - {{source: files/pip.conf, destination: /etc/pip.conf}}
        labels:
          com.example.owner: platform-team
        """),
        encoding="utf-8",
    )


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory, engine: Engine, registry: str) -> Iterator[Org]:
    where = tmp_path_factory.mktemp("org")
    with (
        SigningKey() as key,
        AptRepo(where / "apt", suite="internal", signing_key=key) as repo,
        HttpsServer(TestCA()) as server,
        pytest.MonkeyPatch.context() as patch,
    ):
        repo.add_package(
            "corp-tool",
            "1.0-1",
            arch="all",
            changelog=[ChangelogEntry("1.0-1", distribution="internal", lines=["Initial release."])],
            files={"/usr/bin/corp-tool": b"#!/bin/sh\necho corp-tool 1.0\n"},
        )
        repo.publish()
        repo.serve()
        patch.setenv("BUILDER_CACHE_DIR", str(where / "cache"))
        (where / "plain").mkdir()
        (where / "org").mkdir()
        plain = make_channel(where / "plain", registry, patch, {"app": RECIPE.format(extra="", files="")})
        assert cli.main(["--root", str(plain), "build", "--push", "app"]) == 0
        root = make_channel(
            where / "org", registry, patch, {"app": RECIPE.format(extra=", corp-tool", files=APP_FILES)}
        )
        write_overlay(root, repo, key, server.ca)
        assert cli.main(["--root", str(root), "build", "--push", "--jobs", "2"]) == 0
        yield Org(root, plain, repo, key, server.ca, server)


def run_on_host_network(image: str, argv: list[str]) -> tuple[int, str]:
    """Run argv with the host's network, to reach a server on 127.0.0.1; exit code and output."""
    client = docker.from_env()
    container = client.containers.create(image, entrypoint=argv[:1], command=argv[1:], network_mode="host")
    try:
        container.start()
        status = container.wait(timeout=60)
        return int(status["StatusCode"]), container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)


@pytest.mark.parametrize("image_id", ["app", "app/distroless"])
def test_tls_to_an_internal_server_works_with_the_overlay_ca(org: Org, image_id: str) -> None:
    reference, _ = pushed(org.root, image_id)
    code, output = run_on_host_network(reference, ["curl", "-sS", "--max-time", "20", org.server.url])
    assert (code, output) == (0, "hello from the internal network\n")


def test_tls_to_the_internal_server_fails_without_the_overlay(org: Org) -> None:
    reference, _ = pushed(org.plain, "app")
    code, output = run_on_host_network(reference, ["curl", "-sS", "--max-time", "20", org.server.url])
    assert code == 60, output  # curl: peer certificate cannot be authenticated with known CA certificates
    assert "certificate" in output


def test_the_signed_repository_package_is_installed_and_everything_is_in_the_lock(org: Org, engine: Engine) -> None:
    reference, lock = pushed(org.root, "app")
    assert {"name": "corp-tool", "version": "1.0-1"} in [{"name": p.name, "version": p.version} for p in lock.packages]
    assert engine.run(reference, ["corp-tool"]).stdout == "corp-tool 1.0\n"
    assert [(s.url, s.suite) for s in lock.apt_sources if s.url == org.repo.url] == [(org.repo.url, "internal")]
    by_destination = {item.destination: item for item in lock.inputs}
    home_file = engine.run(
        reference,
        [
            "stat",
            "-c",
            "%u:%g %a %n",
            "/home/nonroot/.config/app/app.toml",
            "/home/nonroot/.config/app",
            "/home/nonroot/.config",
        ],
    )
    assert home_file.stdout.split("\n")[:3] == [
        "65532:65532 600 /home/nonroot/.config/app/app.toml",
        "65532:65532 755 /home/nonroot/.config/app",
        "65532:65532 755 /home/nonroot/.config",
    ]
    assert {c.split(" ")[0] for c in lock.checks} >= {"IC008", "IC009"}
    inputs = {item.kind: item for item in lock.inputs}
    assert inputs["ca-certificate"].certificates[0].sha256 == org.ca.cert.fingerprint(hashes.SHA256()).hex()
    assert inputs["repository-key"].destination == "/etc/apt/keyrings/corp-packages.asc"
    assert (by_destination["/etc/pip.conf"].kind, by_destination["/etc/pip.conf"].owner) == ("file", "0:0")
    assert by_destination["/home/nonroot/.config/app/app.toml"].mode == "0600"
    conf = engine.run(reference, ["stat", "-c", "%u:%g %a", "/etc/pip.conf"])
    assert conf.stdout.strip() == "0:0 644"
    assert engine.run(reference, ["cat", "/etc/pip.conf"]).stdout.encode() == PIP_CONF
    _, plain = pushed(org.plain, "app")
    assert plain.inputs == ()
    details = engine.inspect(reference)
    assert details.labels["com.example.owner"] == "platform-team"


def test_the_distroless_image_has_the_file_and_the_internal_package(org: Org, engine: Engine) -> None:
    reference, lock = pushed(org.root, "app/distroless")
    assert "corp-tool" in {p.name for p in lock.packages}
    assert engine.run(reference, ["/bin/sh", "-c", "true"]).exit_code != 0
    # No cat or stat here: curl reads the file for us.
    conf = engine.run(reference, ["curl", "-sS", "file:///etc/pip.conf"])
    assert conf.stdout.encode() == PIP_CONF


def test_watch_follows_the_internal_repository(org: Org, capsys: pytest.CaptureFixture[str]) -> None:
    org.repo.add_package(
        "corp-tool",
        "1.1-1",
        arch="all",
        changelog=[
            ChangelogEntry("1.1-1", distribution="internal", lines=[FIX]),
            ChangelogEntry("1.0-1", distribution="internal", lines=["Initial release."]),
        ],
        files={"/usr/bin/corp-tool": b"#!/bin/sh\necho corp-tool 1.1\n"},
    )
    org.repo.publish()
    capsys.readouterr()
    assert cli.main(["--root", str(org.root), "watch", "--json", "app"]) == 1
    report = json.loads(capsys.readouterr().out)
    updates = [
        p
        for item in report["images"]
        if item["image"] == "app"
        for f in item["findings"]
        if f["kind"] == "security-update"
        for p in f["packages"]
    ]
    corp = [p for p in updates if p["name"] == "corp-tool"]
    assert [(p["old"], p["new"], p["cves"]) for p in corp] == [("1.0-1", "1.1-1", ["CVE-2026-4242"])]


def test_a_changed_committed_file_rebuilds_the_image(
    org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(org.root, copy)
    (copy / "files" / "pip.conf").write_bytes(PIP_CONF + b"timeout = 30\n")
    capsys.readouterr()
    assert cli.main(["--root", str(copy), "plan", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    steps = {step["image"]: step for level in plan["levels"] for step in level}
    assert steps["app"]["reasons"] == ["recipe changed"]


def test_a_repository_signed_with_another_key_fails_the_build(
    org: Org, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(org.root, copy)
    with SigningKey(user_id="Someone Else <else@builder.invalid>") as other:
        other.export_public(copy / "keys" / "corp-packages.asc", armored=True)
    capsys.readouterr()
    assert cli.main(["--root", str(copy), "build", "app"]) != 0
    output = capsys.readouterr()
    assert "NO_PUBKEY" in output.out + output.err
