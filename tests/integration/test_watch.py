"""Watch end to end: a security fix lands in a real apt repository, an upstream image moves."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from builder import cli
from builder.engine import Engine
from tests.integration.aptrepo import AptRepo, ChangelogEntry
from tests.integration.tests_support import make_channel

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
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        engine: Engine, registry: str, repo: AptRepo) -> None:
    # An upstream of our own, so that moving it disturbs nothing else.
    upstream = f"{registry}/up-{secrets.token_hex(3)}/debian"
    engine.tag(f"{registry}/library/debian:bookworm-slim", upstream, "bookworm-slim")
    engine.push(upstream, "bookworm-slim")
    upstream_name = upstream.split("/", 1)[1]
    root = make_channel(tmp_path, registry, monkeypatch, {
        "demo": (f"name: demo\ndescription: installs demo\nversion: 1.0.0\ndistro: debian\n"
                 f"from: {upstream_name}:bookworm-slim\npackages: [demo]\n"
                 f"repositories: [{{url: '{repo.url}', suite: bookworm-security, trusted: true}}]\n"),
        "app": "name: app\ndescription: on demo\nversion: 1.0.0\ndistro: debian\nfrom: {recipe: demo}\n",
        "other": (f"name: other\ndescription: no demo\nversion: 1.0.0\ndistro: debian\n"
                  f"from: {upstream_name}:bookworm-slim\n"),
    })
    monkeypatch.setenv("BUILDER_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    lock = json.loads((root / "base-images" / "demo" / "image.lock.json").read_text())
    assert {"name": "demo", "version": "1.0-1", "source": "demo", "architecture": "amd64"} in lock["packages"]
    assert {"url": repo.url, "suite": "bookworm-security", "components": ["main"]} in lock["apt_sources"]

    code, items = watch_json(root, capsys)
    assert findings(items["demo"], "security-update") == []
    assert code in (0, 1)  # the live Debian suites may move on their own; demo must not

    # A security fix lands: 1.1-1, whose changelog names a CVE.
    repo.add_package("demo", "1.1-1", changelog=[
        ChangelogEntry("1.1-1", lines=[FIX]), ChangelogEntry("1.0-1", lines=["Initial release."])])
    repo.publish()
    code, items = watch_json(root, capsys)
    assert code == 1
    updates = [p for f in findings(items["demo"], "security-update") for p in f["packages"]]
    demo = [p for p in updates if p["name"] == "demo"]
    assert demo == [{"name": "demo", "source": "demo", "old": "1.0-1", "new": "1.1-1",
                     "suite": "bookworm-security", "cves": ["CVE-2026-1234"], "advisories": [],
                     "summary": FIX}]
    assert [f["summary"] for f in findings(items["app"], "parent-rebuilt")] == ["demo is stale and will be rebuilt"]
    assert findings(items["other"], "security-update") == [] or all(
        p["name"] != "demo" for f in findings(items["other"], "security-update") for p in f["packages"])

    # The index was fetched once for the three images, then answered 304 on the next run.
    index_path = "/dists/bookworm-security/main/binary-amd64/Packages.xz"
    before = repo.hits[index_path]
    watch_json(root, capsys)
    assert repo.hits[index_path] == before + 1
    assert ("GET", index_path, 304) in repo.requests

    # A new upstream image under the same tag.
    changed = engine.build(f"FROM {upstream}:bookworm-slim\nRUN echo patched > /etc/upstream-patch\n",
                           f"{upstream}:bookworm-slim", {}, pull=False, on_line=lambda _l: None)
    assert changed
    engine.push(upstream, "bookworm-slim")
    code, items = watch_json(root, capsys)
    assert code == 1
    assert [f["kind"] for f in items["other"]["findings"]] == ["upstream-digest"]
    assert findings(items["demo"], "upstream-digest")
    assert findings(items["app"], "parent-rebuilt")


def test_a_broken_index_fails_that_image_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str], engine: Engine,
                                              registry: str, repo: AptRepo) -> None:
    root = make_channel(tmp_path, registry, monkeypatch, {
        "demo": (f"name: demo\ndescription: installs demo\nversion: 1.0.0\ndistro: debian\n"
                 f"from: debian:bookworm-slim\npackages: [demo]\n"
                 f"repositories: [{{url: '{repo.url}', suite: bookworm-security, trusted: true}}]\n"),
        "plain": "name: plain\ndescription: plain\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n",
    })
    monkeypatch.setenv("BUILDER_CACHE_DIR", str(tmp_path / "cache"))
    assert cli.main(["--root", str(root), "build", "--push"]) == 0
    for name in ("Packages.xz", "Packages.gz", "Packages"):
        (repo.root / "dists" / "bookworm-security" / "main" / "binary-amd64" / name).unlink()
    code, items = watch_json(root, capsys)
    assert code == 12
    assert items["demo"]["errors"] == [f"no Packages index at {repo.url.rstrip('/')}/dists/bookworm-security/"
                                       "main/binary-amd64/Packages(.xz|.gz)"]
    assert items["plain"]["errors"] == []
