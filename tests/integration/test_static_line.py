"""The `static` line: base files, CA certificates, time zones and accounts on scratch, nothing else.

The channel here is debian-base and the committed static recipe, plus a hostile variant of it that
stages libc6: each check below is seen passing on `static` and failing on that variant. A static C
binary, compiled here with `gcc -static`, runs on it as the non-root user under the strict profile;
the same program linked dynamically does not start, because there is no libc to load it.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from builder.channel import lock as lockfile
from builder.cli import main as cli
from builder.core.runtime import Confinement
from builder.image.engine import Engine
from tests.support.channel import REPO, make_channel, pushed

GOOGLE_DISTROLESS_STATIC = 2 * 1024 * 1024  # gcr.io/distroless/static-debian12, about 2 MiB
SIZE_GOAL = int(1.5 * GOOGLE_DISTROLESS_STATIC)
BASE_FILES = {"base-files", "ca-certificates", "netbase", "tzdata"}
# libc6 brings the dynamic loader, so the variant keeps only the recipe's test that still holds.
HOSTILE_VARIANT = (
    "variants:\n  - {name: libc, packages: [libc6],\n"
    '     tests: [{name: no shell, run: [/bin/sh, -c, "true"], exit_code: 127}]}\n'
)

PROGRAM = r"""
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
int main(void) {
    struct stat tmp;
    FILE *probe = fopen("/tmp/probe", "w");
    int writable = probe != NULL && fputs("x", probe) >= 0 && fclose(probe) == 0;
    int trusted = access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0;
    int zones = access("/usr/share/zoneinfo/Europe/Paris", R_OK) == 0;
    if (stat("/tmp", &tmp) != 0) return 2;
    printf("%u:%u %o %d %d %d\n", getuid(), getgid(), tmp.st_mode & 07777, writable, trusted, zones);
    return 0;
}
"""


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory, engine: Engine, registry: str) -> Iterator[Path]:
    recipes = {
        name: (REPO / "recipes" / f"{name}.yaml").read_text(encoding="utf-8") for name in ("debian-base", "static")
    }
    recipes["static"] += HOSTILE_VARIANT
    with pytest.MonkeyPatch.context() as patch:
        root = make_channel(tmp_path_factory.mktemp("static"), registry, patch, recipes)
        assert cli.main(["--root", str(root), "build", "--push", "--jobs", "2"]) == 0
        yield root


def only_base_files(lock: lockfile.Lock) -> bool:
    return {package.name for package in lock.packages} == BASE_FILES


def within_size_goal(lock: lockfile.Lock) -> bool:
    assert lock.result is not None
    return lock.result.size <= SIZE_GOAL


@pytest.mark.parametrize(("image_id", "lean"), [("static", True), ("static/libc", False)])
def test_static_holds_base_files_only_within_the_size_goal(channel: Path, image_id: str, lean: bool) -> None:
    _, lock = pushed(channel, image_id)
    assert only_base_files(lock) is lean
    assert within_size_goal(lock) is lean


def test_static_has_accounts_tmp_and_no_shell_or_libc(channel: Path, engine: Engine) -> None:
    reference, _ = pushed(channel, "static")
    entries = {info.name.removeprefix("./").rstrip("/"): info for info, _ in engine.files(reference)}
    assert entries["tmp"].mode & 0o7777 == 0o1777
    assert not {"bin/sh", "usr/bin/sh", "busybox/sh", "usr/bin/dpkg", "usr/bin/apt"} & entries.keys()
    assert not [name for name in entries if "/libc.so" in name or "/ld-linux" in name]
    files = dict(_read(engine, reference, ("etc/passwd", "etc/group")))
    assert "nonroot:x:65532:65532::/home/nonroot:/usr/sbin/nologin" in files["etc/passwd"].splitlines()
    assert "nonroot:x:65532:" in files["etc/group"].splitlines()


def _read(engine: Engine, reference: str, wanted: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    for info, tar in engine.files(reference):
        name = info.name.removeprefix("./")
        if name in wanted and info.isfile():
            handle = tar.extractfile(info)
            assert handle is not None
            yield name, handle.read().decode("utf-8")


@pytest.mark.parametrize("linking", [["-static"], []], ids=["static binary", "hostile: dynamically linked"])
def test_a_static_binary_runs_as_non_root_under_the_strict_profile(
    channel: Path, engine: Engine, tmp_path: Path, linking: list[str]
) -> None:
    gcc = shutil.which("gcc")
    assert gcc is not None, "the static line's test compiles its program with gcc (apt-get install gcc libc6-dev)"
    (tmp_path / "probe.c").write_text(PROGRAM, encoding="utf-8")
    subprocess.run([gcc, "-Os", *linking, "-o", str(tmp_path / "probe"), str(tmp_path / "probe.c")], check=True)
    reference, _ = pushed(channel, "static")
    tag = f"builder-test/static-app:{uuid.uuid4().hex[:8]}"
    dockerfile = f'FROM {reference}\nCOPY probe /app/probe\nENTRYPOINT ["/app/probe"]\n'
    try:
        engine.build(
            dockerfile, tag, {}, False, lambda _line: None, files={"probe": ((tmp_path / "probe").read_bytes(), 0o755)}
        )
        result = engine.run(tag, ["/app/probe"], confinement=Confinement(tmpfs=("/tmp",)))
    finally:
        engine.remove(tag)
    if linking:
        assert (result.exit_code, result.stdout.strip()) == (0, "65532:65532 1777 1 1 1")
    else:
        assert result.exit_code != 0
