"""IC010-IC016 on synthetic image archives, read the way the engine streams an exported container."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from builder.image import checks
from builder.image import filesystem_checks as fs
from tests.support.fake_engine import FakeEngine, entry
from tests.unit.test_image_checks import sample_image
from tests.unit.test_recipe_errors import GOOD, problems_of

# cap_net_raw in the permitted set, effective bit on: what `setcap cap_net_raw+ep` writes.
NET_RAW = bytes.fromhex("0100000200200000000000000000000000000000")
PASSWD = "root:x:0:0:root:/root:/usr/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/usr/sbin/nologin\n"
GROUP = "root:x:0:\nnonroot:x:65532:\n"
NEW_IDS = ("IC010", "IC011", "IC012", "IC013", "IC014", "IC015", "IC016")


def base_image() -> list[tuple[tarfile.TarInfo, bytes]]:
    """A clean image: accounts, /tmp and shared temp folders, a home the user owns."""
    return [
        entry("etc", tarfile.DIRTYPE, 0o755),
        entry("etc/passwd", data=PASSWD.encode()),
        entry("etc/group", data=GROUP.encode()),
        entry("etc/shadow", mode=0o640, gid=42, data=b"root:*:19000:0:99999:7:::\n"),
        entry("tmp", tarfile.DIRTYPE, 0o1777),
        entry("tmp/scratch", uid=65532, gid=65532, mode=0o666),
        entry("var/tmp", tarfile.DIRTYPE, 0o1777),
        entry("run/lock", tarfile.DIRTYPE, 0o1777),
        entry("var/mail", tarfile.DIRTYPE, 0o2775, gid=8),
        entry("home/nonroot", tarfile.DIRTYPE, 0o750, uid=65532, gid=65532),
        entry("home/nonroot/.cache", tarfile.DIRTYPE, 0o700, uid=65532, gid=65532),
        entry("usr/bin/ping", mode=0o755, data=b"\x7fELF"),
        entry("usr/bin/python3", tarfile.SYMTYPE, 0o777, link="python3.11"),
    ]


def gathered(members: list[tuple[tarfile.TarInfo, bytes]], user: str = "65532:65532") -> checks.ImageFacts:
    engine = FakeEngine()
    engine.load("image", members, user)
    return checks.gather(engine, "image")


def results(members: list[tuple[tarfile.TarInfo, bytes]], user: str = "65532:65532") -> dict[str, checks.CheckResult]:
    facts = gathered(members, user)
    return {r.id: r for r in checks.static_checks(sample_image(), facts) if r.id in NEW_IDS}


def failures(members: list[tuple[tarfile.TarInfo, bytes]], user: str = "65532:65532") -> list[tuple[str, str]]:
    return [(r.id, r.detail) for r in results(members, user).values() if not r.passed]


def test_a_clean_image_passes_every_file_system_check() -> None:
    assert [(r.id, r.passed, r.detail) for r in results(base_image()).values()] == [
        (check_id, True, "") for check_id in NEW_IDS
    ]


def replaced(name: str, text: str) -> list[tuple[tarfile.TarInfo, bytes]]:
    return [entry(name, data=text.encode()) if info.name == name else (info, data) for info, data in base_image()]


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        (
            [entry("usr/bin/pinger", mode=0o755, pax={"SCHILY.xattr.security.capability": NET_RAW.decode("latin-1")})],
            [("IC010", "/usr/bin/pinger has cap_net_raw+ep")],
        ),
        (
            [
                entry("srv/null", tarfile.CHRTYPE, 0o600, device=(1, 3)),
                entry("srv/sda", tarfile.BLKTYPE, device=(8, 0)),
            ],
            [("IC011", "/srv/null (character device 1,3); /srv/sda (block device 8,0)")],
        ),
        (
            [entry("srv/drop", tarfile.DIRTYPE, 0o777)],
            [("IC012", "/srv/drop (0777)"), ("IC016", "/srv/drop (folder, 0777) is writable by everyone")],
        ),
        ([entry("etc/app.conf", uid=65532)], [("IC016", "/etc/app.conf (file) is owned by the runtime user 65532")]),
        (
            [entry("usr/local/lib/plugins", tarfile.DIRTYPE, 0o775, gid=65532)],
            [("IC016", "/usr/local/lib/plugins (folder, 0775) is writable by group 65532 of the runtime user")],
        ),
        ([entry("etc/motd", mode=0o666)], [("IC016", "/etc/motd (file, 0666) is writable by everyone")]),
        (
            [entry("srv/\x1b[31mred\n", tarfile.CHRTYPE, device=(1, 5))],
            [("IC011", "/srv/\\x1b[31mred\\x0a (character device 1,5)")],
        ),
    ],
)
def test_each_hostile_entry_fails_its_check(
    members: list[tuple[tarfile.TarInfo, bytes]], expected: list[tuple[str, str]]
) -> None:
    assert failures(base_image() + members) == expected


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("etc/passwd", PASSWD + "toor:x:0:0::/root:/bin/sh\n", [("IC013", "/etc/passwd: toor has uid 0")]),
        ("etc/passwd", PASSWD + "admin:x:00:0::/:/bin/sh\n", [("IC013", "/etc/passwd: admin has uid 0")]),
        (
            "etc/passwd",
            PASSWD.replace("root:x:0", "root:$6$salt$hash:0"),
            [("IC014", "/etc/passwd: root has a password hash in the second field")],
        ),
        (
            "etc/passwd",
            PASSWD.replace("nonroot:x:", "nonroot::"),
            [("IC014", "/etc/passwd: nonroot has an empty password field (no password)")],
        ),
        ("etc/passwd", PASSWD.replace("root:x:0", "root:*:0"), []),
        ("etc/group", GROUP + "plugins:x:4000:nonroot\n", []),
    ],
)
def test_account_files(name: str, text: str, expected: list[tuple[str, str]]) -> None:
    assert failures(replaced(name, text)) == expected


def test_a_supplementary_group_of_the_runtime_user_counts() -> None:
    members = [
        *replaced("etc/group", GROUP + "plugins:x:4000:other,nonroot\n"),
        entry("opt/plugins", tarfile.DIRTYPE, 0o2775, gid=4000),
    ]
    assert failures(members) == [("IC016", "/opt/plugins (folder, 2775) is writable by group 4000 of the runtime user")]


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_a_linked_shadow_fails(kind: bytes) -> None:
    members = [(info, data) for info, data in base_image() if info.name != "etc/shadow"]
    symlink = kind == tarfile.SYMTYPE
    members.append(
        entry("etc/shadow", kind, 0o777 if symlink else 0o644, link="/home/nonroot/shadow" if symlink else "etc/passwd")
    )
    how = "symlink to /home/nonroot/shadow" if symlink else "hard link to etc/passwd"
    assert failures(members) == [("IC015", f"/etc/shadow is a {how}")]


def test_the_runtime_user_by_name_and_root() -> None:
    assert failures([*base_image(), entry("etc/app.conf", uid=65532)], user="nonroot") == [
        ("IC016", "/etc/app.conf (file) is owned by the runtime user 65532")
    ]
    assert failures(base_image(), user="") == [("IC016", "the runtime user is root, who can write everything")]
    assert failures(base_image(), user="65532:nogroup") == [
        ("IC016", "cannot tell who the runtime user 65532:nogroup is from /etc/passwd and /etc/group")
    ]


def test_a_sticky_world_writable_folder_elsewhere_is_still_writable() -> None:
    assert failures([*base_image(), entry("srv/shared", tarfile.DIRTYPE, 0o1777)]) == [
        ("IC016", "/srv/shared (folder, 1777) is writable by everyone")
    ]


def test_listed_capabilities_and_writable_paths_pass() -> None:
    facts = gathered(
        [
            *base_image(),
            entry("usr/bin/pinger", pax={"SCHILY.xattr.security.capability": NET_RAW.decode("latin-1")}),
            entry("var/cache/app", tarfile.DIRTYPE, 0o750, uid=65532),
        ]
    )
    found = fs.findings(
        facts.files,
        user=facts.user,
        home="/home/nonroot",
        capabilities_allow=["/usr/bin/pinger"],
        writable_paths=["/var/cache/app"],
    )
    assert [f.problems for f in found] == [()] * 7
    found = fs.findings(facts.files, user=facts.user, home="/home/nonroot", capabilities_allow=["/usr/bin/pinger/"])
    assert [(f.id, f.problems) for f in found if f.problems] == [
        ("IC010", ("/usr/bin/pinger has cap_net_raw+ep",)),
        ("IC016", ("/var/cache/app (folder) is owned by the runtime user 65532",)),
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (NET_RAW, "cap_net_raw+ep"),
        (bytes.fromhex("0000000200000000002000000000000000000000"), "cap_net_raw+i"),
        (bytes.fromhex("010000030100000000000000020000000000000000000000"), "cap_chown,cap_mac_admin+ep"),
        (b"\x01\x00", "capabilities (undecoded)"),
    ],
)
def test_capability_sets_are_named(value: bytes, shown: str) -> None:
    pax = {"SCHILY.xattr.security.capability": value.decode("utf-8", "surrogateescape")}
    assert fs.describe_capability(pax) == shown


def test_long_lists_are_cut() -> None:
    devices = [entry(f"dev/tty{n:02d}", tarfile.CHRTYPE, device=(4, n)) for n in range(12)]
    detail = dict(failures(base_image() + devices))["IC011"]
    assert detail.endswith("/dev/tty09 (character device 4,9); and 2 more")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (
            "[usr/bin/ping]",
            "recipes/app.yaml:7:34: hardening.capabilities_allow[0]: 'usr/bin/ping' is not an "
            "absolute path; start it with /",
        ),
        (
            "/usr/bin/ping",
            "recipes/app.yaml:7:13: hardening.capabilities_allow: expected a list, e.g. [a, b], got '/usr/bin/ping'",
        ),
    ],
)
def test_capabilities_allow_takes_absolute_paths(tmp_path: Path, value: str, problem: str) -> None:
    text = GOOD + f"hardening: {{capabilities_allow: {value}}}\n"
    assert problems_of(tmp_path, {"app.yaml": text}) == [problem]


def test_an_arbitrary_uid_runs_with_group_0() -> None:
    facts = gathered([*base_image(), entry("opt/cache", tarfile.DIRTYPE, 0o775)])
    assert fs.findings(facts.files, user=facts.user, home="/home/nonroot", capabilities_allow=())[-1].problems == ()
    found = fs.findings(facts.files, user=facts.user, home="/home/nonroot", capabilities_allow=(), extra_groups=[0])
    assert found[-1].problems == ("/opt/cache (folder, 0775) is writable by group 0 of the runtime user",)
