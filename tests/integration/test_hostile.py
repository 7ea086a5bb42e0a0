"""Hostile packages and a hostile upstream image, made here: every dangerous property fails the build.

One channel, one `builder build` of four images (so the slow parts run once, two at a time):
- `refused/slim`: distroless, from packages that ship a link out of the root and a package that
  writes through it, a device node, a fifo, a world-writable folder and a file capability; the
  staging merge refuses each, naming the package and path;
- `dpkg`: hardened, the same device nodes, fifo and world-writable folder installed by dpkg;
  the checks name the device outside /dev and the folder;
- `inside/slim`: distroless, from a package with an absolute link to /etc, a package writing the
  CA bundle through it, a setuid file and a symlinked /etc/shadow: the write lands in the image's
  /etc (where the genuine bundle then replaces it), never in the build stage; IC002 names the
  setuid file and IC015 the shadow;
- `upstream`: hardened, FROM an upstream image with a setcap binary, a device node, a world-writable
  folder, a uid-0 alias, a hash in /etc/passwd and a file the runtime user owns; each fails its check.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tarfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from builder.cli import main as cli
from builder.image.engine import Engine
from tests.integration.test_build_faults import outcome_lines
from tests.support.aptrepo import AptRepo
from tests.support.channel import make_channel
from tests.support.hostile import NET_RAW, Member, add_deb, file_tree

SEED = "library/debian:bookworm-slim"
HOSTILE_CA = b"-----BEGIN CERTIFICATE-----\nhostile\n-----END CERTIFICATE-----\n"
CA_BUNDLE = "etc/ssl/certs/ca-certificates.crt"
PACKAGES = {
    # Relative, so it climbs out of /staging; a later package writes the build stage's CA bundle through it.
    "aa-escape": [Member("usr/lib/aa-escape", tarfile.SYMTYPE, 0o777, link="../../../etc")],
    "zz-write": [Member("usr/lib/aa-escape/ssl/certs/ca-certificates.crt", data=HOSTILE_CA)],
    # In /dev (a tmpfs while a RUN step runs, so only distroless staging could carry it) and elsewhere.
    "dev-node": [
        Member("dev/evil-null", tarfile.CHRTYPE, 0o666, device=(1, 3)),
        Member("srv/evil-disk", tarfile.BLKTYPE, 0o660, device=(8, 0)),
        Member("run/evil-fifo", tarfile.FIFOTYPE, 0o644),
    ],
    "open-dir": [Member("srv/open", tarfile.DIRTYPE, 0o777)],
    "caps-tool": [Member("usr/bin/caps-ping", mode=0o755, data=b"#!/bin/true\n", capability=NET_RAW)],
    # Absolute: the image's /etc; the build stage must read it as /staging/etc too.
    "ab-abs-link": [Member("usr/lib/ab-abs", tarfile.SYMTYPE, 0o777, link="/etc")],
    "zz-abs-write": [
        Member("usr/lib/ab-abs/ssl/certs/ca-certificates.crt", data=HOSTILE_CA),
        Member("usr/lib/ab-abs/zz-marker", data=b"written through a link\n"),
    ],
    "suid-tool": [Member("usr/bin/suid-tool", mode=0o4755, data=b"#!/bin/true\n")],
    # The runtime user could set root's password. (useradd refuses a symlinked shadow, so a hardened
    # build from an upstream image with one stops there; a distroless image has no useradd.)
    "shadow-link": [Member("etc/shadow", tarfile.SYMTYPE, 0o777, link="/home/nonroot/shadow")],
}
RECIPE = """\
name: {name}
description: Built from hostile inputs
version: 1.0.0
distro: debian
from: {base}
repositories:
  - {{url: "{url}", suite: hostile, trusted: true}}
{extra}
"""


@dataclass
class Built:
    root: Path
    out: str
    lines: dict[str, str]
    namespace: str


def upstream_layer(engine: Engine, registry: str) -> bytes:
    """The hostile layer over the seed: its own account files, changed, and the dangerous files."""
    passwd = b""
    for member, archive in engine.files(f"{registry}/{SEED}"):
        if member.name == "etc/passwd" and member.isfile():
            handle = archive.extractfile(member)
            passwd = handle.read() if handle is not None else b""
    passwd += b"toor:x:0:0:alias:/root:/bin/sh\nadmin:$6$salt$hash:1000:1000::/:/bin/sh\n"
    return file_tree(
        [
            Member("etc/passwd", data=passwd),
            Member("usr/local/bin/pinger", mode=0o755, data=b"#!/bin/true\n", capability=NET_RAW),
            Member("srv/null", tarfile.CHRTYPE, 0o666, device=(1, 3)),
            Member("srv/open", tarfile.DIRTYPE, 0o777),
            Member("etc/app.conf", data=b"mode = hostile\n", uid=65532),
        ]
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, engine: Engine, registry: str) -> Iterator[Built]:
    where = tmp_path_factory.mktemp("hostile")
    with AptRepo(where / "apt", suite="hostile") as repo, pytest.MonkeyPatch.context() as patch:
        for name, members in PACKAGES.items():
            add_deb(repo, name, members)
        repo.publish()
        repo.serve()
        root = make_channel(where, registry, patch, {})
        namespace = os.environ["BUILDER_NAMESPACE"]
        upstream = f"{registry}/{namespace}/hostile-upstream"
        engine.build(
            f"FROM {registry}/{SEED}\nADD layer.tar /\n",
            f"{upstream}:1",
            {},
            pull=False,
            on_line=lambda _: None,
            files={"layer.tar": (upstream_layer(engine, registry), 0o644)},
        )
        engine.push(upstream, "1")
        recipes = {
            "refused": (
                "variants:\n  - {name: slim, final: distroless, "
                "packages: [aa-escape, caps-tool, dev-node, open-dir, zz-write]}"
            ),
            "dpkg": "packages: [dev-node, open-dir]",
            "inside": (
                "hardening: {strip_setuid: false}\nvariants:\n  - {name: slim, final: distroless, "
                "packages: [ab-abs-link, shadow-link, suid-tool, zz-abs-write]}"
            ),
        }
        for name, extra in recipes.items():
            (root / "recipes" / f"{name}.yaml").write_text(
                RECIPE.format(name=name, base=SEED, url=repo.url, extra=extra), encoding="utf-8"
            )
        (root / "recipes" / "upstream.yaml").write_text(
            textwrap.dedent(f"""\
            name: upstream
            description: Built on a hostile upstream image
            version: 1.0.0
            distro: debian
            from: {namespace}/hostile-upstream:1
            """),
            encoding="utf-8",
        )
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = cli.main(["--root", str(root), "build", "refused/slim", "dpkg", "inside/slim", "upstream"])
        assert code == 9
        yield Built(root, out.getvalue(), outcome_lines(out.getvalue()), namespace)


def image_files(engine: Engine, image: str, wanted: set[str]) -> dict[str, tarfile.TarInfo | bytes]:
    """The wanted entries of an image: the contents of files, the headers of anything else."""
    found: dict[str, tarfile.TarInfo | bytes] = {}
    for member, archive in engine.files(image):
        if member.name in wanted:
            handle = archive.extractfile(member) if member.isfile() else None
            found[member.name] = handle.read() if handle is not None else member
    return found


def test_the_merge_refuses_each_hostile_package_by_name_and_path(built: Built) -> None:
    assert built.lines["refused/slim"].startswith("failed: build of ")
    # The last lines of the build log: stderr comes in colour codes, which the CLI shows escaped.
    tail = [re.sub(r"\\x1b\[[0-9;]*m", "", line).strip().removeprefix("| ") for line in built.out.splitlines()]
    refusals = [line for line in tail if line.startswith("staging refused")]
    assert refusals == [
        "staging refused: package aa-escape: /usr/lib/aa-escape leads out of the root",
        "staging refused: package caps-tool: /usr/bin/caps-ping carries file capabilities (security.capability)",
        "staging refused: package dev-node: /dev/evil-null is a device node",
        "staging refused: package dev-node: /run/evil-fifo is a fifo",
        "staging refused: package dev-node: /srv/evil-disk is a device node",
        "staging refused: package open-dir: /srv/open is a world-writable folder without the sticky bit (mode 0777)",
        "staging refused 6 path(s) of the packages above",
    ]


def test_dpkg_installs_hostile_packages_the_checks_refuse(built: Built) -> None:
    assert built.lines["dpkg"] == (
        "failed: IC011 no device nodes: FAILED: /srv/evil-disk (block device 8,0); "
        "IC012 no world-writable folder without the sticky bit: FAILED: /srv/open (0777); "
        "IC016 the runtime user writes only its home, /tmp and declared writable paths: FAILED: "
        "/srv/open (folder, 0777) is writable by everyone"
    )


def test_a_link_to_etc_is_the_image_etc_never_the_build_stage(built: Built, engine: Engine, registry: str) -> None:
    image = f"{registry}/{built.namespace}/inside:candidate-slim"
    files = image_files(engine, image, {CA_BUNDLE, "etc/zz-marker", "usr/lib/ab-abs"})
    bundle = files[CA_BUNDLE]
    assert isinstance(bundle, bytes)
    assert b"hostile" not in bundle
    assert bundle.count(b"BEGIN CERTIFICATE") > 100  # the build stage's own, genuine bundle
    assert files["etc/zz-marker"] == b"written through a link\n"
    link = files["usr/lib/ab-abs"]
    assert isinstance(link, tarfile.TarInfo)
    assert (link.issym(), link.linkname) == (True, "../../etc")
    # Checks ran, so the merge passed; IC002 fails on the setuid file the recipe keeps, IC015 on the shadow.
    assert built.lines["inside/slim"] == (
        "failed: IC002 no setuid/setgid files: FAILED: /usr/bin/suid-tool; "
        "IC015 account files are regular files: FAILED: /etc/shadow is a symlink to ../home/nonroot/shadow"
    )


def test_each_property_of_a_hostile_upstream_fails_its_check(built: Built) -> None:
    line = built.lines["upstream"]
    assert line.startswith("failed: ")
    for expected in [
        "IC010 no file capabilities outside hardening.capabilities_allow: FAILED: "
        "/usr/local/bin/pinger has cap_net_raw+ep",
        "IC011 no device nodes: FAILED: /srv/null (character device 1,3)",
        "IC012 no world-writable folder without the sticky bit: FAILED: /srv/open (0777)",
        "IC013 no account with uid 0 but root: FAILED: /etc/passwd: toor has uid 0",
        "IC014 no password in /etc/passwd: FAILED: /etc/passwd: admin has a password hash in the second field",
        "IC016 the runtime user writes only its home, /tmp and declared writable paths: FAILED: "
        "/etc/app.conf (file) is owned by the runtime user 65532; "
        "/srv/null (file, 0666) is writable by everyone; /srv/open (folder, 0777) is writable by everyone",
    ]:
        assert expected in line
