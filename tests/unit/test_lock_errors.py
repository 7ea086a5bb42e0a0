"""A corrupted or hand-edited lock or release record is reported with its path and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.channel import history, lock
from builder.core.errors import LockError


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "image.lock.json"
    path.write_text('{"image": "x",\n  "version": }\n')
    with pytest.raises(LockError) as caught:
        lock.read(path)
    assert caught.value.message == (
        f"{path}:2: not valid JSON (Expecting value); restore it from git or rebuild the image"
    )


def test_hand_edited_field(tmp_path: Path) -> None:
    path = tmp_path / "image.lock.json"
    path.write_text(
        '{"image": "x", "version": "1.0.0", "recipe_sha256": "0",'
        ' "base": {"reference": "r/x:1", "digest": "sha256:nothex"}}'
    )
    with pytest.raises(LockError) as caught:
        lock.read(path)
    assert caught.value.message.startswith(f"{path}: base.digest: Value error, 'sha256:nothex' is not a sha256 digest")
    assert caught.value.message.endswith(
        "the lock is corrupted or hand-edited: restore it from git or rebuild the image"
    )


def test_missing_lock_is_none(tmp_path: Path) -> None:
    assert lock.read(tmp_path / "image.lock.json") is None


def test_broken_release_record(tmp_path: Path) -> None:
    path = tmp_path / "releases.json"
    path.write_text('{"image": "x", "releases": [{"version": "1.0.0"}]}')
    with pytest.raises(LockError, match=r"releases.json: not a valid release record .*restore it from git"):
        history.read(path, "x")


def test_a_form_no_builder_writes(tmp_path: Path) -> None:
    path = tmp_path / "image.lock.json"
    path.write_text(
        '{"image": "x", "version": "1.0.0", "recipe_sha256": "0", "base": {"reference": "r/x:1", '
        f'"digest": "sha256:{"0" * 64}"}}, "spec": {{"base": "r/x:1", "distro": "debian", '
        '"final": "slim"}}'
    )
    with pytest.raises(LockError) as caught:
        lock.read(path)
    assert caught.value.message == (
        f"{path}: spec.final: Input should be 'hardened', 'distroless' or 'distroless-debug'; "
        "the lock is corrupted or hand-edited: restore it from git or rebuild the image"
    )
