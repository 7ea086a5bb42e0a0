"""The version policy and the changelog it writes (golden file)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from builder import changelog_md, graph, recipes, release, settings, versioning
from builder.lock import BaseLock, CertificateInfo, ImageLock, InputFile, Lock, Package, Spec, Update
from builder.releases import Record, Release

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "changelog" / "CHANGELOG.md"
SPEC = Spec(base="debian:bookworm-slim", distro="debian", packages=("ca-certificates", "demo"),
            user="nonroot 65532:65532 /home/nonroot", workdir="/home/nonroot", env={"LANG": "C.UTF-8"})


@pytest.mark.parametrize(("change", "kind", "why"), [
    ({}, "patch", []),
    ({"packages": ("ca-certificates", "demo", "curl")}, "minor", ["packages added: curl"]),
    ({"env": {"LANG": "C.UTF-8", "TZ": "UTC"}}, "minor", ["env added: TZ"]),
    ({"labels": {"org.example.team": "x"}}, "minor", ["labels changed"]),
    ({"packages": ("ca-certificates",)}, "major", ["packages removed: demo"]),
    ({"env": {"LANG": "C"}}, "major", ["env removed or changed: LANG"]),
    ({"user": "app 10001:10001 /home/app"}, "major", ["user changed"]),
    ({"workdir": "/srv"}, "major", ["workdir changed"]),
    ({"entrypoint": ("python3",)}, "major", ["entrypoint changed"]),
    ({"base": "debian:trixie-slim"}, "major", ["base changed: debian:bookworm-slim -> debian:trixie-slim"]),
    ({"base": "debian:bookworm"}, "minor", ["base changed: debian:bookworm-slim -> debian:bookworm"]),
    ({"hardening": {"remove_shells": True}}, "major", ["hardening changed"]),
    ({"inputs": ("file files/pip.conf sha256:ab -> /etc/pip.conf 0:0 0644",)}, "minor",
     ["CA certificates, repository keys or files changed"]),
    ({"final": "distroless"}, "major", ["final changed"]),
])
def test_classify(change: dict[str, object], kind: str, why: list[str]) -> None:
    assert versioning.classify(SPEC, SPEC.model_copy(update=change)) == (kind, why)


def test_a_file_or_ca_removed_is_major_and_changed_is_minor() -> None:
    old = SPEC.model_copy(update={"inputs": ("ca-certificate certificates/a.crt sha256:1 -> /a 0:0 0644",
                                             "file files/p.conf sha256:1 -> /etc/p.conf 0:0 0644")})
    renewed = SPEC.model_copy(update={"inputs": ("ca-certificate certificates/a.crt sha256:2 -> /a 0:0 0644",
                                                 "file files/p.conf sha256:1 -> /etc/p.conf 0:0 0600")})
    gone = SPEC.model_copy(update={"inputs": ("file files/p.conf sha256:1 -> /etc/p.conf 0:0 0644",)})
    assert versioning.classify(old, renewed) == ("minor", ["CA certificates, repository keys or files changed"])
    assert versioning.classify(old, gone) == ("major", ["removed: ca-certificate certificates/a.crt"])


def test_next_version_and_the_recipe_floor() -> None:
    more = SPEC.model_copy(update={"packages": ("ca-certificates", "demo", "curl")})
    assert versioning.next_version(None, None, SPEC, "1.0.0") == "1.0.0"
    assert versioning.next_version("1.4.2", SPEC, SPEC, "1.0.0") == "1.4.3"
    assert versioning.next_version("1.4.2", SPEC, more, "1.0.0") == "1.5.0"
    assert versioning.next_version("1.4.2", SPEC, SPEC, "2.0.0") == "2.0.0"
    assert versioning.next_version("1.4.2", None, SPEC, "1.0.0") == "1.4.3"  # a record without a spec


def lock(version: str, digest: str, packages: dict[str, str], size: int,
         updates: tuple[Update, ...] = (), spec: Spec = SPEC, base: str = "1",
         inputs: tuple[InputFile, ...] = ()) -> Lock:
    return Lock(image="app", version=version, recipe_sha256="0" * 64,
                base=BaseLock(reference="127.0.0.1:5000/library/debian:bookworm-slim", digest="sha256:" + base * 64),
                result=ImageLock(repository="127.0.0.1:5000/base/app", tag="candidate",
                                 digest="sha256:" + digest * 64, image_id="sha256:" + digest * 64, size=size),
                packages=tuple(Package(name=n, version=v, source=n, architecture="amd64")
                               for n, v in packages.items()),
                spec=spec, updates=updates, reasons=("upstream digest moved",) if updates else (),
                inputs=inputs)


def org_inputs(ca_year: int, pip_sha: str) -> tuple[InputFile, ...]:
    ca = CertificateInfo(subject=f"CN=Corp Root CA {ca_year},O=Corp", sha256=("a" if ca_year < 2020 else "b") * 64,
                         not_after=f"{ca_year + 20}-01-01T00:00:00Z")
    return (InputFile(kind="ca-certificate", path="certificates/corp-root.crt", sha256="e" * 64,
                      destination="/usr/local/share/ca-certificates/corp-root.crt", certificates=(ca,)),
            InputFile(kind="file", path="files/pip.conf", sha256=pip_sha * 64, destination="/etc/pip.conf"))


def test_changelog_golden() -> None:
    first = lock("1.0.0", "a", {"ca-certificates": "20230311", "demo": "1.0-1"}, 97_300_000)
    second = lock("1.0.1", "b", {"ca-certificates": "20230311", "demo": "1.1-1"}, 97_400_000, base="2",
                  updates=(Update(name="demo", old="1.0-1", new="1.1-1", cves=("CVE-2026-4242",),
                                  advisories=("DSA-6001-1",)),))
    third = lock("1.1.0", "c", {"ca-certificates": "20230311", "demo": "1.1-1", "curl": "7.88.1-10+deb12u8"},
                 99_000_000, spec=SPEC.model_copy(update={"packages": ("ca-certificates", "curl", "demo")}),
                 base="2", inputs=org_inputs(2016, "1"))
    rotated = org_inputs(2026, "2")
    fourth = lock("1.2.0", "d", {"ca-certificates": "20230311", "demo": "1.1-1", "curl": "7.88.1-10+deb12u8"},
                  99_000_000, base="2", inputs=rotated,
                  spec=third.spec.model_copy(update={"inputs": tuple(i.describe() for i in rotated)}) if third.spec
                  else SPEC)
    record = Record(image="app", releases=(
        Release(version="1.0.0", date="2026-11-01", tags=("1.0.0", "1.0", "1", "latest"), lock=first),
        Release(version="1.0.1", date="2026-11-12", tags=("1.0.1", "1.0", "1", "latest"), lock=second),
        Release(version="1.1.0", date="2026-11-23", tags=("1.1.0", "1.1", "1", "latest"), lock=third),
        Release(version="1.2.0", date="2026-11-24", tags=("1.2.0", "1.2", "1", "latest"), lock=fourth),
    ))
    text = changelog_md.render(record)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_release_tags_carry_the_variant_suffix() -> None:
    config = settings.load(REPO, environ={})
    channel = graph.build(recipes.load_dir(config.recipes_dir, REPO))
    assert release.tags_for(channel.images["curl"], "1.2.3") == ["1.2.3", "1.2", "1", "latest"]
    assert release.tags_for(channel.images["curl/trixie"], "1.2.3") == [
        "1.2.3-trixie", "1.2-trixie", "1-trixie", "trixie"]
