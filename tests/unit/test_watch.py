"""watch.run on locks the fake engine built: upstream digests from an in-process registry, package
updates (with the CVE ids of their changelogs) from an apt repository served in the process."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from builder.channel import lock as lockfile
from builder.core.settings import Settings
from builder.image import build, plan, upstream_check, watch, watch_report
from builder.recipe.graph import Channel
from builder.upstream import apt_index, debian_changelog
from builder.upstream.registry import RegistryClient
from tests.support.aptrepo import AptRepo, ChangelogEntry
from tests.support.channel import load_channel
from tests.support.fake_engine import FakeEngine, clean_debian
from tests.support.fake_registry import FakeRegistry
from tests.support.offline_http import Directory

pytestmark = pytest.mark.allow_subprocess  # dpkg-deb and dpkg-scanpackages make the apt repository

APT = "http://apt.test/debian"
BASE = "name: base\ndescription: b\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"
APP = "name: app\ndescription: a\nversion: 1.0.0\ndistro: debian\nfrom: {recipe: base}\n"
OLD_LIBC = "2.36-9+deb12u9"


@dataclass
class World:
    config: Settings
    channel: Channel
    hub: FakeRegistry  # docker.io: where the upstream debian:bookworm-slim lives
    apt: AptRepo
    root: Path

    def report(self, digest_of: watch.DigestLookup | None = None, today: dt.date | None = None) -> watch_report.Report:
        self.config, self.channel = load_channel(self.root, environ={})
        session = Directory(self.apt.root.parent).mount(requests.Session(), "http://apt.test/")
        indexes = apt_index.IndexCache(self.root / "cache", session=session, keyrings={APT: None})
        logs = debian_changelog.ChangelogCache(self.root / "cache", session=session)
        lookup = digest_of or RegistryClient(session=self.hub.session()).digest
        return watch.run(
            self.config, self.channel, sorted(self.channel.images), lookup, indexes=indexes, logs=logs, today=today
        )

    def watch(self, digest_of: watch.DigestLookup | None = None) -> dict[str, tuple[list[str], list[str]]]:
        """image -> (finding kinds and summaries, errors), for a fresh load of the channel."""
        report = self.report(digest_of)
        return {r.image: ([f"{f.kind}: {f.summary}" for f in r.findings], r.errors) for r in report.images}


def upstream(hub: FakeRegistry, generation: int) -> str:
    return hub.put("library/debian", "bookworm-slim", b'{"schemaVersion": 2, "generation": %d}' % generation)


@pytest.fixture
def world(tmp_path: Path) -> World:
    """base and app built and pushed by the fake engine from an image holding libc6 OLD_LIBC."""
    root = tmp_path / "channel"
    (root / "recipes").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.builder]\nregistry = "registry.test"\nnamespace = "base"\n')
    (root / "recipes" / "base.yaml").write_text(BASE)
    (root / "recipes" / "app.yaml").write_text(APP)
    apt = AptRepo(tmp_path / "apt" / "debian", suite="bookworm-security")
    apt.add_package("libc6", OLD_LIBC, source="glibc", changelog=[ChangelogEntry(OLD_LIBC)])
    apt.publish()
    hub = FakeRegistry("registry-1.docker.io")
    upstream(hub, 1)
    config, channel = load_channel(root, environ={})
    engine = FakeEngine(filesystem=clean_debian(sources=f"deb {APT} bookworm-security main\n"))
    hub_client = RegistryClient(session=hub.session())
    made = plan.make(config, channel, sorted(channel.images), hub_client.digest)
    outcomes = build.run(
        config,
        channel,
        made,
        engine,
        build.Options(push=True, jobs=1, revision=None, source_url=None, log=lambda _line: None),
        client=RegistryClient(session=engine.registry.session()),
    )
    assert [o.status for o in outcomes] == ["pushed", "pushed"], [o.message for o in outcomes]
    return World(config, channel, hub, apt, root)


def test_nothing_moved_nothing_is_stale(world: World) -> None:
    assert world.watch() == {"base": ([], []), "app": ([], [])}


def test_a_moved_upstream_makes_the_root_stale(world: World) -> None:
    old = world.hub.tag("library/debian", "bookworm-slim")
    new = upstream(world.hub, 2)
    assert world.watch() == {
        "base": ([f"upstream-digest: docker.io/library/debian:bookworm-slim moved: {str(old)[:19]} -> {new[:19]}"], []),
        "app": (["parent-rebuilt: base is stale and will be rebuilt"], []),
    }


def test_a_security_update_is_found_with_its_cve_ids(world: World) -> None:
    world.apt.add_package(
        "libc6",
        "2.36-9+deb12u10",
        source="glibc",
        changelog=[ChangelogEntry(OLD_LIBC), ChangelogEntry("2.36-9+deb12u10", lines=["Fix CVE-2026-0001 in iconv."])],
    )
    world.apt.publish()
    assert world.watch() == {
        "base": (["security-update: 1 package update(s), fixing CVE-2026-0001"], []),
        "app": (
            [
                "security-update: 1 package update(s), fixing CVE-2026-0001",
                "parent-rebuilt: base is stale and will be rebuilt",
            ],
            [],
        ),
    }


def test_a_changed_recipe_is_reported_and_one_failing_lookup_stops_nothing(world: World) -> None:
    (world.root / "recipes" / "app.yaml").write_text(APP + "packages: [curl]\n")

    def unreachable(reference: str) -> str:
        world.hub.fail.append((503, {}))
        return RegistryClient(session=world.hub.session(), retries=0).digest(reference)

    found = world.watch(unreachable)
    assert found["base"] == (
        [],
        [
            "upstream docker.io/library/debian:bookworm-slim: HEAD https://registry-1.docker.io/v2/library/"
            "debian/manifests/bookworm-slim: HTTP 503 after 1 attempts"
        ],
    )
    assert [line.split(":")[0] for line in found["app"][0]] == ["recipe-changed"]
    assert found["app"][1] == []


MOVE = "move to Debian 13 (trixie), supported until 2028-08-09"
NOTICES = [
    ("2025-12-01", []),
    ("2026-02-01", [f"Debian 12 (bookworm): regular security support ends on 2026-07-11 (160 days); {MOVE}"]),
    (
        "2027-01-01",
        [f"Debian 12 (bookworm): regular security support ended on 2026-07-11; LTS until 2028-06-30; {MOVE}"],
    ),
    ("2028-07-01", [f"Debian 12 (bookworm): unsupported since 2028-06-30 (end of LTS); {MOVE}"]),
]


@pytest.mark.parametrize(("day", "notices"), NOTICES)
def test_a_release_near_its_end_is_a_notice_never_a_reason_to_rebuild(
    world: World, day: str, notices: list[str]
) -> None:
    report = world.report(today=dt.date.fromisoformat(day))
    assert {r.image: [n.summary for n in r.notices] for r in report.images} == {"base": notices, "app": notices}
    assert {r.image: r.findings for r in report.images} == {"base": [], "app": []}
    assert (report.stale, report.outputs(), upstream_check.plan_reasons(report)) == ([], {"stale": "false"}, {})
    kinds = {n.as_json()["kind"] for r in report.images for n in r.notices}
    assert all("notices" in r.as_json() for r in report.images)
    assert kinds == ({"lifecycle"} if notices else set())


def test_an_accepted_eol_is_still_reported_and_the_lock_records_the_release(world: World) -> None:
    (world.root / "recipes" / "app.yaml").write_text(APP + 'accept_eol: "paid ELTS until 2030"\n')
    report = world.report(today=dt.date(2028, 7, 1))
    assert [n.summary for n in report.images[1].notices] == [
        f"Debian 12 (bookworm): unsupported since 2028-06-30 (end of LTS); {MOVE} (accepted: paid ELTS until 2030)"
    ]
    assert report.images[1].findings == []  # accepting changes nothing in the image: no rebuild
    locked = lockfile.read(world.root / "base-images" / "base" / "image.lock.json")
    assert locked is not None
    assert locked.lifecycle is not None
    assert (locked.lifecycle.codename, locked.lifecycle.security, locked.lifecycle.lts) == (
        "bookworm",
        "2026-07-11",
        "2028-06-30",
    )
