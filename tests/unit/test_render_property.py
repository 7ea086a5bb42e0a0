"""Any value the model accepts renders to exactly the template's instructions, read back intact.

Every string field of a recipe gets arbitrary text, hostile text included (trailing newlines,
C0 and C1 controls, bidi and zero-width characters, terminal escape sequences, workflow
commands): each value is either refused with a message that holds no raw control character
and no line a CI runner would read as a command, or renders to the template's instruction
sequence, as both this project's parser and dockerfile-parse read it.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser
from hypothesis import event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from builder.core import plaintext
from builder.core.reference import ImageRef
from builder.dockerfile import syntax
from builder.dockerfile.render import RenderInput, render_dockerfile
from builder.recipe.model import Recipe
from builder.recipe.problems import to_problem
from builder.recipe.source import Document
from builder.recipe.variants import ImageSpec, expand

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30)
PRINTABLE = TEXT.filter(lambda text: plaintext.first_unsafe(text) is None)
ENV_NAME = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,15}\Z")
LABEL_KEY = st.from_regex(r"\A[a-z][a-z0-9.-]{0,20}[a-z0-9]\Z").filter(lambda k: ".." not in k and "--" not in k)
PACKAGE = st.from_regex(r"\A[a-z0-9][a-z0-9+.-]{1,20}\Z")
# names.exec_item refuses what hadolint misreads in a JSON array: a backslash at the end or before ".
ARGV = st.lists(PRINTABLE.filter(lambda t: not t.endswith("\\") and '\\"' not in t), min_size=1, max_size=4)

# What an attacker writes into a recipe value, one piece at a time.
HOSTILE_PIECES = [
    "\n",
    "\r\n",
    "\t",
    "\x00",
    "\x1b[31m",
    "\x1b]0;title\x07",
    "\x85",
    "\x9b",
    "\u202e",
    "\u2066",
    "\u200b",
    "\u200d",
    "\u2028",
    "\ufeff",
    "\\",
    "'",
    '"',
    "$HOME",
    "${x}",
    "::warning::",
    "##[error]",
    "#",
    " ",
    "=",
    "/",
    "..",
    "é",
    "a",
]
HOSTILE = st.one_of(
    st.lists(st.sampled_from(HOSTILE_PIECES), max_size=6).map("".join),
    st.text(max_size=20),
)

BAD_SUFFIXES = ["\n", "\u202e", "\x85", "\x1b[0m", "\u200b"]
TRICKY_SUFFIXES = ["'", "\\", "$HOME", "::x", "-x", "/x", " #x", "=y", '"', "é", ".x", "0"]

# Every string field of a recipe, by its path in the recipe's data.
FIELDS: list[tuple[str | int, ...]] = [
    ("name",),
    ("description",),
    ("version",),
    ("from", "image"),
    ("packages", 0),
    ("user", "name"),
    ("user", "home"),
    ("workdir",),
    ("env", "KEY"),
    ("env", "VALUE"),
    ("labels", "KEY"),
    ("labels", "VALUE"),
    ("entrypoint", 0),
    ("cmd", 0),
    ("hardening", "setuid_allow", 0),
    ("variants", 0, "name"),
    ("variants", 0, "description"),
    ("variants", 0, "packages", 0),
    ("variants", 0, "env", "VALUE"),
    ("variants", 0, "labels", "KEY"),
    ("tests", 0, "name"),
    ("tests", 0, "run", 0),
    ("tests", 0, "stdout"),
    ("files", 0, "source"),
    ("files", 0, "destination"),
    ("files", 0, "mode"),
    ("repositories", 0, "url"),
    ("repositories", 0, "suite"),
    ("repositories", 0, "components", 0),
    ("repositories", 0, "signed_by"),
    ("ca_certificates", 0),
]


def _baseline() -> dict[str, Any]:
    """A recipe that uses every string field with a valid value."""
    return {
        "name": "prop",
        "description": "A base",
        "version": "1.0.0",
        "distro": "debian",
        "from": {"image": "debian:bookworm-slim"},
        "packages": ["curl"],
        "user": {"name": "app", "uid": 10001, "gid": 10001, "home": "/home/app"},
        "workdir": "/srv/app",
        "env": {"KEY": "VALUE"},
        "labels": {"org.example.key": "VALUE"},
        "entrypoint": ["app"],
        "cmd": ["--help"],
        "hardening": {"setuid_allow": ["/usr/bin/ping"]},
        "variants": [
            {
                "name": "slim",
                "description": "Slim",
                "packages": ["jq"],
                "env": {"KEY": "VALUE"},
                "labels": {"org.example.variant": "VALUE"},
            }
        ],
        "tests": [{"name": "runs", "run": ["app"], "stdout": "ok"}],
        "files": [{"source": "files/app.conf", "destination": "/etc/app.conf", "mode": "0644"}],
        "repositories": [
            {
                "url": "https://apt.example.com/debian",
                "suite": "stable",
                "components": ["main"],
                "signed_by": "keys/example.asc",
            }
        ],
        "ca_certificates": ["certificates/corp.crt"],
    }


def _put(data: dict[str, Any], path: tuple[str | int, ...], text: str) -> None:
    *parents, last = path
    holder: Any = data
    for part in parents:
        holder = holder[part]
    if last == "KEY":  # the key of a one-entry mapping
        holder[text] = holder.pop(next(iter(holder)))
    elif last == "VALUE":
        holder[next(iter(holder))] = text
    else:
        holder[last] = text


@st.composite
def hostile_recipes(draw: Any) -> dict[str, Any]:
    data = _baseline()
    for path in draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=2, unique=True)):
        valid = _valid_value(data, path)
        # Half of the values are hostile; the other half are tricky but often acceptable, so
        # that the rendering side of the property is exercised as much as the refusing side.
        suffix, piece = draw(
            st.one_of(
                HOSTILE.map(lambda text: (False, text)),
                st.sampled_from(BAD_SUFFIXES).map(lambda text: (True, text)),
                st.sampled_from(TRICKY_SUFFIXES).map(lambda text: (True, text)),
                st.sampled_from(TRICKY_SUFFIXES[:6]).map(lambda text: (True, text)),
                TEXT.map(lambda text: (False, text)),
            )
        )
        text = valid + piece if suffix else piece
        _put(data, path, text)
    return data


def _valid_value(data: dict[str, Any], path: tuple[str | int, ...]) -> str:
    holder: Any = data
    for part in path[:-1]:
        holder = holder[part]
    if path[-1] == "KEY":
        return str(next(iter(holder)))
    if path[-1] == "VALUE":
        return str(next(iter(holder.values())))
    return str(holder[path[-1]])


def _expected(image: ImageSpec) -> list[str]:
    recipe = image.recipe
    expected = ["FROM", "SHELL", "RUN", "LABEL"]
    expected += ["ENV"] if image.env else []
    expected += ["WORKDIR", "USER"]
    expected += ["ENTRYPOINT"] if recipe.entrypoint else []
    expected += ["CMD"] if recipe.cmd else []
    return expected


def _render(image: ImageSpec) -> str:
    base = ImageRef("docker.io", "library/debian", "bookworm-slim", "sha256:" + "a" * 64)
    return render_dockerfile(RenderInput(image, base, "docker.io/library/debian:bookworm-slim", None))


def _read_back(image: ImageSpec, text: str) -> None:
    """Both parsers see the template's instructions, and every value as the recipe wrote it."""
    ours = syntax.parse(text)
    parser = DockerfileParser(fileobj=io.BytesIO())
    parser.content = text
    theirs = [i["instruction"] for i in parser.structure if i["instruction"] != "COMMENT"]
    assert [i.keyword for i in ours] == _expected(image)
    assert theirs == _expected(image)
    by_keyword = {i.keyword: i.args for i in ours}
    labels = dict(syntax.key_values(by_keyword["LABEL"]))
    for key, value in image.labels.items():
        assert labels[key] == value
        assert parser.labels[key] == value
    assert labels["org.opencontainers.image.description"] == image.description
    if image.env:
        assert dict(syntax.key_values(by_keyword["ENV"])) == image.env
        assert parser.envs == image.env
    assert by_keyword["WORKDIR"] == image.workdir
    assert by_keyword["USER"] == f"{image.user.uid}:{image.user.gid}"
    for keyword, argv in (("ENTRYPOINT", image.recipe.entrypoint), ("CMD", image.recipe.cmd)):
        if argv:
            assert json.loads(by_keyword[keyword]) == list(argv)
    run_words = by_keyword["RUN"].split()
    for package in image.packages:
        assert package in run_words


