"""Any value the model accepts renders to exactly the template's instructions, read back intact."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from builder import dockerfile
from builder.imageref import ImageRef
from builder.images import expand
from builder.model import Recipe
from builder.render import RenderInput, render_dockerfile

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=30)
ENV_NAME = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,15}\Z")
LABEL_KEY = st.from_regex(r"\A[a-z0-9][a-z0-9.-]{0,20}[a-z0-9]\Z").filter(lambda k: ".." not in k)
PACKAGE = st.from_regex(r"\A[a-z0-9][a-z0-9+.-]{1,20}\Z")
ARGV = st.lists(TEXT, min_size=1, max_size=4)


@st.composite
def recipes(draw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "prop",
        "description": draw(TEXT.filter(lambda t: bool(t.strip()))),
        "version": "1.0.0",
        "distro": draw(st.sampled_from(["debian", "ubuntu", "alpine"])),
        "from": {"image": "debian:bookworm-slim"},
        "packages": draw(st.lists(PACKAGE, unique=True, max_size=5)),
        "env": draw(st.dictionaries(ENV_NAME, TEXT, max_size=4)),
        "labels": draw(st.dictionaries(LABEL_KEY.filter(lambda k: not k.startswith("org.opencontainers")),
                                       TEXT, max_size=3)),
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
    base = ImageRef("docker.io", "library/debian", "bookworm-slim", "sha256:" + "a" * 64)
    text = render_dockerfile(RenderInput(image, base, "docker.io/library/debian:bookworm-slim", None))

    parsed = dockerfile.parse(text)
    expected = ["FROM", "SHELL", "RUN", "LABEL"]
    expected += ["ENV"] if data["env"] else []
    expected += ["WORKDIR", "USER"]
    expected += ["ENTRYPOINT"] if "entrypoint" in data else []
    expected += ["CMD"] if "cmd" in data else []
    assert [i.keyword for i in parsed] == expected

    by_keyword = {i.keyword: i.args for i in parsed}
    if data["env"]:
        assert dict(dockerfile.key_values(by_keyword["ENV"])) == data["env"]
    labels = dict(dockerfile.key_values(by_keyword["LABEL"]))
    assert labels["org.opencontainers.image.description"] == data["description"]
    for key, value in data["labels"].items():
        assert labels[key] == value
    for keyword in ("ENTRYPOINT", "CMD"):
        if keyword.lower() in data:
            assert json.loads(by_keyword[keyword]) == data[keyword.lower()]
    assert by_keyword["USER"] == "65532:65532"
    run_words = by_keyword["RUN"].split()
    for package in data["packages"]:
        assert package in run_words
