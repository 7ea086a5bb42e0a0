"""Rendering: golden files, determinism, lock pinning, and nothing written on bad input."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from builder.cli import main as cli
from builder.core import settings
from builder.core.errors import RecipeError
from builder.dockerfile import render
from builder.recipe import graph
from tests.support.channel import load_channel

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "channel"
ORG_FIXTURE = FIXTURE.parent / "org-channel"


def load(root: Path) -> tuple[settings.Settings, graph.Channel]:
    return load_channel(root, environ={})


@pytest.mark.parametrize(("fixture", "count"), [(FIXTURE, 10), (ORG_FIXTURE, 4)], ids=["channel", "org-channel"])
def test_golden_dockerfiles(fixture: Path, count: int) -> None:
    """tests/fixtures/*/base-images hold the golden output; UPDATE_GOLDEN=1 rewrites it."""
    config, channel = load(fixture)
    outputs = render.render_all(config, channel, sorted(channel.images))
    if os.environ.get("UPDATE_GOLDEN") == "1":
        render.write(outputs)
    for path, text in outputs.items():
        assert path.read_text(encoding="utf-8") == text, f"{path} differs from its golden file"
    assert len(outputs) == count


def test_rendering_is_deterministic() -> None:
    config, channel = load(FIXTURE)
    first = render.render_all(config, channel, sorted(channel.images))
    again = render.render_all(*load(FIXTURE), sorted(channel.images))
    assert first == again


def test_lock_pins_from_only_while_it_names_the_same_base(tmp_path: Path) -> None:
    root = tmp_path / "c"
    shutil.copytree(FIXTURE, root)
    config, channel = load(root)
    pinned = render.render_input(config, channel, channel.images["trunk"])
    assert str(pinned.base) == ("mirror.example.com/library/debian:bookworm-slim@sha256:" + "1" * 64)
    recipe = root / "recipes" / "trunk.yaml"
    recipe.write_text(recipe.read_text().replace("bookworm-slim", "trixie-slim"))
    config, channel = load(root)
    moved = render.render_input(config, channel, channel.images["trunk"])
    assert str(moved.base) == "mirror.example.com/library/debian:trixie-slim"


def test_mirror_override_from_environment() -> None:
    config = settings.load(FIXTURE, environ={"BUILDER_UPSTREAM_MIRRORS": "docker.io=127.0.0.1:5000"})
    assert str(config.pull_reference("debian:bookworm-slim")) == ("127.0.0.1:5000/library/debian:bookworm-slim")
    assert str(config.pull_reference("ghcr.io/x/y:1")) == "ghcr.io/x/y:1"


def test_variant_renders_to_its_own_folder_with_merged_fields() -> None:
    config, channel = load(FIXTURE)
    outputs = render.render_all(config, channel, ["tricky/trixie"])
    ((path, text),) = outputs.items()
    assert path == FIXTURE / "base-images" / "tricky" / "trixie" / "Dockerfile"
    assert "FROM ghcr.io/example/debian:trixie-slim\n" in text
    assert "        tzdata \\\n" in text
    assert "    QUOTED='variant' \\\n" in text
    assert "org.opencontainers.image.version='1.2.3-trixie'" in text


def test_invalid_recipe_writes_nothing(channel_copy: Path) -> None:
    shutil.rmtree(channel_copy / "base-images")
    (channel_copy / "recipes" / "zz-broken.yaml").write_text("name: zz-broken\nversion: x\n")
    with pytest.raises(RecipeError):
        load(channel_copy)
    assert cli.main(["--root", str(channel_copy), "render"]) == RecipeError.exit_code
    assert not (channel_copy / "base-images").exists()


def test_render_check_lists_stale_files(channel_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(channel_copy), "render", "--check"]) == 0
    recipe = channel_copy / "recipes" / "python.yaml"
    recipe.write_text(recipe.read_text().replace("[python3]", "[python3, python3-venv]"))
    capsys.readouterr()
    assert cli.main(["--root", str(channel_copy), "render", "--check"]) == 5
    err = capsys.readouterr().err
    assert err.strip() == (
        "error: stale rendered files (run `builder render` and commit): "
        "base-images/python/Dockerfile, base-images/python/dev/Dockerfile, "
        "base-images/python/distroless/Dockerfile, "
        "base-images/python/distroless-debug/Dockerfile"
    )
    before = (channel_copy / "base-images" / "python" / "Dockerfile").read_text()
    assert "python3-venv" not in before
    assert cli.main(["--root", str(channel_copy), "render", "python"]) == 0
    assert "python3-venv" in (channel_copy / "base-images" / "python" / "Dockerfile").read_text()
    assert cli.main(["--root", str(channel_copy), "render", "--check"]) == 0


def test_unknown_image_name_is_a_usage_error(channel_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--root", str(channel_copy), "render", "pyton"]) == 2
    assert capsys.readouterr().err.strip() == ("error: no image named 'pyton' in the channel; did you mean 'python'?")


def test_render_rewrites_only_what_changed_and_each_change_atomically(
    channel_copy: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unchanged file keeps its inode and mtime; a changed one is replaced by a rename, never edited in place."""
    files = sorted((channel_copy / "base-images").rglob("Dockerfile"))
    before = {path: path.stat() for path in files}
    held = (channel_copy / "base-images" / "curl" / "Dockerfile").open("rb")  # a reader mid-way through the old file
    recipe = channel_copy / "recipes" / "curl.yaml"
    recipe.write_text(recipe.read_text().replace("description: ", "description: Changed, ", 1))
    renames: list[tuple[str, str]] = []
    real_replace = os.replace

    def replace(src: str, dst: str) -> None:
        renames.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    capsys.readouterr()
    assert cli.main(["--root", str(channel_copy), "render"]) == 0
    changed = channel_copy / "base-images" / "curl" / "Dockerfile"
    assert capsys.readouterr().out == (
        f"wrote base-images/curl/Dockerfile\n{len(files)} image(s) rendered, 1 file(s) changed\n"
    )
    assert [dst for _, dst in renames] == [str(changed)]
    assert "Changed, " in changed.read_text()
    assert changed.stat().st_ino != before[changed].st_ino  # a new file renamed over the old one
    assert b"Changed, " not in held.read()  # whoever had the old file open still reads it whole
    held.close()
    for path in files:
        if path != changed:
            assert (path.stat().st_ino, path.stat().st_mtime_ns) == (before[path].st_ino, before[path].st_mtime_ns)
    assert not [p for p in (channel_copy / "base-images").rglob("*") if p.name.endswith(".tmp")]  # none left behind