def _assert_clean(line: str) -> None:
    assert plaintext.UNSAFE.search(line) is None, line
    assert not line.lstrip().startswith("::"), line
    assert "##[" not in line, line


@settings(max_examples=300, deadline=None)
@given(hostile_recipes())
def test_every_string_field_is_refused_cleanly_or_renders_intact(data: dict[str, Any]) -> None:
    try:
        recipe = Recipe.model_validate(data, context={"distro": "debian"}, by_alias=True)
    except ValidationError as exc:
        event("refused")
        doc = Document("recipes/prop.yaml", data)
        for error in exc.errors():
            _assert_clean(str(to_problem(doc, error, Recipe)))
        return
    event("accepted")
    for image in expand(recipe, "recipes/prop.yaml"):
        _read_back(image, _render(image))


@st.composite
def recipes(draw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "prop",
        "description": draw(PRINTABLE.filter(lambda t: bool(t.strip()))),
        "version": "1.0.0",
        "distro": draw(st.sampled_from(["debian", "ubuntu", "alpine"])),
        "from": {"image": "debian:bookworm-slim"},
        "packages": draw(st.lists(PACKAGE, unique=True, max_size=5)),
        "env": draw(st.dictionaries(ENV_NAME, PRINTABLE, max_size=4)),
        "labels": draw(
            st.dictionaries(LABEL_KEY.filter(lambda k: not k.startswith("org.opencontainers")), PRINTABLE, max_size=3)
        ),
    }
    if draw(st.booleans()):
        data["entrypoint"] = draw(ARGV)
    if draw(st.booleans()):
        data["cmd"] = draw(ARGV)
    return data


@settings(max_examples=150, deadline=None)
@given(recipes())
def test_rendered_instructions_and_values_round_trip(data: dict[str, Any]) -> None:
    recipe = Recipe.model_validate(data, context={"distro": data["distro"]}, by_alias=True)
    image = expand(recipe, "recipes/prop.yaml")[0]
    _read_back(image, _render(image))


@pytest.mark.parametrize(
    "value", ["x\n", "x\r", "x\x85", "x\x9b", "x\u202e", "x\u2066", "x\u200b", "x\u2028", "\ufeffx", "x\x1b[2J"]
)
def test_the_hostile_pieces_are_refused_as_env_values(value: str) -> None:
    """The property above relies on these being refused; a guard that they still are."""
    data = _baseline()
    data["env"] = {"KEY": value}
    with pytest.raises(ValidationError):
        Recipe.model_validate(data, context={"distro": "debian"}, by_alias=True)
