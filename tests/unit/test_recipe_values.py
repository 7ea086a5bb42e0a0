"""Hostile recipe values and the exact, single, escaped line each one gets (issue 13, points 3-9).

Each table row was accepted, or crashed, before: a trailing newline passed the allow-lists,
`/` passed as a home, `no` read as false, invisible characters reached the Dockerfile, raw
escape sequences reached the terminal, and render accepted what lint then refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.channel import history
from builder.channel.history import Record
from builder.channel.lock import Lock
from builder.cli import main as cli
from builder.core import plaintext, settings
from builder.core import reference as imageref
from builder.core.errors import ConfigError, LockError
from builder.core.facts import BaseLock, ImageLock
from builder.core.reference import ImageRef
from builder.dockerfile import hadolint, policy
from builder.dockerfile.render import RenderInput, render_dockerfile
from builder.recipe import graph, inputs
from builder.recipe import load as recipes
from tests.unit.test_check_pins import entry, index, version
from tests.unit.test_recipe_errors import GOOD, problems_of, with_line

REFUSED = [
    # 3: allow-lists match the whole value, a final newline included
    (
        'env: {"PATH\\n": x}',
        "recipes/app.yaml:7:7: env.PATH\\x0a: 'PATH\\n' is not a valid environment variable name "
        "(letters, digits and _, not starting with a digit)",
    ),
    (
        'labels: {"org.example.team\\n": x}',
        "recipes/app.yaml:7:10: labels.org.example.team\\x0a: 'org.example.team\\n' is not a valid "
        "label key (lowercase reverse-DNS such as org.example.team: letters, digits, . and -, starting "
        "with a letter, no .. or --)",
    ),
    (
        'user: {name: app, uid: 1, gid: 1, home: "/home/app\\n"}',
        "recipes/app.yaml:7:35: user.home: '/home/app\\n' has characters not allowed in paths here "
        "(letters, digits and . _ @ + - / only)",
    ),
    (
        'workdir: "/srv/app\\n"',
        "recipes/app.yaml:7:1: workdir: '/srv/app\\n' has characters not allowed in paths here "
        "(letters, digits and . _ @ + - / only)",
    ),
    (
        'hardening: {setuid_allow: ["/usr/bin/ping\\n"]}',
        "recipes/app.yaml:7:28: hardening.setuid_allow[0]: '/usr/bin/ping\\n' has characters not "
        "allowed in paths here (letters, digits and . _ @ + - / only)",
    ),
    (
        'variants: [{name: "slim\\n"}]',
        "recipes/app.yaml:7:13: variants[0].name: 'slim\\n' is not a valid image name (lowercase "
        "letters and digits, separated by single . _ or -; at most 64 characters)",
    ),
    (
        'files: [{source: files/a.conf, destination: "/etc/a.conf\\n"}]',
        "recipes/app.yaml:7:32: files[0].destination: '/etc/a.conf\\n' has characters not allowed in "
        "paths here (letters, digits and . _ @ + - / only)",
    ),
    (
        'files: [{source: "files/a.conf\\n", destination: /etc/a.conf}]',
        "recipes/app.yaml:7:10: files[0].source: 'files/a.conf\\n' has characters not allowed in paths "
        "here (letters, digits and . _ @ + - / only)",
    ),
    (
        'files: [{source: files/a.conf, destination: /etc/a.conf, mode: "0644\\n"}]',
        "recipes/app.yaml:7:58: files[0].mode: contains the control character U+000A; use a single "
        "line of printable text",
    ),
    (
        'packages: ["curl\\n"]',
        "recipes/app.yaml:6:12: packages[0]: contains the control character U+000A; use a single line "
        "of printable text",
    ),
    (
        'user: {name: "app\\n", uid: 1, gid: 1}',
        "recipes/app.yaml:7:8: user.name: contains the control character U+000A; use a single line of printable text",
    ),
    (
        'tests: [{name: "runs\\n", run: [id]}]',
        "recipes/app.yaml:7:10: tests[0].name: contains the control character U+000A; use a single "
        "line of printable text",
    ),
    (
        'repositories: [{url: "https://apt.example.com/debian\\n", suite: stable, signed_by: k.asc}]',
        "recipes/app.yaml:7:17: repositories[0].url: contains the control character U+000A; use a "
        "single line of printable text",
    ),
    (
        'repositories: [{url: "https://apt.example.com/debian", suite: "stable\\n", signed_by: k.asc}]',
        "recipes/app.yaml:7:56: repositories[0].suite: contains the control character U+000A; use a "
        "single line of printable text",
    ),
    (
        'repositories: [{url: "https://apt.example.com/debian", suite: stable, components: ["main\\n"], '
        "signed_by: k.asc}]",
        "recipes/app.yaml:7:84: repositories[0].components[0]: contains the control character U+000A; "
        "use a single line of printable text",
    ),
    (
        'ca_certificates: ["certificates/a.crt\\n"]',
        "recipes/app.yaml:7:19: ca_certificates[0]: 'certificates/a.crt\\n' has characters not allowed "
        "in paths here (letters, digits and . _ @ + - / only)",
    ),
    (
        'from: {recipe: "base\\n"}',
        "recipes/app.yaml:5:8: from.recipe: 'base\\n' is not a valid image name (lowercase letters and "
        "digits, separated by single . _ or -; at most 64 characters)",
    ),
    # 4: the home is a new folder under an allowed prefix
    (
        "user: {name: app, uid: 1, gid: 1, home: /}",
        "recipes/app.yaml:7:35: user.home: '/' is not a folder of its own under /home, /var/lib, /srv, "
        "/opt: the user owns its home, so it must not be a system folder; use e.g. /home/NAME or "
        "/var/lib/NAME",
    ),
    (
        "user: {name: app, uid: 1, gid: 1, home: /usr/bin}",
        "recipes/app.yaml:7:35: user.home: '/usr/bin' is not a folder of its own under /home, "
        "/var/lib, /srv, /opt: the user owns its home, so it must not be a system folder; use e.g. "
        "/home/NAME or /var/lib/NAME",
    ),
    (
        "user: {name: app, uid: 1, gid: 1, home: /tmp}",
        "recipes/app.yaml:7:35: user.home: '/tmp' is not a folder of its own under /home, /var/lib, "
        "/srv, /opt: the user owns its home, so it must not be a system folder; use e.g. /home/NAME or "
        "/var/lib/NAME",
    ),
    (
        "user: {name: app, uid: 1, gid: 1, home: /root}",
        "recipes/app.yaml:7:35: user.home: '/root' is not a folder of its own under /home, /var/lib, "
        "/srv, /opt: the user owns its home, so it must not be a system folder; use e.g. /home/NAME or "
        "/var/lib/NAME",
    ),
    (
        "user: {name: app, uid: 1, gid: 1, home: /proc}",
        "recipes/app.yaml:7:35: user.home: '/proc' is not a folder of its own under /home, /var/lib, "
        "/srv, /opt: the user owns its home, so it must not be a system folder; use e.g. /home/NAME or "
        "/var/lib/NAME",
    ),
    (
        "user: {name: app, uid: 1, gid: 1, home: /etc}",
        "recipes/app.yaml:7:35: user.home: '/etc' is not a folder of its own under /home, /var/lib, "
        "/srv, /opt: the user owns its home, so it must not be a system folder; use e.g. /home/NAME or "
        "/var/lib/NAME",
    ),
    (
        "user: {name: app, uid: 1, gid: 1, home: /home}",
        "recipes/app.yaml:7:35: user.home: '/home' is not a folder of its own under /home, /var/lib, "
        "/srv, /opt: the user owns its home, so it must not be a system folder; use e.g. /home/NAME or "
        "/var/lib/NAME",
    ),
    (
        "user: {name: app, uid: 1, gid: 1, home: /homes/app}",
        "recipes/app.yaml:7:35: user.home: '/homes/app' is not a folder of its own under /home, "
        "/var/lib, /srv, /opt: the user owns its home, so it must not be a system folder; use e.g. "
        "/home/NAME or /var/lib/NAME",
    ),
    (
        "user: {name: app, uid: 1, gid: 1, home: /var/lib/dpkg}",
        "recipes/app.yaml:7:35: user.home: '/var/lib/dpkg' is a system folder the user would then own; "
        "use a new folder, e.g. /var/lib/NAME",
    ),
    (
        "user: {name: app, uid: 1, gid: 1, home: /var/lib/apt/app}",
        "recipes/app.yaml:7:35: user.home: '/var/lib/apt/app' is inside /var/lib/apt, a system folder "
        "the user would then own; use a new folder, e.g. /var/lib/NAME",
    ),
    (
        "user: {name: app, uid: 1, gid: 1, home: /var/lib}",
        "recipes/app.yaml:7:35: user.home: '/var/lib' is not a folder of its own under /home, "
        "/var/lib, /srv, /opt: the user owns its home, so it must not be a system folder; use e.g. "
        "/home/NAME or /var/lib/NAME",
    ),
    # 5: booleans are YAML's plain true and false
    (
        "hardening: {strip_setuid: no}",
        "recipes/app.yaml:7:13: hardening.strip_setuid: expected true or false, got 'no'",
    ),
    (
        "hardening: {strip_setuid: off}",
        "recipes/app.yaml:7:13: hardening.strip_setuid: expected true or false, got 'off'",
    ),
    ("hardening: {strip_setuid: 0}", "recipes/app.yaml:7:13: hardening.strip_setuid: expected true or false, got '0'"),
    (
        'hardening: {strip_setuid: "no"}',
        "recipes/app.yaml:7:13: hardening.strip_setuid: expected true or false, got the quoted text "
        "'no'; drop the quotes",
    ),
    (
        "hardening: {strip_setuid: 'false'}",
        "recipes/app.yaml:7:13: hardening.strip_setuid: expected true or false, got the quoted text "
        "'false'; drop the quotes",
    ),
    (
        "hardening: {remove_shells: yes}",
        "recipes/app.yaml:7:13: hardening.remove_shells: expected true or false, got 'yes'",
    ),
    (
        "hardening: {remove_package_manager: True}",
        "recipes/app.yaml:7:13: hardening.remove_package_manager: expected true or false, got 'True'",
    ),
    (
        "hardening: {strip_setuid: }",
        "recipes/app.yaml:7:13: hardening.strip_setuid: expected true or false, got nothing",
    ),
    (
        'repositories: [{url: "http://127.0.0.1:8080/", suite: stable, trusted: on}]',
        "recipes/app.yaml:7:63: repositories[0].trusted: expected true or false, got 'on'",
    ),
    # 6: no C1, bidi, zero-width or separator characters in text
    (
        'description: "An \\x9b[2J base"',
        "recipes/app.yaml:2:1: description: contains the control character U+009B; use a single line of printable text",
    ),
    (
        'description: "An \\u202Eesab"',
        "recipes/app.yaml:2:1: description: contains the bidi control character U+202E; use a single "
        "line of printable text",
    ),
    (
        'description: "A\\u2066 base"',
        "recipes/app.yaml:2:1: description: contains the bidi control character U+2066; use a single "
        "line of printable text",
    ),
    (
        'description: "A\\u200B base"',
        "recipes/app.yaml:2:1: description: contains the invisible character U+200B; use a single line "
        "of printable text",
    ),
    (
        'description: "A\\uFEFF base"',
        "recipes/app.yaml:2:1: description: contains the invisible character U+FEFF; use a single line "
        "of printable text",
    ),
    (
        'env: {A: "x\\u2028y"}',
        "recipes/app.yaml:7:7: env.A: contains the line separator U+2028; use a single line of printable text",
    ),
    (
        'labels: {org.example.team: "\\u200Dx"}',
        "recipes/app.yaml:7:10: labels.org.example.team: contains the invisible character U+200D; use "
        "a single line of printable text",
    ),
    (
        'entrypoint: ["python3\\u202E"]',
        "recipes/app.yaml:7:14: entrypoint[0]: contains the bidi control character U+202E; use a "
        "single line of printable text",
    ),
    (
        'tests: [{name: t, run: [id], stdout: "\\x85"}]',
        "recipes/app.yaml:7:30: tests[0].stdout: contains the control character U+0085; use a single "
        "line of printable text",
    ),
    (
        'variants: [{name: v, description: "\\u2069"}]',
        "recipes/app.yaml:7:22: variants[0].description: contains the bidi control character U+2069; "
        "use a single line of printable text",
    ),
    # 9: what lint would refuse in the Dockerfile is refused at the field
    (
        'labels: {"0": x}',
        "recipes/app.yaml:7:10: labels.0: '0' is not a valid label key (lowercase reverse-DNS such as "
        "org.example.team: letters, digits, . and -, starting with a letter, no .. or --)",
    ),
    (
        "labels: {0a.example: x}",
        "recipes/app.yaml:7:10: labels.0a.example: '0a.example' is not a valid label key (lowercase "
        "reverse-DNS such as org.example.team: letters, digits, . and -, starting with a letter, no .. "
        "or --)",
    ),
    (
        "labels: {org--example: x}",
        "recipes/app.yaml:7:10: labels.org--example: 'org--example' is not a valid label key "
        "(lowercase reverse-DNS such as org.example.team: letters, digits, . and -, starting with a "
        "letter, no .. or --)",
    ),
    (
        "labels: {com.docker.compose.project: x}",
        "recipes/app.yaml:7:10: labels.com.docker.compose.project: 'com.docker.compose.project' is in "
        "a namespace Docker reserves for itself (com.docker., io.docker., org.dockerproject.); use "
        "your own, e.g. org.example.team",
    ),
    (
        'entrypoint: ["python3", "-c\\\\"]',
        "recipes/app.yaml:7:25: entrypoint[1]: '-c\\\\' has a backslash at its end, which hadolint misreads "
        "in a JSON array (the Dockerfile would fail lint); drop it or pass the argument another way",
    ),
    (
        'cmd: ["\\\\"]',
        "recipes/app.yaml:7:7: cmd[0]: '\\\\' has a backslash at its end, which hadolint misreads in a JSON "
        "array (the Dockerfile would fail lint); drop it or pass the argument another way",
    ),
    (
        "cmd: ['say \\\"hi\\\"']",
        "recipes/app.yaml:7:7: cmd[0]: 'say \\\\\"hi\\\\\"' has a backslash before a double quote, which "
        "hadolint misreads in a JSON array (the Dockerfile would fail lint); drop it or pass the argument "
        "another way",
    ),
]


@pytest.mark.parametrize(("line", "expected"), REFUSED, ids=[r[0][:50] for r in REFUSED])
def test_refused_at_the_field(tmp_path: Path, line: str, expected: str) -> None:
    assert problems_of(tmp_path, {"app.yaml": with_line(line)}) == [expected]


@pytest.mark.parametrize("home", ["/home/app", "/var/lib/app", "/srv/app/data", "/opt/app", "/var/lib/aptly"])
def test_homes_of_their_own_are_accepted(tmp_path: Path, home: str) -> None:
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "app.yaml").write_text(with_line(f"user: {{name: app, uid: 1, gid: 1, home: {home}}}"))
    assert recipes.load_dir(folder, tmp_path)[0].recipe.user.home_dir == home


def test_plain_true_and_false_are_booleans(tmp_path: Path) -> None:
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "app.yaml").write_text(with_line("hardening: {strip_setuid: false, remove_package_manager: true}"))
    hardening = recipes.load_dir(folder, tmp_path)[0].recipe.hardening
    assert (hardening.strip_setuid, hardening.remove_package_manager) == (False, True)


# 7: what the recipe says is escaped in every message; no line can pass for a workflow command.
HOSTILE_KEYS = (
    'env: {"\\e[31mRED": x, "A\\n::warning file=x::pwned": y}\nlabels: {"\\e]0;title\\a": x, "##[error]k": y}\n'
)


def test_messages_escape_what_the_recipe_says(
    channel_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (channel_copy / "recipes" / "app.yaml").write_text(GOOD + HOSTILE_KEYS)
    (channel_copy / "recipes" / "\x1b[2Jx.yaml").write_text(GOOD)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert cli.main(["--root", str(channel_copy), "render"]) == 3
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert lines[2:6] == [
        "recipes/app.yaml:7:7: env.\\x1b[31mRED: '\\x1b[31mRED' is not a valid environment variable name "
        "(letters, digits and _, not starting with a digit)",
        "::error file=recipes/app.yaml,line=7::env.\\x1b[31mRED: '\\x1b[31mRED' is not a valid environment "
        "variable name (letters, digits and _, not starting with a digit)",
        "recipes/app.yaml:7:23: env.A\\x0a::warning file=x::pwned: 'A\\n::warning file=x::pwned' is not a "
        "valid environment variable name (letters, digits and _, not starting with a digit)",
        "::error file=recipes/app.yaml,line=7::env.A%0A::warning file=x::pwned: 'A\\n::warning file=x::pwned' "
        "is not a valid environment variable name (letters, digits and _, not starting with a digit)",
    ]
    assert lines[6].startswith("recipes/app.yaml:8:10: labels.\\x1b]0;title\\x07: '\\x1b]0;title\\x07' is not")
    assert lines[8].startswith("recipes/app.yaml:8:29: labels.#\\x23[error]k: '#\\x23[error]k' is not")
    assert lines[:2] == [
        "recipes/\\x1b[2Jx.yaml:1:1: name: 'app' does not match the file name (rename the file to app.yaml "
        "or set name: \\x1b[2Jx)",
        "::error file=recipes/\\x1b[2Jx.yaml,line=1::name: 'app' does not match the file name",
    ]
    for line in lines:
        assert plaintext.UNSAFE.search(line) is None, line
        assert "##[" not in line, line
        assert not line.startswith("::") or line.startswith("::error file=recipes/"), line


def test_pins_in_a_folder_named_like_a_workflow_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repository = "registry.example.com/base/python"
    digest = "sha256:" + "b" * 64
    catalog = tmp_path / "index.json"
    catalog.write_text(
        json.dumps(index(entry("python", None, {"1": digest}, version("1.0.0", digest), repository=repository)))
    )
    hostile = tmp_path / "repo" / "::error::pwned\x1b[8m"
    hostile.mkdir(parents=True)
    (hostile / "Dockerfile").write_text(f"FROM {repository}:1\n")
    monkeypatch.chdir(tmp_path / "repo")
    assert cli.main(["check-pins", "--strict", "--catalog", str(catalog), "."]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"\\x3a:error::pwned\\x1b[8m/Dockerfile:1: {repository}:1: tracking 1, now 1.0.0 ({digest}) -> "
        f"{repository}:1@{digest}",
        "1 outdated pin(s)",
    ]


# 8: one line instead of a traceback.
def test_a_source_part_longer_than_a_file_name_can_be(tmp_path: Path) -> None:
    line = "files: [{source: files/" + "a" * 256 + ", destination: /etc/a.conf}]"
    assert problems_of(tmp_path, {"app.yaml": with_line(line)}) == [
        "recipes/app.yaml:7:10: files[0].source: 'files/" + "a" * 256 + "' has a part longer than 255 "
        "characters, more than a file system allows; shorten it"
    ]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("files/a.conf/b.conf", "files/a.conf/b.conf goes through a file as if it were a folder; fix the path"),
        ("files/" + "a" * 256, "files/" + "a" * 256 + " cannot be read (File name too long)"),
    ],
)
def test_committed_paths_the_file_system_refuses(tmp_path: Path, source: str, expected: str) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.conf").write_text("x\n")
    assert inputs.read_committed(tmp_path, source) == expected


def test_a_source_through_a_file(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.conf").write_text("x\n")
    line = "files: [{source: files/a.conf/b.conf, destination: /etc/a.conf}]"
    assert problems_of(tmp_path, {"app.yaml": with_line(line)}) == [
        "recipes/app.yaml:7:10: files[0].source: files/a.conf/b.conf goes through a file as if it were a "
        "folder; fix the path"
    ]


def test_a_release_record_with_a_version_that_is_not_semver(tmp_path: Path) -> None:
    lock = Lock(
        image="x",
        version="1.0.0",
        recipe_sha256="0",
        base=BaseLock(reference="r/x:1", digest="sha256:" + "a" * 64),
        result=ImageLock(
            repository="r/x", tag="candidate", digest="sha256:" + "b" * 64, image_id="sha256:" + "b" * 64, size=1
        ),
    )
    record = Record(image="x", releases=(history.from_lock(lock, "1.0.0", "2026-01-01", ("1.0.0",), {}),))
    path = tmp_path / "releases.json"
    data = json.loads(history.dumps(record))
    data["releases"][0]["version"] = "1.x"  # valid JSON, valid shape: only the version is wrong
    path.write_text(json.dumps(data))
    with pytest.raises(LockError) as caught:
        history.read(path, "x")
    assert caught.value.message == (
        f"{path}: not a valid release record (releases[0].version: '1.x' is not a "
        "semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0)); restore it from git"
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            index({k: v for k, v in entry("x", None, {}, repository="r.example/x").items() if k != "tags"}),
            "images[0].tags: Field required",
        ),
        (
            index(entry("x", None, {}, version("one", "sha256:" + "1" * 64), repository="r.example/x")),
            "images[0].versions[0].version: 'one' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0)",
        ),
        (
            index(entry("x", None, {}, repository="Not A Ref")),
            "images[0].repository: 'Not A Ref' is not a valid image reference (expected NAME[:TAG][@DIGEST], "
            "e.g. debian:bookworm-slim)",
        ),
        (["not", "a", "mapping"], "top level: expected a JSON object"),
    ],
)
def test_check_pins_with_a_catalog_missing_a_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: object, expected: str
) -> None:
    catalog = tmp_path / "index.json"
    catalog.write_text(json.dumps(data))
    (tmp_path / "Dockerfile").write_text("FROM r.example/x:1\n")
    assert cli.main(["check-pins", "--catalog", str(catalog), str(tmp_path / "Dockerfile")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: {catalog}: not a channel catalog ({expected}); pass --catalog PATH to the channel's "
        "base-images/index.json"
    ]


# 9: lint's privilege-escalation rule sees what a variant adds.
def test_hb011_sees_packages_added_by_a_variant(tmp_path: Path) -> None:
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "app.yaml").write_text(GOOD + "variants:\n  - name: admin\n    packages: [jq, sudo]\n")
    channel = graph.build(recipes.load_dir(folder, tmp_path))
    found = [str(f) for f in policy.check_recipe(channel, channel.images["app/admin"]) if f.rule.id == "HB011"]
    assert found == [
        "recipes/app.yaml:9: HB011 error: sudo lets a process become root (fix: remove sudo/doas "
        "from packages; the image runs as its own non-root user)"
    ]
    assert [f for f in policy.check_recipe(channel, channel.images["app"]) if f.rule.id == "HB011"] == []


# 9: what the model accepts, hadolint accepts; what it refuses, hadolint would have refused.
EDGE = (
    GOOD
    + """\
