"""Bad recipes and the exact lines they produce: file:line:column: field: what (how to fix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli import main as cli
from builder.core.errors import RecipeError
from builder.recipe import graph, load

GOOD = """\
name: app
description: An application base
version: 1.0.0
distro: debian
from: {image: "debian:bookworm-slim"}
packages: [ca-certificates]
"""


def problems_of(tmp_path: Path, files: dict[str, str | bytes]) -> list[str]:
    folder = tmp_path / "recipes"
    folder.mkdir(exist_ok=True)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    with pytest.raises(RecipeError) as caught:
        graph.build(load.load_dir(folder, tmp_path))
    return [str(p) for p in caught.value.problems]


BAD_FIELDS = [
    (
        "version: 1.10",
        "recipes/app.yaml:3:1: version: '1.10' is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.0.0)",
    ),
    (
        "version: 1.0.0-rc1",
        "recipes/app.yaml:3:1: version: '1.0.0-rc1': image lines use plain MAJOR.MINOR.PATCH versions",
    ),
    (
        "distro: debain",
        "recipes/app.yaml:4:1: distro: 'debain' is not one of debian, ubuntu or alpine (did you mean 'debian'?)",
    ),
    (
        'from: {image: "debian:latest"}',
        "recipes/app.yaml:5:8: from.image: 'debian:latest' uses "
        "the moving `latest` tag; name a release tag, e.g. debian:bookworm-slim",
    ),
    (
        'from: {image: "debian"}',
        "recipes/app.yaml:5:8: from.image: 'debian' has no tag; name one explicitly, e.g. debian:bookworm-slim",
    ),
    (
        'from: {image: "debian:bookworm@sha256:' + "a" * 64 + '"}',
        "recipes/app.yaml:5:8: from.image: 'debian:bookworm@sha256:" + "a" * 64 + "' carries a "
        "digest; name a tag only: the digest is resolved into image.lock.json and the Dockerfile, "
        "and watched for updates",
    ),
    ('from: {image: "Debian:12"}', "recipes/app.yaml:5:8: from.image: 'Debian:12': repository names must be lowercase"),
    (
        'from: {image: "deb ian:12"}',
        "recipes/app.yaml:5:8: from.image: 'deb ian:12' is not a valid "
        "image reference (expected NAME[:TAG][@DIGEST], e.g. debian:bookworm-slim)",
    ),
    (
        "from: {image: 'debian:12', recipe: base}",
        "recipes/app.yaml:5:1: from: give exactly one of "
        "`image` (an upstream tag) or `recipe` (another recipe of this channel)",
    ),
    (
        "packages: [Python3]",
        "recipes/app.yaml:6:12: packages[0]: 'Python3' is not a valid debian "
        "package name (lowercase letters, digits and + - . only, at least 2 characters, starting "
        "with a letter or digit); did you mean 'python3'?",
    ),
    (
        "packages: [curl=7.88]",
        "recipes/app.yaml:6:12: packages[0]: 'curl=7.88' is not a valid "
        "debian package name (lowercase letters, digits and + - . only, at least 2 characters, "
        "starting with a letter or digit); versions are not pinned in recipes: the lock records "
        "them and security updates move them",
    ),
    (
        'packages: ["curl; rm -rf /"]',
        "recipes/app.yaml:6:12: packages[0]: 'curl; rm -rf /' is not "
        "a valid debian package name (lowercase letters, digits and + - . only, at least 2 "
        "characters, starting with a letter or digit)",
    ),
    ("packages: [curl, curl]", "recipes/app.yaml:6:1: packages: 'curl' is listed twice; list each package once"),
    ("packages: curl", "recipes/app.yaml:6:1: packages: expected a list, e.g. [a, b], got 'curl'"),
    ("pakages: [curl]", "recipes/app.yaml:7:1: pakages: unknown field 'pakages' (did you mean 'packages'?)"),
    (
        "user: {name: root, uid: 1000, gid: 1000}",
        "recipes/app.yaml:7:8: user.name: the user must "
        "not be root; images run as a non-root user (omit `user` for the default nonroot "
        "65532:65532)",
    ),
    (
        "user: {name: app, uid: 0, gid: 1000}",
        "recipes/app.yaml:7:19: user.uid: 0 is root; use a non-root id such as 65532",
    ),
    (
        "user: {name: app, uid: 1000, gid: 0}",
        "recipes/app.yaml:7:30: user.gid: 0 is root; use a non-root id such as 65532",
    ),
    ("user: {name: app, uid: lots, gid: 1}", "recipes/app.yaml:7:19: user.uid: expected a whole number, got 'lots'"),
    (
        "user: {name: app, uid: 1, gid: 1, shel: /bin/sh}",
        "recipes/app.yaml:7:35: user.shel: unknown field 'shel' (allowed fields: gid, home, name, uid)",
    ),
    ("user: {name: app, gid: 1}", "recipes/app.yaml:7:1: user.uid: required field is missing (add `uid:`)"),
    ("workdir: srv", "recipes/app.yaml:7:1: workdir: 'srv' is not an absolute path; start it with /"),
    (
        "workdir: /srv/../etc",
        "recipes/app.yaml:7:1: workdir: '/srv/../etc' is not a normalized path (no //, . or .. parts, no trailing /)",
    ),
    (
        'workdir: "/srv/my app"',
        "recipes/app.yaml:7:1: workdir: '/srv/my app' has characters not "
        "allowed in paths here (letters, digits and . _ @ + - / only)",
    ),
    (
        "env: {1BAD: x}",
        "recipes/app.yaml:7:7: env.1BAD: '1BAD' is not a valid environment variable "
        "name (letters, digits and _, not starting with a digit)",
    ),
    (
        'env: {A: "one\\ntwo"}',
        "recipes/app.yaml:7:7: env.A: contains the control character U+000A; use a single line of printable text",
    ),
    (
        "labels: {Org.Example: x}",
        "recipes/app.yaml:7:10: labels.Org.Example: 'Org.Example' is not "
        "a valid label key (lowercase reverse-DNS such as org.example.team: letters, digits, . and -, "
        "starting with a letter, no .. or --)",
    ),
    ('entrypoint: "python3 -c"', "recipes/app.yaml:7:1: entrypoint: expected a list, e.g. [a, b], got 'python3 -c'"),
    ("entrypoint: []", "recipes/app.yaml:7:1: entrypoint: must not be empty"),
    (
        "hardening: {strip_setuid: maybe}",
        "recipes/app.yaml:7:13: hardening.strip_setuid: expected true or false, got 'maybe'",
    ),
    (
        "hardening: {remove_shells: true}",
        "recipes/app.yaml:7:13: hardening.remove_shells: needs an "
        "`entrypoint`: without a shell the image has nothing else to run",
    ),
    ("tests: [{name: t, run: []}]", "recipes/app.yaml:7:19: tests[0].run: must not be empty"),
    (
        "tests: [{name: t, run: [id]}, {name: t, run: [id]}]",
        "recipes/app.yaml:7:32: tests[1].name: test 't' is declared twice; give each a unique name",
    ),
    (
        'tests: [{name: uid, run: "id -u | grep 10001"}]',
        "recipes/app.yaml:7:21: tests[0].run: expected the "
        "command as a list (exec form, no shell), got 'id -u | grep 10001'; write [sh, -c, \"id -u | grep "
        '10001"] to run it with a shell, but distroless images have no shell: there, call the program '
        "itself, e.g. [id, -u] with `stdout:`",
    ),
    (
        "variants: [{name: x}, {name: x}]",
        "recipes/app.yaml:7:24: variants[1].name: variant 'x' is declared twice; give each a unique name",
    ),
    (
        "final: slim",
        "recipes/app.yaml:7:1: final: 'slim' is not one of hardened or distroless (use one of hardened or distroless)",
    ),
    (
        "packages: [bash, python3]\nfinal: distroless",
        "recipes/app.yaml:6:12: packages[0]: the recipe is "
        "distroless, which carries no shell or package manager, so bash cannot be staged; drop them, "
        "or make it `final: hardened`",
    ),
    (
        "variants: [{name: d, final: distroless, packages: [dpkg, apt]}]",
        "recipes/app.yaml:7:58: "
        "variants[0].packages[1]: "
        "variant 'd' is distroless, which carries no shell or package manager, so apt, dpkg cannot be "
        "staged; drop them, or make it `final: hardened`",
    ),
    ("main_package: python3", "recipes/app.yaml:7:1: main_package: 'python3' is not in `packages`: name one of them"),
    (
        "variants: [{name: slim, final: distroless}, {name: slim-debug}]",
        "recipes/app.yaml:7:46: "
        "variants[1].name: 'slim-debug' is the name of the debug companion of the distroless image; rename "
        "that variant",
    ),
    (
        "distro: alpine\nfinal: distroless",
        "recipes/app.yaml:5:1: final: `final: distroless` stages Debian "
        "packages with apt; alpine images are already small: use the hardened form with remove_shells",
    ),
]


def with_line(line: str) -> str:
    """GOOD with `line` replacing the line of the same field, or added at the end."""
    key = line.split(":", 1)[0]
    kept = [row for row in GOOD.splitlines() if not row.startswith(f"{key}:")]
    replaced = len(kept) != len(GOOD.splitlines())
    lines = GOOD.splitlines()
    text = "\n".join(line if row.startswith(f"{key}:") else row for row in lines) if replaced else GOOD + line
    return text + "\n"


@pytest.mark.parametrize(("line", "expected"), BAD_FIELDS, ids=[b[0][:40] for b in BAD_FIELDS])
def test_bad_field(tmp_path: Path, line: str, expected: str) -> None:
    assert problems_of(tmp_path, {"app.yaml": with_line(line)}) == [expected]


BAD_FILES: list[tuple[str, str | bytes, str]] = [
    (
        "duplicate key",
        GOOD + "version: 2.0.0\n",
        "recipes/app.yaml:7:1: version: duplicate key (it is already set on line 3; keep one)",
    ),
    (
        "syntax",
        GOOD + "packages: [a\n",
        "recipes/app.yaml:8:1: YAML syntax error: did not find "
        "expected ',' or ']' (check indentation and quoting near this line)",
    ),
    (
        "not UTF-8",
        GOOD.encode() + b"env: {A: \xff}\n",
        "recipes/app.yaml:7: not valid UTF-8 (byte 148) (save the file as UTF-8)",
    ),
    (
        "binary",
        GOOD.encode() + b"\x00\x01\x02",
        "recipes/app.yaml:7:1: control character U+0000 in the file (recipes are plain text; remove binary content)",
    ),
    (
        "oversized",
        GOOD + "#" * 300_000 + "\n",
        "recipes/app.yaml: file is 300140 bytes, over the "
        "262144 byte limit (a recipe is a short file; split it or remove what is not needed)",
    ),
    (
        "not a mapping",
        "- a\n- b\n",
        "recipes/app.yaml:1:1: a recipe is a mapping of fields (name:, "
        "description:, ...) (see the recipe reference in docs/recipes.md)",
    ),
    (
        "tab indentation",
        GOOD + "user:\n  name: app\n\tuid: 1000\n",
        "recipes/app.yaml:9:1: YAML syntax "
        "error: a tab indents this line (YAML indents with spaces only: replace the tab with spaces)",
    ),
    (
        "tab before a list item",
        GOOD + "tests:\n \t- {name: t, run: [id]}\n",
        "recipes/app.yaml:8:2: YAML "
        "syntax error: a tab indents this line (YAML indents with spaces only: replace the tab with spaces)",
    ),
    (
        "file name not an image name",
        GOOD.replace("name: app\n", ""),
        "recipes/App.yaml: without `name:` the "
        "image is named after the file, but 'App' is not a valid image name (lowercase letters and digits, "
        "separated by single . _ or -; at most 64 characters) (rename the file, or give `name:`)",
    ),
    (
        "name differs",
        GOOD.replace("name: app", "name: other"),
        "recipes/app.yaml:1:1: name: "
        "'other' does not match the file name (rename the file to other.yaml or set name: app)",
    ),
    (
        "missing fields",
        "name: app\n",
        "recipes/app.yaml:1:1: description: required field is missing (add `description:`)",
    ),
]


@pytest.mark.parametrize(("case", "content", "expected"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file(tmp_path: Path, case: str, content: str | bytes, expected: str) -> None:
    name = "App.yaml" if case == "file name not an image name" else "app.yaml"
    assert problems_of(tmp_path, {name: content})[0] == expected


def test_a_merge_key_hides_no_unknown_field(tmp_path: Path) -> None:
    # Merge keys are refused (a merge hides which fields a recipe sets); what else is wrong with
    # the file is still reported in the same run, not after the merge key is fixed.
    found = problems_of(tmp_path, {"app.yaml": GOOD + "base: &b {A: x}\nenv:\n  <<: *b\n"})
    assert found == [
        "recipes/app.yaml:7:1: base: unknown field 'base' (allowed fields: accept_eol, ca_certificates, cmd, "
        "description, distro, entrypoint, env, files, final, from, hardening, labels, main_package, name, packages, "
        "repositories, "
        "runtime, tests, user, variants, version, vex, workdir)",
        "recipes/app.yaml:9:3: env: merge keys (<<) are not supported: a merge hides which fields the recipe "
        "sets and lets one override another unseen (write the fields out)",
    ]


def test_a_long_list_without_aliases_does_not_blame_aliases(tmp_path: Path) -> None:
    packages = ", ".join(f"p{i}" for i in range(25_000))
    found = problems_of(tmp_path, {"app.yaml": GOOD.replace("packages: [ca-certificates]", f"packages: [{packages}]")})
    assert found == [
        "recipes/app.yaml:6:148838: packages[19992]: more than 20000 values (a recipe holds what one "
        "image needs: list fewer packages, or split it into recipes that build FROM each other)"
    ]


def test_name_defaults_to_the_file_name(tmp_path: Path) -> None:
    folder = tmp_path / "recipes"
    folder.mkdir()
    (folder / "app.yaml").write_text(GOOD.replace("name: app\n", ""), encoding="utf-8")
    (folder / "web.yaml").write_text(GOOD.replace("name: app", "name: web"), encoding="utf-8")
    assert [item.recipe.name for item in load.load_dir(folder, tmp_path)] == ["app", "web"]


def test_a_file_in_the_home_without_an_owner_is_located(tmp_path: Path) -> None:
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "x.conf").write_text("x\n", encoding="utf-8")
    found = problems_of(
        tmp_path,
        {
            "app.yaml": GOOD + "user: {name: app, uid: 1000, gid: 1000, home: /srv/app}\n"
            "files:\n  - {source: files/x.conf, destination: /srv/app/x.conf}\n"
        },
    )
    assert found == [
        "recipes/app.yaml:9:28: files[0].destination: /srv/app/x.conf is in the home of app, who can "
        "replace it whoever owns it: say who owns it, `owner: user` (the program may change it) or "
        "`owner: root`"
    ]
    # A system folder as the home is refused at `user.home`, whatever the files placed in it.
    found = problems_of(
        tmp_path,
        {
            "app.yaml": GOOD + "user: {name: app, uid: 1000, gid: 1000, home: /etc}\n"
            "files:\n  - {source: files/x.conf, destination: /etc/x.conf}\n"
        },
    )
    assert found == [
        "recipes/app.yaml:7:41: user.home: '/etc' is not a folder of its own under /home, /var/lib, "
        "/srv, /opt: the user owns its home, so it must not be a system folder; use e.g. /home/NAME "
        "or /var/lib/NAME"
    ]


def test_plan_outside_a_channel_names_the_path_and_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(tmp_path), "plan", "--offline"]) == RecipeError.exit_code
    captured = capsys.readouterr()
    assert (captured.out + captured.err).splitlines() == [
        f"{tmp_path}/recipes: no recipes folder here (run builder inside a channel repository, one whose "
        "pyproject.toml has [tool.builder], or give its path with --root PATH; a new channel starts with "
        "recipes/NAME.yaml files)",
        f"error: {tmp_path}/recipes: no recipes folder (1 problem(s))",
    ]


def test_alias_bomb_is_bounded(tmp_path: Path) -> None:
    rows = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        rows.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    found = problems_of(tmp_path, {"app.yaml": "\n".join(rows) + "\n"})
    assert len(found) == 1
    assert "more than 20000 values (alias expansion?)" in found[0]


def test_all_problems_of_all_recipes_at_once(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        {
            "app.yaml": GOOD.replace("1.0.0", "one") + "user: {name: root, uid: 0, gid: 1}\n",
            "web.yaml": GOOD.replace("name: app", "name: web").replace("debian", "alpine", 1) + "packages2: []\n",
        },
    )
    assert [line.split(": ")[0] + ": " + line.split(": ")[1] for line in found] == [
        "recipes/app.yaml:3:1: version",
        "recipes/app.yaml:7:8: user.name",
        "recipes/app.yaml:7:20: user.uid",
        "recipes/web.yaml:7:1: packages2",
    ]


def test_graph_missing_parent_and_variant(tmp_path: Path) -> None:
    def on(parent: str) -> str:
        return GOOD.replace('{image: "debian:bookworm-slim"}', parent)

    found = problems_of(
        tmp_path,
        {
            "debian-base.yaml": GOOD.replace("name: app", "name: debian-base") + "variants: [{name: trixie}]\n",
            "app.yaml": on("{recipe: debain-base}"),
            "web.yaml": on("{recipe: debian-base, variant: trixy}").replace("name: app", "name: web"),
            "gone.yaml": on("{recipe: nothere}").replace("name: app", "name: gone"),
            "odd.yaml": on("{recipe: gone, variant: slim}").replace("name: app", "name: odd"),
        },
    )
    assert found == [
        "recipes/app.yaml:5:8: from.recipe: there is no recipe 'debain-base' in this channel "
        "(did you mean 'debian-base'?)",
        "recipes/gone.yaml:5:8: from.recipe: there is no recipe 'nothere' in this channel "
        "(add recipes/nothere.yaml or fix the name)",
        "recipes/odd.yaml:5:22: from.variant: recipe 'gone' has no variant 'slim' (its variants: none)",
        "recipes/web.yaml:5:29: from.variant: recipe 'debian-base' has no variant 'trixy' (did you mean 'trixie'?)",
    ]


def test_graph_cycle_names_every_recipe(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        {
            "a.yaml": GOOD.replace("name: app", "name: a").replace('{image: "debian:bookworm-slim"}', "{recipe: b}"),
            "b.yaml": GOOD.replace("name: app", "name: b").replace('{image: "debian:bookworm-slim"}', "{recipe: c}"),
            "c.yaml": GOOD.replace("name: app", "name: c").replace('{image: "debian:bookworm-slim"}', "{recipe: a}"),
        },
    )
    assert found == [
        "recipes/a.yaml:5:1: from: recipes build FROM each other in a cycle: "
        "a -> b -> c -> a (one of them must build FROM an upstream image)"
    ]


def test_graph_distro_and_user_clash(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        {
            "base.yaml": GOOD.replace("name: app", "name: base"),
            "app.yaml": GOOD.replace('{image: "debian:bookworm-slim"}', "{recipe: base}").replace(
                "distro: debian", "distro: ubuntu"
            )
            + "user: {name: nonroot, uid: 1000, gid: 1000}\n",
        },
    )
    assert found == [
        "recipes/app.yaml:4:1: distro: app is ubuntu but builds FROM base, which is debian (set distro: debian)",
        "recipes/app.yaml:7:1: user: user nonroot 1000:1000 clashes with nonroot 65532:65532 of "
        "base (reuse the parent's user exactly or pick another name and uid)",
    ]


def test_reserved_label(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {"app.yaml": GOOD + "labels: {org.opencontainers.image.version: '9'}\n"})
    assert found == [
        "recipes/app.yaml:7:10: labels.org.opencontainers.image.version: "
        "org.opencontainers.image.version is set by the builder from the lock and the "
        "build; remove it"
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'repositories: [{url: "http://apt.example.com/debian", suite: stable, trusted: true}]',
            "recipes/app.yaml:7:16: repositories[0]: `trusted: true` skips signature checks and is refused "
            "for apt.example.com; give `signed_by` with the repository's key (trusted is only allowed for a "
            "repository on 127.0.0.1)",
        ),
        (
            'repositories: [{url: "http://127.0.0.1:8080/", suite: stable}]',
            "recipes/app.yaml:7:16: repositories[0]: an unsigned repository is refused: give `signed_by: "
            "keys/NAME.asc` (its public key, committed here)",
        ),
        (
            'repositories: [{url: "http://127.0.0.1:8080/", suite: stable, trusted: true, signed_by: k.asc}]',
            "recipes/app.yaml:7:16: repositories[0]: give `signed_by` (a key) or `trusted: true`, not both",
        ),
        (
            'repositories: [{url: "https://apt.example.com/", signed_by: keys/a.asc}]',
            "recipes/app.yaml:7:16: repositories[0]: https://apt.example.com/ needs a `suite` (e.g. bookworm)",
        ),
        (
            'repositories: [{url: "ftp://127.0.0.1/x y", suite: stable, trusted: true}]',
            "recipes/app.yaml:7:17: repositories[0].url: 'ftp://127.0.0.1/x y' is not an http(s) URL of a "
            "package repository (e.g. https://apt.example.com/debian)",
        ),
    ],
)
def test_bad_repository(tmp_path: Path, line: str, expected: str) -> None:
    assert problems_of(tmp_path, {"app.yaml": GOOD + line + "\n"}) == [expected]


def test_nothing_builds_from_a_distroless_image(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        {
            "base.yaml": GOOD.replace("name: app", "name: base") + "variants: [{name: slim, final: distroless}]\n",
            "app.yaml": GOOD.replace('{image: "debian:bookworm-slim"}', "{recipe: base, variant: slim}"),
            "dbg.yaml": GOOD.replace("name: app", "name: dbg").replace(
                '{image: "debian:bookworm-slim"}', "{recipe: base, variant: slim-debug}"
            ),
        },
    )
    assert found == [
        "recipes/app.yaml:5:1: from: app builds FROM base/slim, a distroless image: it has no shell or "
        "package manager to build with (build FROM the hardened image of that recipe; a distroless "
        "image restates its ancestors' packages itself)",
        "recipes/dbg.yaml:5:1: from: dbg builds FROM base/slim-debug, a distroless image: it has no "
        "shell or package manager to build with (build FROM the hardened image of that recipe; a "
        "distroless image restates its ancestors' packages itself)",
    ]
