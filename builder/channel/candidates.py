"""Open candidates: the lock that a bot branch (`builder/NAME` on the remote) carries.

A scheduled run starts from a fresh checkout of the base branch; the build under review
lives on the bot's branch. Watch, plan and build compare with the candidate when there is
one, so a run that finds nothing newer than the candidate builds and writes nothing, and a
child builds FROM its parent's candidate. A local build that is not committed yet (a
persistent checkout) is newer than any branch and wins.
"""

from __future__ import annotations

from pathlib import Path

import git

from builder.channel import lock as lockfile
from builder.channel.layout import ImageFiles
from builder.channel.lock import Lock
from builder.core.errors import LockError
from builder.core.settings import Settings
from builder.recipe.variants import ImageSpec

BRANCH_PREFIX = "builder/"


def branch(line: str) -> str:
    return f"{BRANCH_PREFIX}{line}"


def pushed_lock_at(repo: git.Repo, revision: str, path: str) -> Lock | None:
    """The lock at `path` in `revision` when it records a pushed image; None when absent or broken."""
    try:
        found = lockfile.parse(repo.git.show(f"{revision}:{path}"), f"{revision}:{path}")
    except (git.GitCommandError, LockError):
        return None  # no such image at that revision, or a broken lock: the next build replaces it
    return found if found.result is not None else None


class Candidates:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._refs: dict[str, str] = {}  # image line -> remote-tracking ref of its bot branch
        self._repo: git.Repo | None = None
        self._top = settings.root
        self._cache: dict[str, Lock | None] = {}
        try:
            self._repo = git.Repo(settings.root, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return
        self._top = Path(self._repo.working_tree_dir or settings.root)
        prefix = f"refs/remotes/{settings.git_remote}/{BRANCH_PREFIX}"
        try:
            listing = self._repo.git.for_each_ref("--format=%(refname)", prefix)
        except git.GitCommandError:
            return
        for ref in listing.splitlines():
            self._refs[ref[len(prefix) :]] = ref

    def lock(self, image: ImageSpec) -> Lock | None:
        """The pushed candidate on the image line's bot branch; None without one (or a broken one)."""
        if image.id not in self._cache:
            self._cache[image.id] = self._read(image)
        return self._cache[image.id]

    def effective(self, image: ImageSpec, *, read: dict[str, Lock | None] | None = None) -> Lock | None:
        """What the next build compares with: a local uncommitted build, else the candidate, else the lock.

        `read`: the local locks read so far by image id, filled in (for a caller that reads
        many and renders them: builder.render.base_reference()).
        """
        path = ImageFiles.of(self._settings, image).lock
        local = lockfile.read(path)
        if read is not None:
            read[image.id] = local
        candidate = self.lock(image)
        if candidate is None or (local is not None and self._uncommitted(path)):
            return local
        return candidate

    def _read(self, image: ImageSpec) -> Lock | None:
        ref = self._refs.get(image.name)
        if ref is None or self._repo is None:
            return None
        return pushed_lock_at(self._repo, ref, self._relative(ImageFiles.of(self._settings, image).lock))

    def _uncommitted(self, path: Path) -> bool:
        if self._repo is None:
            return True
        try:
            committed = self._repo.git.show(f"HEAD:{self._relative(path)}")
        except git.GitCommandError:
            return True
        return str(committed).strip() != path.read_text(encoding="utf-8").strip()

    def _relative(self, path: Path) -> str:
        return path.resolve().relative_to(self._top.resolve()).as_posix()