labels: {a: x, a0: x, a.0: x, a-0: x, a.-b: x, org.docker.x: 'ends in \\\\', org.example.q: "it's \\"q\\""}
env: {A: 'ends in \\\\', B: "$HOME ${x} 'q'"}
entrypoint: ['a\\b', 'a"b', "\u00e9", "$HOME", "a]", "\\\\x"]
cmd: ["--flag=a b"]
"""
)


@pytest.mark.allow_subprocess
def test_hadolint_agrees_with_what_the_model_accepts(tmp_path: Path) -> None:
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "app.yaml").write_text(EDGE)
    image = graph.build(recipes.load_dir(folder, tmp_path)).images["app"]
    base = ImageRef("docker.io", "library/debian", "bookworm-slim", "sha256:" + "a" * 64)
    path = tmp_path / "Dockerfile"
    path.write_text(render_dockerfile(RenderInput(image, base, "docker.io/library/debian:bookworm-slim", None)))
    assert image.recipe.entrypoint == ("a\\b", 'a"b', "\u00e9", "$HOME", "a]", "\\x")
    assert hadolint.run([path]) == []


@pytest.mark.allow_subprocess
@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("LABEL 0='x'", "DL3048"),
        ("LABEL a--b='x'", "DL3048"),
        ("LABEL com.docker.x='x'", "DL3048"),
        ('ENTRYPOINT ["a\\\\"]', "DL3025"),
        ('CMD ["x", "\\\\"]', "DL3025"),
        ('CMD ["say \\\\\\"hi"]', "DL3025"),
    ],
)
def test_hadolint_refuses_what_the_model_refuses(tmp_path: Path, line: str, code: str) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(f"FROM debian@sha256:{'a' * 64}\n{line}\nUSER 1:1\n")
    assert [f.code for f in hadolint.run([path])] == [code]


# 3, beyond recipes: references, digests and channel settings match whole values too.
def test_references_digests_and_settings_refuse_a_final_newline(tmp_path: Path) -> None:
    with pytest.raises(imageref.ReferenceError) as caught:
        imageref.parse("debian:bookworm-slim\n")
    assert str(caught.value) == (
        "'debian:bookworm-slim\\n' is not a valid image reference (expected "
        "NAME[:TAG][@DIGEST], e.g. debian:bookworm-slim)"
    )
    assert not imageref.is_sha256_digest("sha256:" + "a" * 64 + "\n")
    (tmp_path / "pyproject.toml").write_text("[tool.builder]\n")
    for key, value, expected in [
        ("REGISTRY", "127.0.0.1:5000\n", "[tool.builder] registry: '127.0.0.1:5000\\n' is not HOST[:PORT]"),
        (
            "NAMESPACE",
            "base\n",
            "[tool.builder] namespace: 'base\\n' is not a repository path (lowercase components separated by /)",
        ),
    ]:
        with pytest.raises(ConfigError) as refused:
            settings.load(tmp_path, environ={f"BUILDER_{key}": value})
        assert refused.value.message == expected


# 6, written raw in the file rather than as YAML escapes.
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "description: An \u009b[2J base\n",
            "recipes/app.yaml:2:17: control character U+009B in the file (recipes are "
            "plain text; remove binary content)",
        ),
        (
            "description: An \u0085 base\n",
            "recipes/app.yaml:2:17: control character U+0085 in the file (recipes are "
            "plain text; remove binary content)",
        ),
        (
            "description: abc\u202edef\n",
            "recipes/app.yaml:2:1: description: contains the bidi control character "
            "U+202E; use a single line of printable text",
        ),
        (
            "description: a\ufeffb\n",
            "recipes/app.yaml:2:1: description: contains the invisible character U+FEFF; "
            "use a single line of printable text",
        ),
    ],
)
def test_raw_invisible_characters(tmp_path: Path, raw: str, expected: str) -> None:
    text = GOOD.replace("description: An application base\n", raw)
    assert problems_of(tmp_path, {"app.yaml": text}) == [expected]
