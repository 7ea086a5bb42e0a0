"""The recipe's runtime block: its bad inputs with their exact lines, and the profile it publishes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import ValidationError

from builder.channel import layout, versioning
from builder.channel import lock as lockfile
from builder.channel.history import Record, from_lock
from builder.channel.history import write as write_record
from builder.channel.layout import ImageFiles
from builder.core.errors import LockError
from builder.core.facts import RecipeSnapshot
from builder.core.reference import ImageRef
from builder.core.runtime import Profile, Runtime
from builder.dockerfile import render, syntax
from builder.image import strict
from builder.recipe import load as recipes
from builder.recipe.model import Recipe
from builder.recipe.variants import expand, spec_sha256
from builder.release import catalog
from tests.support.channel import load_channel
from tests.unit.test_recipe_errors import GOOD, problems_of

REPO = Path(__file__).resolve().parents[2]
AT = "recipes/app.yaml:7"

BAD_RUNTIME = [
    ("runtime: {writable: [tmp]}", f"{AT}:22: runtime.writable[0]: 'tmp' is not an absolute path; start it with /"),
    (
        "runtime: {writable: [/]}",
        f"{AT}:22: runtime.writable[0]: '/' would make the whole root writable; "
        "name the folders the program writes, e.g. /var/cache/app",
    ),
    (
        "runtime: {writable: [/var//cache]}",
        f"{AT}:22: runtime.writable[0]: '/var//cache' is not a normalized path (no //, . or .. parts, no trailing /)",
    ),
    (
        "runtime: {writable: [/var/cache/]}",
        f"{AT}:22: runtime.writable[0]: '/var/cache/' is not a normalized path (no //, . or .. parts, no trailing /)",
    ),
    (
        "runtime: {writable: [/var/../etc]}",
        f"{AT}:22: runtime.writable[0]: '/var/../etc' is not a normalized path (no //, . or .. parts, no trailing /)",
    ),
    (
        'runtime: {writable: ["/tmp\\n"]}',
        f"{AT}:22: runtime.writable[0]: '/tmp\\n' has characters not allowed "
        "in paths here (letters, digits and . _ @ + - / only, at most 1024)",
    ),
    (
        'runtime: {writable: ["/tmp/\\u202ecache"]}',
        f"{AT}:22: runtime.writable[0]: '/tmp/\\u202ecache' has "
        "characters not allowed in paths here (letters, digits and . _ @ + - / only, at most 1024)",
    ),
    (
        "runtime: {writable: [/etc]}",
        f"{AT}:22: runtime.writable[0]: '/etc' is a system folder: a tmpfs there "
        "hides the image's own files; name the folder the program writes, e.g. /var/cache/app",
    ),
    (
        "runtime: {writable: [/usr/local]}",
        f"{AT}:22: runtime.writable[0]: '/usr/local' is a system folder: a "
        "tmpfs there hides the image's own files; name the folder the program writes, e.g. /var/cache/app",
    ),
    (
        "runtime: {writable: [/proc/sys]}",
        f"{AT}:22: runtime.writable[0]: '/proc/sys' is in /proc, which the "
        "container runtime provides; name a folder of the image",
    ),
    (
        "runtime: {writable: [/dev]}",
        f"{AT}:22: runtime.writable[0]: '/dev' is in /dev, which the container "
        "runtime provides; name a folder of the image",
    ),
    ("runtime: {writable: [/tmp, /tmp]}", f"{AT}:11: runtime.writable: /tmp is listed twice; list each path once"),
    (
        "runtime: {writable: [/var/cache, /var/cache/app]}",
        f"{AT}:11: runtime.writable: /var/cache/app is inside "
        "/var/cache, which is writable already; list /var/cache only",
    ),
    ("runtime: {writable: /tmp}", f"{AT}:11: runtime.writable: expected a list, e.g. [a, b], got '/tmp'"),
    (
        "runtime: {ports: [0]}",
        f"{AT}:19: runtime.ports[0]: '0' is not a port; give a number from 1 to 65535 "
        "such as 8080, or NUMBER/tcp, NUMBER/udp such as 53/udp",
    ),
    ("runtime: {ports: [65536]}", f"{AT}:19: runtime.ports[0]: 65536 is out of range (1 to 65535)"),
    (
        "runtime: {ports: [80/sctp]}",
        f"{AT}:19: runtime.ports[0]: '80/sctp' is not a port; give a number from "
        "1 to 65535 such as 8080, or NUMBER/tcp, NUMBER/udp such as 53/udp",
    ),
    (
        'runtime: {ports: ["8080\\n"]}',
        f"{AT}:19: runtime.ports[0]: '8080\\n' is not a port; give a number "
        "from 1 to 65535 such as 8080, or NUMBER/tcp, NUMBER/udp such as 53/udp",
    ),
    ("runtime: {ports: [8080, 8080/tcp]}", f"{AT}:11: runtime.ports: 8080/tcp is listed twice; list each port once"),
    ("runtime: {arbitrary_uid: yes}", f"{AT}:11: runtime.arbitrary_uid: expected true or false, got 'yes'"),
    ("runtime: {arbitrary_uid: 0}", f"{AT}:11: runtime.arbitrary_uid: expected true or false, got '0'"),
    ('runtime: {arbitrary_uid: "no"}', f"{AT}:11: runtime.arbitrary_uid: expected true or false, got 'no'"),
    (
        "runtime: {writeable: [/tmp]}",
        f"{AT}:11: runtime.writeable: unknown field 'writeable' (did you mean 'writable'?)",
    ),
    (
        "variants: [{name: v, runtime: {ports: [http]}}]",
        f"{AT}:40: variants[0].runtime.ports[0]: 'http' is not "
        "a port; give a number from 1 to 65535 such as 8080, or NUMBER/tcp, NUMBER/udp such as 53/udp",
    ),
]


@pytest.mark.parametrize(("line", "expected"), BAD_RUNTIME, ids=[b[0][:48] for b in BAD_RUNTIME])
def test_bad_runtime(tmp_path: Path, line: str, expected: str) -> None:
    assert problems_of(tmp_path, {"app.yaml": GOOD + line + "\n"}) == [expected]


def recipe(**fields: object) -> Recipe:
    base = {"name": "app", "description": "d", "version": "1.0.0", "distro": "debian", "from": "debian:12"}
    return Recipe.model_validate({**base, **fields})


def test_defaults_ports_and_a_variant_that_replaces_the_profile() -> None:
    made = recipe(
        runtime={"ports": ["8080", 8443, "53/udp"], "arbitrary_uid": "true"},
        variants=[{"name": "v", "runtime": {"writable": []}}, {"name": "w"}],
    )
    own, replaced, inherited = expand(made, "recipes/app.yaml")
    assert own.runtime == Runtime(writable=("/tmp",), ports=("8080/tcp", "8443/tcp", "53/udp"), arbitrary_uid=True)
    assert replaced.runtime == Runtime(writable=())
    assert inherited.runtime == own.runtime
    assert recipe().runtime == Runtime(writable=("/tmp",), ports=(), arbitrary_uid=False)


def test_a_default_runtime_leaves_the_recipe_hash_alone() -> None:
    plain, spelled = expand(recipe(), "r")[0], expand(recipe(runtime={"writable": ["/tmp"]}), "r")[0]
    assert spec_sha256(plain) == spec_sha256(spelled)
    assert spec_sha256(expand(recipe(runtime={"writable": ["/var/cache/app"]}), "r")[0]) != spec_sha256(plain)


def test_docker_flags_and_kubernetes_settings_of_a_profile() -> None:
    profile = Profile.of(Runtime(writable=("/tmp", "/var/cache/app"), ports=("8080/tcp", "53/udp")), 10001, 10002)
    assert profile.docker_run_flags() == [
        "--read-only",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        "--user=10001:10002",
        "--tmpfs=/tmp:rw,noexec,nosuid,nodev",
        "--tmpfs=/var/cache/app:rw,noexec,nosuid,nodev",
    ]
    assert profile.kubernetes() == {
        "container": {
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "runAsGroup": 10002,
                "readOnlyRootFilesystem": True,
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "volumeMounts": [
                {"name": "writable-1", "mountPath": "/tmp"},
                {"name": "writable-2", "mountPath": "/var/cache/app"},
            ],
            "ports": [{"containerPort": 8080, "protocol": "TCP"}, {"containerPort": 53, "protocol": "UDP"}],
        },
        "volumes": [{"name": "writable-1", "emptyDir": {}}, {"name": "writable-2", "emptyDir": {}}],
    }


def older_lock() -> lockfile.Lock:
    """A committed lock as written before runtime profiles: without the field."""
    data = json.loads((REPO / "base-images" / "python" / layout.LOCK).read_text())
    data.pop("runtime", None)
    return lockfile.parse(json.dumps(data), "an older lock")


def test_the_lock_records_the_profile_and_reads_older_locks_as_not_verified(tmp_path: Path) -> None:
    old = older_lock()
    assert old.runtime is None
    images = expand(recipe(tests=[{"name": "t", "run": ["true"]}]), "r")
    assert strict.profile(expand(recipe(), "r")[0]) is None  # no test ran under it
    verified = old.model_copy(update={"runtime": strict.profile(images[0])})
    lockfile.write(tmp_path / "image.lock.json", verified)
    assert json.loads((tmp_path / "image.lock.json").read_text())["runtime"] == {
        "arbitrary_uid": False,
        "ports": [],
        "user": "65532:65532",
        "writable": ["/tmp"],
    }
    assert lockfile.read(tmp_path / "image.lock.json") == verified


def test_catalog_publishes_the_verified_profile_and_marks_older_releases_declared(tmp_path: Path) -> None:
    root = tmp_path / "channel"
    (root / "recipes").mkdir(parents=True)
    (root / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    (root / "recipes" / "web.yaml").write_text(
        "name: web\ndescription: A web server\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"
        "user: {name: web, uid: 10001, gid: 10001}\nruntime: {writable: [/var/cache/web], ports: [8080]}\n"
        "variants: [{name: old}]\n"
    )
    config, channel = load_channel(root, environ={})
    old = older_lock()
    verified = Profile(user="10001:10001", writable=("/var/cache/web",), ports=("8080/tcp",))
    for image_id, runtime in (("web", verified), ("web/old", None)):
        lock = old.model_copy(update={"image": image_id, "runtime": runtime})
        files = ImageFiles.of(config, channel.images[image_id])
        files.folder.mkdir(parents=True, exist_ok=True)
        write_record(
            files.releases, Record(image=image_id, releases=(from_lock(lock, "1.0.0", "2026-11-30", ("1.0.0",), {}),))
        )
    index = catalog.build(config, channel)
    web, declared = index.model_dump(mode="json")["images"]
    assert web["runtime"] == {
        "user": "10001:10001",
        "writable": ["/var/cache/web"],
        "ports": ["8080/tcp"],
        "arbitrary_uid": False,
        "verified": True,
        "docker_run": verified.docker_run_flags(),
        "kubernetes": verified.kubernetes(),
    }
    assert declared["runtime"]["verified"] is False
    assert declared["runtime"]["writable"] == ["/var/cache/web"]
    text = catalog.readme(index)
    assert (
        "### web (verified)\n\n```sh\ndocker run --read-only --cap-drop=ALL --security-opt=no-new-privileges "
        "--user=10001:10001 --tmpfs=/var/cache/web:rw,noexec,nosuid,nodev "
        f"{config.image_repository('web')}:1.0.0\n```\n"
    ) in text
    assert "### web/old (declared)\n" in text
    assert (
        "  volumeMounts:\n  - name: writable-1\n    mountPath: /var/cache/web\n  ports:\n"
        "  - containerPort: 8080\n    protocol: TCP\nvolumes:\n- name: writable-1\n  emptyDir: {}\n"
    ) in text


BEFORE = Runtime(writable=("/tmp",), ports=("8080/tcp",))


@pytest.mark.parametrize(
    ("after", "kind"),
    [
        (BEFORE, "patch"),
        (Runtime(writable=("/tmp", "/var/cache/app"), ports=("8080/tcp",)), "major"),  # a mount to add
        (Runtime(writable=(), ports=("8080/tcp",)), "minor"),
        (Runtime(writable=("/tmp",), ports=("8080/tcp", "9090/tcp")), "minor"),
        (Runtime(writable=("/tmp",)), "major"),  # a port gone
        (Runtime(writable=("/tmp",), ports=("8080/tcp",), arbitrary_uid=True), "minor"),
        (None, "patch"),  # a lock from before the profile
    ],
)
def test_a_profile_that_needs_more_of_the_consumer_is_major(after: Runtime | None, kind: str) -> None:
    spec = RecipeSnapshot(base="debian:bookworm-slim", distro="debian", runtime=BEFORE)
    why = [] if kind == "patch" else ["runtime profile changed"]
    assert versioning.classify(spec, spec.model_copy(update={"runtime": after})) == (kind, why)


def test_dropping_the_arbitrary_uid_is_major() -> None:
    anyone = RecipeSnapshot(base="debian:bookworm-slim", distro="debian", runtime=Runtime(arbitrary_uid=True))
    assert versioning.classify(anyone, anyone.model_copy(update={"runtime": Runtime()}))[0] == "major"


def test_a_tmpfs_over_a_committed_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "app.toml").write_text("x = 1\n")
    files = "files: [{source: files/app.toml, destination: /etc/app/app.toml}]\n"
    assert problems_of(tmp_path, {"app.yaml": GOOD + files + "runtime: {writable: [/etc/app]}\n"}) == [
        "recipes/app.yaml:8:22: runtime.writable[0]: /etc/app is mounted as an empty tmpfs, which hides "
        "/etc/app/app.toml; put the file elsewhere or name a narrower folder"
    ]
    variant = "variants: [{name: v, runtime: {writable: [/tmp, /etc/app]}}]\n"
    assert problems_of(tmp_path, {"app.yaml": GOOD + files + variant}) == [
        "recipes/app.yaml:8:49: variants[0].runtime.writable[1]: /etc/app is mounted as an empty tmpfs, which hides "
        "/etc/app/app.toml; put the file elsewhere or name a narrower folder"
    ]
    ok = tmp_path / "ok"
    (ok / "files").mkdir(parents=True)
    (ok / "files" / "app.toml").write_text("x = 1\n")
    folder = ok / "recipes"
    folder.mkdir()
    (folder / "app.yaml").write_text(GOOD + files + "runtime: {writable: [/etc/app/cache]}\n")
    assert [r.recipe.runtime.writable for r in recipes.load_dir(folder, ok)] == [("/etc/app/cache",)]


@pytest.mark.parametrize(
    ("runtime", "message"),
    [
        ({"user": "0:0"}, "runtime.user: Value error, '0:0' is not a numeric non-root uid:gid"),
        (
            {"user": "1:1", "writable": ["/"]},
            "runtime.writable.0: Value error, '/' would make the whole root "
            "writable; name the folders the program writes, e.g. /var/cache/app",
        ),
        (
            {"user": "1:1", "ports": ["8080/sctp"]},
            "runtime.ports.0: Value error, '8080/sctp' is not a port; give a "
            "number from 1 to 65535 such as 8080, or NUMBER/tcp, NUMBER/udp such as 53/udp",
        ),
    ],
)
def test_a_hand_edited_profile_in_a_lock_is_refused(tmp_path: Path, runtime: dict[str, object], message: str) -> None:
    data = json.loads((REPO / "base-images" / "python" / layout.LOCK).read_text())
    path = tmp_path / layout.LOCK
    path.write_text(json.dumps({**data, "runtime": runtime}))
    with pytest.raises(LockError) as caught:
        lockfile.read(path)
    assert caught.value.message == (
        f"{path}: {message}; the lock is corrupted or hand-edited: restore it from git or rebuild the image"
    )


PORTS = st.lists(
    st.one_of(st.integers(-5, 70000), st.text(max_size=12), st.from_regex(r"\A[0-9]{1,5}/(tcp|udp)\n?\Z")), max_size=4
)


@hypothesis_settings(max_examples=150, deadline=None)
@given(PORTS)
def test_any_accepted_ports_render_one_expose_of_normalized_ports(ports: list[object]) -> None:
    try:
        made = recipe(runtime={"ports": ports})
    except ValidationError:
        return
    image = expand(made, "recipes/app.yaml")[0]
    base = ImageRef("docker.io", "library/debian", "bookworm-slim", "sha256:" + "a" * 64)
    parsed = syntax.parse(render.render_dockerfile(render.RenderInput(image, base, "debian", None)))
    exposed = [i.args for i in parsed if i.keyword == "EXPOSE"]
    assert [i.keyword for i in parsed][-2:] == (["USER", "EXPOSE"] if ports else ["WORKDIR", "USER"])
    assert exposed == ([" ".join(made.runtime.ports)] if ports else [])
    for item in made.runtime.ports:
        number, protocol = item.split("/")
        assert 1 <= int(number) <= 65535
        assert protocol in ("tcp", "udp")
