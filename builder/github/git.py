"""The git revision the channel is built from, for image labels and locks."""

from __future__ import annotations

from pathlib import Path

import git


def revision(root: Path) -> str | None:
    try:
        repo = git.Repo(root, search_parent_directories=True)
        return str(repo.head.commit.hexsha)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return None
