"""The version policy and the changelog it writes (golden file)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from builder.channel import changelog as changelog_md
from builder.channel import history, versioning
from builder.channel import lock as lockfile
from builder.channel.history import Record
from builder.channel.lock import Lock
from builder.core.errors import LockError, ReleaseError
from builder.core.facts import BaseLock, CertificateInfo, ImageLock, InputFile, Package, RecipeSnapshot, Update
from builder.release import publish
from builder.upstream.registry import RegistryClient
from tests.support.channel import load_channel

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "changelog" / "CHANGELOG.md"
SPEC = RecipeSnapshot(
    base="debian:bookworm-slim",
    distro="debian",
    packages=("ca-certificates", "demo"),
    user="nonroot 65532:65532 /home/nonroot",
    workdir="/home/nonroot",
    env={"LANG": "C.UTF-8"},
)


@pytest.mark.parametrize(
    ("change", "kind", "why"),
    [
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
        (
            {"inputs": ("file files/pip.conf sha256:ab -> /etc/pip.conf 0:0 0644",)},
            "minor",
            ["CA certificates, repository keys or files changed"],
        ),
        ({"final": "distroless"}, "major", ["final changed"]),
    ],
)
def test_classify(change: dict[str, object], kind: str, why: list[str]) -> None:
    assert versioning.classify(SPEC, SPEC.model_copy(update=change)) == (kind, why)


def test_a_file_or_ca_removed_is_major_and_changed_is_minor() -> None:
    old = SPEC.model_copy(
        update={
            "inputs": (
                "ca-certificate certificates/a.crt sha256:1 -> /a 0:0 0644",
                "file files/p.conf sha256:1 -> /etc/p.conf 0:0 0644",
            )
        }
    )
    renewed = SPEC.model_copy(
        update={
            "inputs": (
                "ca-certificate certificates/a.crt sha256:2 -> /a 0:0 0644",
                "file files/p.conf sha256:1 -> /etc/p.conf 0:0 0600",
            )
        }
    )
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


def lock(
    version: str,
    digest: str,
    packages: dict[str, str],
    size: int,
    updates: tuple[Update, ...] = (),
    spec: RecipeSnapshot = SPEC,
    base: str = "1",
    inputs: tuple[InputFile, ...] = (),
    reasons: tuple[str, ...] = (),
) -> Lock:
    return Lock(
        image="app",
        version=version,
        recipe_sha256="0" * 64,
        base=BaseLock(reference="127.0.0.1:5000/library/debian:bookworm-slim", digest="sha256:" + base * 64),
        result=ImageLock(
            repository="127.0.0.1:5000/base/app",
            tag="candidate",
            digest="sha256:" + digest * 64,
            image_id="sha256:" + digest * 64,
            size=size,
        ),
        packages=tuple(Package(name=n, version=v, source=n, architecture="amd64") for n, v in packages.items()),
        spec=spec,
        updates=updates,
        reasons=reasons,
        inputs=inputs,
    )


def org_inputs(ca_year: int, pip_sha: str) -> tuple[InputFile, ...]:
    ca = CertificateInfo(
        subject=f"CN=Corp Root CA {ca_year},O=Corp",
        sha256=("a" if ca_year < 2020 else "b") * 64,
        not_after=f"{ca_year + 20}-01-01T00:00:00Z",
    )
    return (
        InputFile(
            kind="ca-certificate",
            path="certificates/corp-root.crt",
            sha256="e" * 64,
            destination="/usr/local/share/ca-certificates/corp-root.crt",
            certificates=(ca,),
        ),
        InputFile(kind="file", path="files/pip.conf", sha256=pip_sha * 64, destination="/etc/pip.conf"),
    )


SKIPPED = "1.0.1 was tagged at sha256:" + "e" * 64 + " by a release that did not finish; this build is 1.0.2"


def golden_record() -> Record:
    first = lock("1.0.0", "a", {"ca-certificates": "20230311", "demo": "1.0-1"}, 97_300_000)
    second = lock(
        "1.0.2",
        "b",
        {"ca-certificates": "20230311", "demo": "1.1-1"},
        97_300_512,
        base="2",
        updates=(
            Update(
                name="demo",
                old="1.0-1",
                new="1.1-1",
                cves=("CVE-2026-4242", "CVE-2026-1000"),
                advisories=("DSA-6001-1",),
            ),
        ),
        reasons=("upstream digest moved", SKIPPED),
    )
    third = lock(
        "1.1.0",
        "c",
        {"ca-certificates": "20230311", "demo": "1.1-1", "curl": "7.88.1-10+deb12u8"},
        99_000_000,
        spec=SPEC.model_copy(update={"packages": ("ca-certificates", "curl", "demo")}),
        base="2",
        inputs=org_inputs(2016, "1"),
        updates=(Update(name="curl", old="", new="7.88.1-10+deb12u8"),),
    )
    rotated = org_inputs(2026, "2")
    fourth = lock(
        "1.2.0",
        "d",
        {"ca-certificates": "20230311", "demo": "1.1-1", "curl": "7.88.1-10+deb12u8"},
        99_000_000,
        base="2",
        inputs=rotated,
        spec=third.spec.model_copy(update={"inputs": tuple(i.describe() for i in rotated)}) if third.spec else SPEC,
    )
    moving = ("1.0", "1", "latest")
    return Record(
        image="app",
        releases=(
            history.from_lock(first, "1.0.0", "2026-11-01", ("1.0.0", *moving), {}),
            history.from_lock(
                second, "1.0.2", "2026-11-12", ("1.0.2", *moving), dict.fromkeys(moving, "sha256:" + "a" * 64)
            ),
            history.from_lock(
                third,
                "1.1.0",
                "2026-11-23",
                ("1.1.0", "1.1", "1", "latest"),
                dict.fromkeys(("1", "latest"), "sha256:" + "b" * 64),
            ),
            history.from_lock(
                fourth,
                "1.2.0",
                "2026-11-24",
                ("1.2.0", "1.2", "1", "latest"),
                {"1": "sha256:" + "c" * 64, "latest": "sha256:" + "9" * 64},
            ),
        ),
    )


def test_changelog_golden() -> None:
    text = changelog_md.render(golden_record())
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_release_tags_carry_the_variant_suffix() -> None:
    _, channel = load_channel(REPO, environ={})
    assert publish.tags_for(channel.images["curl"], "1.2.3") == ["1.2.3", "1.2", "1", "latest"]
    assert publish.tags_for(channel.images["curl/trixie"], "1.2.3") == [
        "1.2.3-trixie",
        "1.2-trixie",
        "1-trixie",
        "trixie",
    ]


def test_a_release_keeps_what_the_changelog_needs_not_the_lock() -> None:
    many = {f"lib{i}": "1.0-1" for i in range(300)}
    fixes = tuple(Update(name=f"lib{i}", old="1.0-1", new="1.0-2", cves=(f"CVE-2026-{1010 - i}",)) for i in range(5))
    built = lock("1.0.1", "b", many, 97_000_000, updates=fixes, reasons=("5 package update(s)",)).model_copy(
        update={"checks": tuple(f"IC{i:03} check: ok" for i in range(40))}
    )
    entry = history.from_lock(built, "1.0.1", "2026-11-30", ("1.0.1", "1.0", "1", "latest"), {})
    assert (entry.digest, entry.size, entry.packages, entry.base) == (
        built.result.digest if built.result else "",
        97_000_000,
        300,
        built.base,
    )
    assert entry.cves == ("CVE-2026-1006", "CVE-2026-1007", "CVE-2026-1008", "CVE-2026-1009", "CVE-2026-1010")
    assert entry.updates == fixes
    assert entry.spec == SPEC
    text = history.dumps(Record(image="app", releases=(entry,)))
    assert len(text) < 2000, len(text)
    assert "lib299" not in text
    assert "IC001" not in text


def test_a_schema_1_record_is_converted_when_read(tmp_path: Path) -> None:
    first = lock("1.0.0", "a", {"ca-certificates": "20230311", "demo": "1.0-1", "old": "1"}, 97_300_000)
    fix = Update(name="demo", old="1.0-1", new="1.1-1", cves=("CVE-2026-4242",))
    second = lock(
        "1.0.1", "b", {"ca-certificates": "20230311+deb12u1", "demo": "1.1-1", "new": "2"}, 97_300_000, updates=(fix,)
    )
    legacy = {
        "schema_version": 1,
        "image": "app",
        "releases": [
            {
                "version": "1.0.0",
                "date": "2026-11-01",
                "tags": ["1.0.0", "1.0", "1", "latest"],
                "lock": first.model_dump(mode="json"),
            },
            {
                "version": "1.0.1",
                "date": "2026-11-02",
                "tags": ["1.0.1", "1.0", "1", "latest"],
                "lock": second.model_dump(mode="json"),
            },
        ],
    }
    path = tmp_path / "releases.json"
    path.write_text(json.dumps(legacy))
    record = history.read(path, "app")
    assert record.schema_version == 2
    assert [r.digest for r in record.releases] == ["sha256:" + "a" * 64, "sha256:" + "b" * 64]
    assert record.releases[1].updates == (
        Update(name="ca-certificates", old="20230311", new="20230311+deb12u1"),
        fix,
        Update(name="new", old="", new="2"),
        Update(name="old", old="1", new=""),
    )
    assert record.releases[1].cves == ("CVE-2026-4242",)
    assert record.releases[1].moved == dict.fromkeys(("1.0", "1", "latest"), "sha256:" + "a" * 64)
    assert record.releases[0].moved == {}
    text = changelog_md.render(record)
    assert "Security rebuild: fixes [CVE-2026-4242](https://security-tracker.debian.org/tracker/CVE-2026-4242)." in text
    assert "| demo | 1.0-1 | 1.1-1 | CVE-2026-4242 |" in text
    assert "Packages added: new.\n\nPackages removed: old." in text
    history.write(path, record)
    assert history.read(path, "app") == record


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"schema_version": 2, "image": "x", "releases": [{"version": "1.0", "date": "d", "tags": [], '
            '"repository": "r", "digest": "sha256:' + "a" * 64 + '", "size": 1, '
            '"base": {"reference": "r", "digest": "sha256:' + "a" * 64 + '"}}]}',
            "{path}: not a valid release record (releases[0].version: '1.0' is not a semantic version "
            "(MAJOR.MINOR.PATCH, e.g. 1.0.0)); restore it from git",
        ),
        (
            '{"image": "x", "releases": [{"version": "banana", "date": "d", "tags": [], "lock": '
            + lock("1.0.0", "a", {}, 1).model_dump_json()
            + "}]}",
            "{path}: not a valid release record (app: version: 'banana' is not a semantic version "
            "(MAJOR.MINOR.PATCH, e.g. 1.0.0); restore the file from git or rebuild the image); restore it from git",
        ),
        (
            '{"schema_version": 3, "image": "x"}',
            "{path}: not a valid release record (schema_version: Input should be 2); restore it from git",
        ),
    ],
)
def test_bad_release_records_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "releases.json"
    path.write_text(text)
    with pytest.raises(LockError) as caught:
        history.read(path, "x")
    assert caught.value.message == message.format(path=path)


def test_a_non_semver_version_is_a_lock_error_not_a_traceback() -> None:
    _, channel = load_channel(REPO, environ={})
    with pytest.raises(LockError) as caught:
        publish.tags_for(channel.images["curl"], "1.0")
    assert caught.value.message == (
        "curl: version: '1.0' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0); "
        "restore the file from git or rebuild the image"
    )
    with pytest.raises(LockError) as caught:
        history.from_lock(lock("v1", "a", {}, 1), "v1", "2026-11-30", ("v1",))
    assert caught.value.message == (
        "app: version: 'v1' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0); "
        "restore the file from git or rebuild the image"
    )


ORPHAN = "sha256:" + "f" * 64


@pytest.mark.parametrize(
    ("taken", "version", "notes"),
    [
        ({}, "1.0.1", ()),
        (
            {"1.0.1": ORPHAN},
            "1.0.2",
            (f"1.0.1 was tagged at {ORPHAN} by a release that did not finish; this build is 1.0.2",),
        ),
        (
            {"1.0.1": ORPHAN, "1.0.2": "sha256:" + "e" * 64},
            "1.0.3",
            (
                f"1.0.1 was tagged at {ORPHAN} by a release that did not finish; this build is 1.0.3",
                f"1.0.2 was tagged at sha256:{'e' * 64} by a release that did not finish; this build is 1.0.3",
            ),
        ),
        ({"1.0.2": ORPHAN}, "1.0.1", ()),  # only the tag this build would take counts
    ],
)
def test_next_free_version_moves_past_orphaned_version_tags(
    taken: dict[str, str], version: str, notes: tuple[str, ...]
) -> None:
    assert versioning.next_free_version("1.0.1", "", taken.get) == (version, notes)
    for note in notes:
        assert versioning.skipped(note) is not None


def test_next_free_version_asks_for_the_variant_tag() -> None:
    asked: list[str] = []

    def lookup(tag: str) -> str | None:
        asked.append(tag)
        return ORPHAN if tag == "2.1.0-trixie" else None

    assert versioning.next_free_version("2.1.0", "-trixie", lookup) == (
        "2.1.1",
        (f"2.1.0-trixie was tagged at {ORPHAN} by a release that did not finish; this build is 2.1.1",),
    )
    assert asked == ["2.1.0-trixie", "2.1.1-trixie"]


def test_next_free_version_gives_up_with_a_clear_error() -> None:
    with pytest.raises(LockError) as caught:
        versioning.next_free_version("1.0.0", "", lambda _: ORPHAN)
    assert caught.value.message == (
        "version tags 1.0.0 to 1.0.100 all exist in the registry but no release records "
        "them; clean up the registry or raise the recipe's `version`"
    )


def test_tags_created_in_an_empty_registry_are_not_said_to_move() -> None:
    record = golden_record()
    fresh = record.releases[1].model_copy(update={"moved": {}})
    assert changelog_md.tags_line(fresh, record, record.releases[0]) == (
        "- Tags: `1.0.2`, `1.0`, `1`, `latest` created"
    )
    assert changelog_md.tags_line(record.releases[1], record, record.releases[0]) == (
        "- Tags: `1.0.2` created; `1.0`, `1`, `latest` moved from 1.0.0"
    )
    orphan = "sha256:" + "e" * 64  # the digest SKIPPED names
    after_crash = record.releases[1].model_copy(update={"moved": dict.fromkeys(("1.0", "1", "latest"), orphan)})
    assert changelog_md.tags_line(after_crash, record, record.releases[0]) == (
        "- Tags: `1.0.2` created; `1.0`, `1`, `latest` moved from `sha256:eeeeeeeeeeee` (the unfinished release "
        "of `1.0.1`)"
    )
    pending = fresh.model_copy(update={"moved": None})
    assert changelog_md.tags_line(pending, record) == (
        "- Tags on release: `1.0.2` (new, immutable); `1.0`, `1`, `latest` move to it"
    )


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (0, "same size"),
        (1, "+1 byte"),
        (-999, "-999 bytes"),
        (1000, "+1.0 kB"),
        (40_960, "+41.0 kB"),
        (-1_234_567, "-1,234.6 kB"),
    ],
)
def test_size_change_is_exact(delta: int, text: str) -> None:
    assert changelog_md.size_change(delta) == text


@pytest.mark.parametrize(
    ("cve", "distro", "text"),
    [
        ("CVE-2026-1234", "debian", "[CVE-2026-1234](https://security-tracker.debian.org/tracker/CVE-2026-1234)"),
        ("CVE-2026-1234", "alpine", "[CVE-2026-1234](https://security.alpinelinux.org/vuln/CVE-2026-1234)"),
        ("CVE-2026-1234](https://evil.example)", "debian", "`CVE-2026-1234](https://evil.example)`"),
    ],
)
def test_cve_links(cve: str, distro: str, text: str) -> None:
    assert changelog_md.cve_link(cve, distro) == text


def test_a_second_release_in_the_same_checkout_is_refused(tmp_path: Path) -> None:
    with publish.exclusive(tmp_path):
        with pytest.raises(ReleaseError) as caught, publish.exclusive(tmp_path):
            pass
        assert caught.value.message == (
            f"{tmp_path / '.release.lock'}: another `builder release` is running in this checkout "
            f"(pid {os.getpid()}); wait for it to finish, then run it again"
        )
    with publish.exclusive(tmp_path):  # free again once the first one is done
        pass


def test_release_plan_reports_a_non_semver_candidate_in_one_line(tmp_path: Path) -> None:
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(REPO / "recipes", tmp_path / "recipes")
    config, channel = load_channel(tmp_path, environ={})
    path = config.output_dir / "curl" / "image.lock.json"
    path.parent.mkdir(parents=True)
    lockfile.write(path, lock("1.0", "a", {}, 1))
    with pytest.raises(LockError) as caught:
        publish.plan(config, channel, ["curl"], RegistryClient())
    assert caught.value.message == (
        f"{path}: version: '1.0' is not a semantic version (MAJOR.MINOR.PATCH, "
        "e.g. 1.0.0); restore the file from git or rebuild the image"
    )


@pytest.mark.parametrize(
    ("base", "updates", "expected"),
    [
        ("1", (), "Rebuild; the base image and every package are the same."),
        ("2", (), "Rebuild on a new base image; no package changed."),
        ("1", (Update(name="demo", old="1.0-1", new="1.0-2"),), "Rebuild with 1 package update; same base image."),
        (
            "2",
            (Update(name="demo", old="1.0-1", new="1.0-2"), Update(name="new", old="", new="1")),
            "Rebuild on a new base image, with 2 package updates.",
        ),
    ],
)
def test_a_rebuild_headline_says_what_changed(base: str, updates: tuple[Update, ...], expected: str) -> None:
    first = history.from_lock(lock("1.0.0", "a", {"demo": "1.0-1"}, 1), "1.0.0", "2026-11-01", ["1.0.0"])
    again = history.from_lock(
        lock("1.0.1", "b", {"demo": "1.0-2"}, 1, updates=updates, base=base, reasons=("recipe changed",)),
        "1.0.1",
        "2026-11-02",
        ["1.0.1"],
    )
    entry = changelog_md.entry(again, first)
    assert entry[2] == expected
    assert ("No package changed." in entry) == (not updates)
