"""Image references, YAML scalars, Dockerfile parsing and settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.core import reference, settings
from builder.core.errors import ConfigError
from builder.dockerfile import syntax
from builder.recipe import source


@pytest.mark.parametrize(
    ("text", "normalized"),
    [
        ("debian:bookworm-slim", "docker.io/library/debian:bookworm-slim"),
        ("library/debian:12", "docker.io/library/debian:12"),
        ("bitnami/redis:7", "docker.io/bitnami/redis:7"),
        ("ghcr.io/org/img:1.0", "ghcr.io/org/img:1.0"),
        ("localhost/img:1", "localhost/img:1"),
        ("127.0.0.1:5000/library/debian:bookworm-slim", "127.0.0.1:5000/library/debian:bookworm-slim"),
        ("reg.example.com:443/a/b/c:v1.2_3", "reg.example.com:443/a/b/c:v1.2_3"),
        ("img@sha256:" + "0" * 64, "docker.io/library/img@sha256:" + "0" * 64),
        ("a__b--c.d:t", "docker.io/library/a__b--c.d:t"),
    ],
)
def test_references(text: str, normalized: str) -> None:
    assert str(reference.parse(text)) == normalized


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Debian:12",
        "a//b",
        "a:",
        "a:-x",
        "-a:1",
        "a___b:1",
        "img@sha256:abc",
        "img@sha256:" + "A" * 64,
        "a b",
        "a:" + "t" * 129,
    ],
)
def test_invalid_references(text: str) -> None:
    with pytest.raises(reference.ReferenceError):
        reference.parse(text)


def test_yaml_scalars_stay_as_written() -> None:
    doc = source.loads(b"version: 1.10\nflag: no\nnum: 010\nempty:\nquoted: 'null'\n", "f.yaml")
    assert doc.data == {"version": "1.10", "flag": "no", "num": "010", "empty": None, "quoted": "null"}
    assert doc.position(("num",)) == (3, 1)
    assert doc.position(("missing", "deeper")) == (1, 1)  # nearest ancestor: the document


def test_dockerfile_parse_joins_continuations_and_skips_comments() -> None:
    text = '# escape=\\\nFROM a\nRUN one \\\n# inner comment\n\n    two\nENV A=\'x y\' B="q\\""\n'
    parsed = syntax.parse(text)
    assert [(i.keyword, i.args, i.line) for i in parsed] == [
        ("FROM", "a", 2),
        ("RUN", "one     two", 3),
        ("ENV", 'A=\'x y\' B="q\\""', 7),
    ]
    assert syntax.key_values(parsed[2].args) == [("A", "x y"), ("B", 'q"')]


@pytest.mark.parametrize("args", ["A=$HOME", 'A="$HOME"', "A='x", 'A="x', "NOVALUE"])
def test_dockerfile_words_reject_expansion_and_bad_quoting(args: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - any of several messages
        syntax.key_values(args)


def test_settings_reject_unknown_keys_with_a_suggestion(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.builder]\nregistyr = "x"\n')
    with pytest.raises(ConfigError, match="did you mean 'registry'"):
        settings.load(tmp_path, environ={})


def test_settings_environment_overrides(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.builder]\nregistry = "a.example"\n')
    config = settings.load(tmp_path, environ={"BUILDER_REGISTRY": "b.example:5000", "BUILDER_NAMESPACE": "team/base"})
    assert config.image_repository("python") == "b.example:5000/team/base/python"
    with pytest.raises(ConfigError, match="not HOST"):
        settings.load(tmp_path, environ={"BUILDER_REGISTRY": "http://x"})
