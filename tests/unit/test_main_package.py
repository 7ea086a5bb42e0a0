"""A line's main package: the version the catalog shows, and the images of one line agreeing on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.channel import history, main_package
from builder.channel import lock as lockfile
from builder.channel.layout import ImageFiles
from builder.core.errors import ReleaseError
from builder.core.facts import BaseLock, ImageLock, Package
from builder.core.settings import Settings
from builder.recipe.graph import Channel
from builder.release import catalog, publish
from builder.upstream.registry import RegistryClient
from tests.support.channel import load_channel
from tests.support.fake_engine import FakeEngine

RECIPE = """\
name: py
description: d
version: 1.0.0
distro: debian
from: debian:bookworm-slim
packages: [python3]
main_package: python3
variants:
  - {name: dev, packages: [python3-pip]}
"""
OTHER_LINE = (
    "name: other\ndescription: d\nversion: 1.0.0\ndistro: debian\nfrom: debian:bookworm-slim\n"
    "packages: [python3]\nmain_package: python3\n"
)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("3.11.2-1+b1", "3.11.2"),
        ("1:2.40-1", "2.40"),
        ("3.1.4-r5", "3.1.4"),
        ("2:9.0", "9.0"),
        ("20240203", "20240203"),
        ("1.2-3-4", "1.2-3"),
    ],
)
def test_upstream_version(version: str, expected: str) -> None:
    assert main_package.upstream(version) == expected


def a_lock(image: str, python3: str) -> lockfile.Lock:
    return lockfile.Lock(
        image=image,
        version="1.0.0",
        recipe_sha256="0" * 64,
        base=BaseLock(reference="debian:bookworm-slim", digest="sha256:" + "1" * 64),
        packages=(
            Package(name="python3", version=python3, source="python3-defaults", architecture="amd64"),
            Package(name="libc6", version="2.36-9", source="glibc", architecture="amd64"),
        ),
    )


def channel_with(tmp_path: Path, versions: dict[str, str]) -> tuple[Settings, Channel]:
    (tmp_path / "recipes").mkdir()
    (tmp_path / "recipes" / "py.yaml").write_text(RECIPE)
    (tmp_path / "recipes" / "other.yaml").write_text(OTHER_LINE)
    (tmp_path / "pyproject.toml").write_text('[tool.builder]\nregistry = "registry.test"\nnamespace = "base"\n')
    config, channel = load_channel(tmp_path, environ={})
    for image_id, version in versions.items():
        lockfile.write(ImageFiles.of(config, channel.images[image_id]).lock, a_lock(image_id, version))
    return config, channel


def test_images_of_a_line_with_one_version_agree_and_the_catalog_shows_it(tmp_path: Path) -> None:
    config, channel = channel_with(tmp_path, {"py": "3.11.2-1+b1", "py/dev": "3.11.2-1+b1", "other": "3.11.2-2"})
    for image_id in ("py", "py/dev", "other"):
        main_package.check_agreement(config, channel, channel.images[image_id])
    image = channel.images["py/dev"]
    assert main_package.shown(image, a_lock("py/dev", "3.11.2-1+b1")) == "python3 3.11.2"
    assert main_package.shown(image, a_lock("py/dev", "3.11.2-1+b1").model_copy(update={"packages": ()})) is None
    assert main_package.shown(image, None) is None


def test_a_line_whose_images_disagree_is_refused_naming_both(tmp_path: Path) -> None:
    config, channel = channel_with(tmp_path, {"py": "3.11.2-1+b1", "py/dev": "3.11.2-1+b2"})
    with pytest.raises(ReleaseError) as caught:
        main_package.check_agreement(config, channel, channel.images["py/dev"])
    assert caught.value.message == (
        "py/dev: python3 is 3.11.2-1+b2 but py has 3.11.2-1+b1; the images of a line are released with the "
        "same python3: rebuild them together (`builder build py --force --push`), then release"
    )


def push(config: Settings, channel: Channel, image_id: str, digit: str) -> lockfile.Lock:
    """The image's lock, as pushed at digest sha256:DIGIT..."""
    path = ImageFiles.of(config, channel.images[image_id]).lock
    built = lockfile.read(path)
    assert built is not None
    pushed = built.model_copy(
        update={
            "result": ImageLock(
                repository="registry.test/base/py",
                tag="candidate",
                digest="sha256:" + digit * 64,
                image_id="sha256:x",
                size=1,
            )
        }
    )
    lockfile.write(path, pushed)
    return pushed


def test_the_catalog_shows_the_main_package_of_the_released_build_only(tmp_path: Path) -> None:
    config, channel = channel_with(tmp_path, {"py": "3.11.2-1+b1", "py/dev": "3.11.2-1+b1"})
    for image_id in ("py", "py/dev"):
        files = ImageFiles.of(config, channel.images[image_id])
        release = history.from_lock(push(config, channel, image_id, "2"), "1.0.0", "2026-11-30", ["1.0.0"])
        files.releases.write_text(history.dumps(history.Record(image=image_id, releases=(release,))))
    push(config, channel, "py/dev", "3")  # rebuilt since: that build is not what the catalog lists
    index = catalog.build(config, channel)
    assert {item.image: item.main_package for item in index.images} == {"py": "python3 3.11.2", "py/dev": None}
    assert "| [py](py/CHANGELOG.md) | hardened | python3 3.11.2 | 1.0.0 |" in catalog.readme(index)


def test_release_refuses_a_line_whose_images_disagree(tmp_path: Path) -> None:
    config, channel = channel_with(tmp_path, {"py": "3.11.2-1+b1", "py/dev": "3.11.2-1+b2"})
    for image_id in ("py", "py/dev"):
        push(config, channel, image_id, "2")
    client = RegistryClient(session=FakeEngine().registry.session())
    with pytest.raises(ReleaseError) as caught:
        publish.plan(config, channel, ["py", "py/dev"], client)
    assert caught.value.message.startswith("py: python3 is 3.11.2-1+b1 but py/dev has 3.11.2-1+b2; ")
