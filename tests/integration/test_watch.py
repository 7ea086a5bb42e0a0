"""Watch end to end: a security fix lands in a real apt repository, an upstream image moves."""

from __future__ import annotations

import datetime as dt
import functools
import http.server
import io
import json
import os
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from builder.channel import lock as lockfile
from builder.channel.layout import ImageFiles
from builder.channel.lock import Lock
from builder.cli import main as cli
from builder.core.facts import AptSource, BaseLock, ImageLock, OsRelease, Package
from builder.dockerfile import render
from builder.image import plan
from builder.image.engine import Engine
from builder.recipe.variants import spec_sha256
from builder.upstream.registry import RegistryClient
from tests.support import cleanup
from tests.support.apksign import pem, sign
from tests.support.aptrepo import AptRepo, ChangelogEntry, SigningKey
from tests.support.channel import load_channel, make_channel

FIX = "Fix CVE-2026-1234: heap overflow in the frobnicator (Closes: #1000001)"


def watch_json(root: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = cli.main(["--root", str(root), "watch", "--json"])
    document = json.loads(capsys.readouterr().out)
    assert document["schema_version"] == 1
    return code, {item["image"]: item for item in document["images"]}


def findings(item: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [f for f in item["findings"] if f["kind"] == kind]


def test_security_fix_and_moved_upstream_are_reported_with_cascade(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: Engine,
    registry: str,
    signed_repo: tuple[AptRepo, SigningKey],
) -> None:
    repo, key = signed_repo
    # An upstream of our own, so that moving it disturbs nothing else.
    upstream = f"{registry}/{cleanup.scratch('up')}/debian"
    engine.tag(f"{registry}/library/debian:bookworm-slim", upstream, "bookworm-slim")
    engine.push(upstream, "bookworm-slim")
    upstream_name = upstream.split("/", 1)[1]
    root = make_channel(
        tmp_path,
        registry,
        monkeypatch,
        {
            "demo": (
                f"name: demo\ndescription: installs demo\nversion: 1.0.0\ndistro: debian\n"
                f"from: {upstream_name}:bookworm-slim\npackages: [demo]\n"
                f"repositories: [{{url: '{repo.url}', suite: bookworm-security, signed_by: keys/repo.asc}}]\n"
            ),
            "app": "name: app\ndescription: on demo\nversion: 1.0.0\ndistro: debian\nfrom: {recipe: demo}\n",
            "other": (
                f"name: other\ndescription: no demo\nversion: 1.0.0\ndistro: debian\n"
                f"from: {upstream_name}:bookworm-slim\n"
            ),
        },
    )
    key.export_public(root / "keys" / "repo.asc", armored=True)
    monkeypatch.setenv("BUILDER_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    lock = json.loads((root / "base-images" / "demo" / "image.lock.json").read_text())
    assert {"name": "demo", "version": "1.0-1", "source": "demo", "architecture": "amd64"} in lock["packages"]
    assert {"url": repo.url, "suite": "bookworm-security", "components": ["main"], "kind": "apt"} in lock["apt_sources"]

    code, items = watch_json(root, capsys)
    assert findings(items["demo"], "security-update") == []
    assert code in (0, 1)  # the live Debian suites may move on their own; demo must not

    # A security fix lands: 1.1-1, whose changelog names a CVE.
    repo.add_package(
        "demo",
        "1.1-1",
        changelog=[ChangelogEntry("1.1-1", lines=[FIX]), ChangelogEntry("1.0-1", lines=["Initial release."])],
    )
    repo.publish()
    code, items = watch_json(root, capsys)
    assert code == 1
    updates = [p for f in findings(items["demo"], "security-update") for p in f["packages"]]
    demo = [p for p in updates if p["name"] == "demo"]
    assert demo == [
        {
            "name": "demo",
            "source": "demo",
            "old": "1.0-1",
            "new": "1.1-1",
            "suite": "bookworm-security",
            "cves": ["CVE-2026-1234"],
            "advisories": [],
            "summary": FIX,
        }
    ]
    assert [f["summary"] for f in findings(items["app"], "parent-rebuilt")] == ["demo is stale and will be rebuilt"]
    assert findings(items["other"], "security-update") == [] or all(
        p["name"] != "demo" for f in findings(items["other"], "security-update") for p in f["packages"]
    )

    # Nothing changed: the signed InRelease answers 304 and no index is fetched again.
    index_path = "/dists/bookworm-security/main/binary-amd64/Packages.xz"
    before = dict(repo.hits)
    watch_json(root, capsys)
    assert repo.hits[index_path] == before[index_path]
    assert repo.hits["/dists/bookworm-security/InRelease"] == before["/dists/bookworm-security/InRelease"] + 1
    assert repo.requests[-1] == ("GET", "/dists/bookworm-security/InRelease", 304)

    # A new upstream image under the same tag.
    changed = engine.build(
        f"FROM {upstream}:bookworm-slim\nRUN echo patched > /etc/upstream-patch\n",
        f"{upstream}:bookworm-slim",
        {},
        pull=False,
        on_line=lambda _l: None,
    )
    assert changed
    engine.push(upstream, "bookworm-slim")
    code, items = watch_json(root, capsys)
    assert code == 1
    assert [f["kind"] for f in items["other"]["findings"]] == ["upstream-digest"]
    assert findings(items["demo"], "upstream-digest")
    assert findings(items["app"], "parent-rebuilt")


def test_a_broken_index_fails_that_image_only(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: Engine,
    registry: str,
    repo: AptRepo,
) -> None:
    root = make_channel(
        tmp_path,
        registry,
        monkeypatch,
        {
            "demo": (
                f"name: demo\ndescription: installs demo\nversion: 1.0.0\ndistro: debian\n"
                f"from: debian:bookworm-slim\npackages: [demo]\n"
                f"repositories: [{{url: '{repo.url}', suite: bookworm-security, trusted: true}}]\n"
            ),
            "plain": "name: plain\ndescription: plain\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n",
        },
    )
    monkeypatch.setenv("BUILDER_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    for name in ("Packages.xz", "Packages.gz", "Packages"):
        (repo.root / "dists" / "bookworm-security" / "main" / "binary-amd64" / name).unlink()
    code, items = watch_json(root, capsys)
    assert code == 12
    assert items["demo"]["errors"] == [
        f"{repo.url.rstrip('/')}/dists/bookworm-security/main/binary-amd64/"
        "Packages.xz: not found (HTTP 404), though the release lists it"
    ]
    assert items["plain"]["errors"] == []


def apkindex(folder: Path, packages: dict[str, str], key: rsa.RSAPrivateKey, key_name: str) -> None:
    """An APKINDEX.tar.gz as Alpine's mirrors serve it, signed as abuild-sign signs it."""
    text = "\n".join(f"C:Q1{name}=\nP:{name}\nV:{version}\nA:x86_64\no:{name}\n" for name, version in packages.items())
    data = text.encode() + b"\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("APKINDEX")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    (folder / "x86_64").mkdir(parents=True, exist_ok=True)
    (folder / "x86_64" / "APKINDEX.tar.gz").write_bytes(sign(buffer.getvalue(), key, key_name))


def test_alpine_updates_from_apkindex(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], engine: Engine, registry: str
) -> None:
    mirror = tmp_path / "alpine" / "v3.20" / "main"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_name = "packages@example.com-1.rsa.pub"
    apkindex(mirror, {"musl": "1.2.5-r1", "libcrypto3": "3.3.2-r10", "busybox": "1.36.1-r29"}, key, key_name)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "alpine"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v3.20/main"
        # Only Debian is seeded here: a stand-in for the Alpine upstream, under a name of its own.
        upstream = f"{registry}/{cleanup.scratch('up')}/alpine"
        engine.tag(f"{registry}/library/debian:bookworm-slim", upstream, "3.20")
        engine.push(upstream, "3.20")
        root = make_channel(
            tmp_path,
            registry,
            monkeypatch,
            {
                "tiny": f"name: tiny\ndescription: alpine\nversion: 1.0.0\ndistro: alpine\n"
                f"from: {upstream.split('/', 1)[1]}:3.20\n"
                f"repositories: [{{url: '{url}', signed_by: keys/{key_name}}}]\n"
            },
        )
        (root / "keys").mkdir(exist_ok=True)
        (root / "keys" / key_name).write_bytes(pem(key))
        monkeypatch.setenv("BUILDER_CACHE_DIR", str(tmp_path / "cache"))
        config, channel = load_channel(root)
        image = channel.images["tiny"]
        _, display = render.base_reference(config, channel, image)
        digest = RegistryClient().digest(f"{upstream}:3.20")
        text = render.render_dockerfile(
            render.RenderInput(
                image, render.base_reference(config, channel, image)[0].with_digest(digest), display, None
            )
        )
        lockfile.write(
            ImageFiles.of(config, image).lock,
            Lock(
                image="tiny",
                version="1.0.0",
                recipe_sha256=spec_sha256(image),
                dockerfile_sha256=plan.dockerfile_sha256(text),
                base=BaseLock(reference=display, digest=digest),
                result=ImageLock(repository="x/tiny", tag="candidate", digest=digest, image_id=digest, size=1),
                os=OsRelease(id="alpine", version_id="3.20.3"),
                apt_sources=(AptSource(url=url, suite="", kind="apk"),),
                packages=(
                    Package(name="musl", version="1.2.5-r0", source="musl", architecture="x86_64"),
                    Package(name="libcrypto3", version="3.3.2-r9", source="openssl", architecture="x86_64"),
                    Package(name="busybox", version="1.36.1-r29", source="busybox", architecture="x86_64"),
                ),
            ),
        )
        code, items = watch_json(root, capsys)
        updates = sorted(
            (p["name"], p["old"], p["new"], p["suite"])
            for f in findings(items["tiny"], "security-update")
            for p in f["packages"]
        )
        assert updates == [
            ("libcrypto3", "3.3.2-r9", "3.3.2-r10", "v3.20/main"),
            ("musl", "1.2.5-r0", "1.2.5-r1", "v3.20/main"),
        ]
        assert code == 1

        # Another key signs the mirror's index: the source is an error, nothing stale is used.
        apkindex(mirror, {"musl": "1.2.5-r1"}, rsa.generate_private_key(public_exponent=65537, key_size=2048), key_name)
        later = time.time() + 60  # a new Last-Modified, though this runs within the same second
        os.utime(mirror / "x86_64" / "APKINDEX.tar.gz", (later, later))
        code, items = watch_json(root, capsys)
        assert (code, items["tiny"]["errors"], findings(items["tiny"], "security-update")) == (
            12,
            [
                f"{url}/x86_64/APKINDEX.tar.gz: bad signature by {key_name}: the index was altered after signing, "
                "or signed by another key of that name"
            ],
            [],
        )
    finally:
        server.shutdown()


def test_a_signed_repository_that_fails_its_checks_is_an_error_for_its_images(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    engine: Engine,
    registry: str,
    signed_repo: tuple[AptRepo, SigningKey],
) -> None:
    repo, key = signed_repo
    root = make_channel(
        tmp_path,
        registry,
        monkeypatch,
        {
            "demo": (
                f"name: demo\ndescription: installs demo\nversion: 1.0.0\ndistro: debian\n"
                f"from: debian:bookworm-slim\npackages: [demo]\n"
                f"repositories: [{{url: '{repo.url}', suite: bookworm-security, signed_by: keys/repo.asc}}]\n"
            ),
            "plain": "name: plain\ndescription: plain\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n",
        },
    )
    key.export_public(root / "keys" / "repo.asc", armored=True)
    monkeypatch.setenv("BUILDER_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    dists = f"{repo.url.rstrip('/')}/dists/bookworm-security"

    repo.publish(valid_until=dt.datetime(2026, 1, 2, tzinfo=dt.UTC))  # stale: a mirror frozen in the past
    code, items = watch_json(root, capsys)
    assert (code, items["demo"]["errors"], items["plain"]["errors"]) == (
        12,
        [
            f"{dists}/InRelease: expired on 2026-01-02 00:00 UTC (Valid-Until): the mirror serves a stale release; "
            "use an up-to-date mirror"
        ],
        [],
    )

    with SigningKey(user_id="Someone Else <else@builder.invalid>") as other:
        repo.signing_key = other
        repo.publish()
    code, items = watch_json(root, capsys)
    assert (code, items["demo"]["errors"]) == (
        12,
        [f"{dists}/InRelease: bad signature: not signed by a key in {root / 'keys' / 'repo.asc'}"],
    )

    repo.signing_key = key
    repo.add_package("demo", "1.1-1", changelog=[ChangelogEntry("1.1-1", lines=[FIX])])
    index = repo.root / "dists" / "bookworm-security" / "main" / "binary-amd64" / "Packages.xz"
    old_index = index.read_bytes()
    repo.publish()
    index.write_bytes(old_index)  # the mirror serves an index that is not the one its InRelease names
    code, items = watch_json(root, capsys)
    assert code == 12
    assert len(items["demo"]["errors"]) == 1
    assert items["demo"]["errors"][0].startswith(f"{dists}/main/binary-amd64/Packages.xz: SHA256 mismatch: ")
    assert findings(items["demo"], "security-update") == []  # nothing unverified is used
