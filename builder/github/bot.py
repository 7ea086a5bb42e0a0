"""`builder bot`: one rolling pull request per changed image line, on branch builder/NAME.

For each image line whose generated files (Dockerfile, lock, SBOM, for every variant)
differ from the base branch, a commit is made on top of the base with exactly those
files, in a temporary index, so the working tree and the checked-out branch are never
touched. It is pushed with --force-with-lease against what the remote branch was when
read, so two bots racing cannot overwrite each other. Nothing changes when the branch
already holds the same tree. A branch carrying commits by anyone but the bot is left
alone and reported.

The bot acts only on what this run built: a line it did not rebuild (not selected, its
build failed, nothing new) keeps its pull request as it is, which is closed only when the
base branch holds the very build it carried. A pull request a maintainer closed unmerged
is declined: it is not opened again until a build with other inputs (another fingerprint)
comes along. Every push reports the channel's checks as a commit status on the new head.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import git

from builder.channel import candidates, fingerprint, layout
from builder.channel import changelog as changelog_md
from builder.channel import lock as lockfile
from builder.channel.layout import ImageFiles
from builder.core.errors import BotError, GitHubError
from builder.core.settings import Settings
from builder.github import pr_body
from builder.github.client import GitHub, PullRequest
from builder.recipe.graph import Channel

BOT_NAME = "builder-bot"
BOT_EMAIL = "builder-bot@users.noreply.github.com"
LABELS = ("automated",)
STATUS_CONTEXT = "builder/checks"


@dataclass(frozen=True)
class LineOutcome:
    line: str  # image line (recipe name)
    action: Literal["opened", "updated", "unchanged", "pending", "declined", "skipped", "closed", "failed"]
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.action:>9} {self.line}" + (f": {self.detail}" if self.detail else "")


class Bot:
    def __init__(self, settings: Settings, channel: Channel, github: GitHub, base: str | None = None) -> None:
        self.settings = settings
        self.channel = channel
        self.github = github
        try:
            self.repo = git.Repo(settings.root, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise BotError(f"{settings.root} is not a git repository") from None
        self.top = Path(self.repo.working_tree_dir or settings.root)
        self.remote = settings.git_remote
        self.base = base or github.default_branch()

    def run(self, lines: list[str]) -> list[LineOutcome]:
        try:
            self.repo.git.fetch(self.remote, "--prune", "--no-tags")
        except git.GitCommandError as exc:
            raise BotError(f"git fetch {self.remote} failed: {_git_error(exc)}") from None
        base_commit = self._resolve(f"{self.remote}/{self.base}")
        if base_commit is None:
            raise BotError(f"{self.remote}/{self.base} does not exist")
        outcomes = []
        for line in lines:
            try:
                outcomes.append(self._line(line, base_commit))
            except (BotError, GitHubError) as exc:
                outcomes.append(LineOutcome(line, "failed", exc.message))
        return outcomes

    # -- one image line ----------------------------------------------------------------------
    def _line(self, line: str, base: str) -> LineOutcome:
        branch = candidates.branch(line)
        files = self._changed_files(line, base)
        existing = self.github.open_pull(branch)
        remote_sha = self._resolve(f"{self.remote}/{branch}")
        if not files:
            return self._not_rebuilt(line, branch, base, existing, remote_sha)
        if remote_sha is not None:
            strangers = self._foreign_commits(base, remote_sha)
            if strangers:
                return LineOutcome(line, "skipped", f"{branch} carries commits by {', '.join(strangers)}; left alone")
        changes = self._changes(line, base)
        if existing is None and remote_sha is not None:
            declined = self._declined(branch, remote_sha, changes)
            if declined is not None:
                return LineOutcome(
                    line,
                    "declined",
                    f"#{declined.number} was closed without merging and its inputs "
                    f"have not changed since; reopen it, or delete {branch}, to have it again",
                )
        title = pr_body.title(line, changes)
        tree = self._tree(base, files, self._pending_changelogs(changes))
        head = remote_sha or ""
        pushed = remote_sha is None or self.repo.commit(remote_sha).tree.hexsha != tree
        if pushed:
            subject, message = pr_body.commit_message(line, changes)
            head = self._commit(tree, base, subject, message)
            self._push(head, branch, remote_sha)
        text = pr_body.body(line, changes)
        labels = [*LABELS, line] + (["security"] if any(c.cves() for c in changes) else [])
        if existing is None:
            try:
                pull = self.github.create_pull(title, branch, self.base, text)
            except GitHubError as exc:
                if exc.status != 422:
                    raise
                # Another run opened it a moment ago: update that one instead.
                raced = self.github.open_pull(branch)
                if raced is None:
                    raise
                self.github.update_pull(raced.number, title=title, body=text)
                return LineOutcome(line, "updated", f"#{raced.number} (opened concurrently)")
            self.github.add_labels(pull.number, labels)
            self.github.request_reviewers(pull.number, list(self.settings.reviewers))
            self._report_checks(head, changes)
            return LineOutcome(line, "opened", f"#{pull.number} {title}")
        if existing.title != title or existing.body != text or pushed:
            self.github.update_pull(existing.number, title=title, body=text)
            self._reconcile_labels(existing, line, labels)
            if pushed:
                self._report_checks(head, changes)
            return LineOutcome(line, "updated", f"#{existing.number} {title}")
        return LineOutcome(line, "unchanged", f"#{existing.number}")

    def _not_rebuilt(
        self, line: str, branch: str, base: str, existing: PullRequest | None, remote_sha: str | None
    ) -> LineOutcome:
        """A line this run did not rebuild: close its pull request only when the base branch has its build."""
        if existing is None:
            return LineOutcome(line, "unchanged", "no change against the base branch")
        carried = self._branch_locks(line, remote_sha) if remote_sha else {}
        on_base = self._branch_locks(line, base)
        if carried and all(_digest(on_base.get(path)) == _digest(lock) for path, lock in carried.items()):
            digests = ", ".join(f"`{_digest(lock)[:19]}`" for lock in carried.values())
            self.github.comment(
                existing.number, f"Closing: `{self.base}` already has the build this pull request carried ({digests})."
            )
            self.github.update_pull(existing.number, state="closed")
            self.github.delete_branch(branch)
            return LineOutcome(line, "closed", f"#{existing.number}: {self.base} has its build")
        return LineOutcome(line, "pending", f"#{existing.number} left as it is: this run did not rebuild {line}")

    def _declined(self, branch: str, remote_sha: str, changes: list[pr_body.Change]) -> PullRequest | None:
        """The pull request a maintainer closed unmerged, when this build has the same inputs as its candidate."""
        last = self.github.last_closed_pull(branch)
        if last is None or last.merged or last.head_sha != remote_sha:
            return None
        carried = self._branch_locks(changes[0].image.name, remote_sha)
        for change in changes:
            path = self._relative(ImageFiles.of(self.settings, change.image).lock)
            old = carried.get(path)
            if old is None or fingerprint.of_lock(old) != fingerprint.of_lock(change.lock):
                return None
        return last

    def _branch_locks(self, line: str, commit: str) -> dict[str, lockfile.Lock]:
        """The pushed locks of an image line at `commit`, by path."""
        folder = self._relative(self.settings.output_dir / line)
        found = {}
        listing = self.repo.git.ls_tree("-r", "--name-only", commit, "--", folder)
        for path in listing.splitlines():
            lock = candidates.pushed_lock_at(self.repo, commit, path) if path.endswith(f"/{layout.LOCK}") else None
            if lock is not None:
                found[path] = lock
        return found

    def _reconcile_labels(self, pull: PullRequest, line: str, wanted: list[str]) -> None:
        managed = {*LABELS, line, "security"}
        stale = [label for label in pull.labels if label in managed and label not in wanted]
        for label in stale:
            self.github.remove_label(pull.number, label)
        if not set(wanted) <= set(pull.labels):
            self.github.add_labels(pull.number, wanted)

    def _report_checks(self, sha: str, changes: list[pr_body.Change]) -> None:
        """The channel's own checks of the candidate, as a commit status on the pull request's head."""
        count = sum(len(c.lock.checks) for c in changes)
        images = ", ".join(c.image.id for c in changes)
        self.github.set_status(sha, "success", STATUS_CONTEXT, f"{count} image checks and tests passed ({images})")

    def _changed_files(self, line: str, base: str) -> list[str]:
        folder = self.settings.output_dir / line
        if not folder.is_dir():
            return []
        changed = []
        tree = self.repo.commit(base).tree
        # The record and changelog change too when the auto-release policy released the build.
        wanted = {layout.DOCKERFILE, layout.LOCK, layout.SBOM, layout.RELEASES, layout.CHANGELOG}
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or path.name not in wanted:
                continue
            relative = self._relative(path)
            try:
                blob = tree / relative
            except KeyError:
                changed.append(relative)
                continue
            if blob.data_stream.read() != path.read_bytes():
                changed.append(relative)
        return changed

    def _changes(self, line: str, base: str) -> list[pr_body.Change]:
        found = []
        tree = self.repo.commit(base).tree
        for image in sorted(self.channel.images.values(), key=lambda i: i.id):
            if image.name != line:
                continue
            files = ImageFiles.of(self.settings, image)
            lock = files.read_lock()
            if lock is None or lock.result is None:
                continue
            lock_path = (files.lock).relative_to(self.top).as_posix()
            if _blob(tree, lock_path) == (files.lock).read_text(encoding="utf-8"):
                continue  # this variant did not change
            record = files.read_history()
            # Compare with what was released before this build (it may be auto-released already).
            digest = lock.result.digest
            earlier = tuple(r for r in record.releases if r.digest != digest)
            released = len(earlier) != len(record.releases)
            old = _blob(tree, (files.dockerfile).relative_to(self.top).as_posix())
            new = (files.dockerfile).read_text(encoding="utf-8")
            found.append(
                pr_body.Change(image, lock, record.model_copy(update={"releases": earlier}), old, new, released)
            )
        if not found:
            raise BotError(f"{line}: files changed but no image of it has a new pushed build")
        return found

    # -- git ---------------------------------------------------------------------------------
    def _relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.top.resolve()).as_posix()

    def _resolve(self, ref: str) -> str | None:
        try:
            return str(self.repo.git.rev_parse("--verify", "--quiet", f"{ref}^{{commit}}"))
        except git.GitCommandError:
            return None

    def _foreign_commits(self, base: str, tip: str) -> list[str]:
        authors = self.repo.git.log("--format=%ae", f"{base}..{tip}").split()
        return sorted({a for a in authors if a != BOT_EMAIL})

    def _pending_changelogs(self, changes: list[pr_body.Change]) -> dict[str, str]:
        """CHANGELOG.md with the build under review as [Unreleased], for each image not released yet."""
        texts = {}
        for change in changes:
            if not change.released:
                files = ImageFiles.of(self.settings, change.image)
                path = (files.changelog).relative_to(self.top).as_posix()
                texts[path] = changelog_md.render(change.record, change.pending)
        return texts

    def _tree(self, base: str, files: list[str], generated: dict[str, str]) -> str:
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self.repo.git.read_tree(base, env=env)
            blobs = {relative: self.repo.git.hash_object("-w", "--", str(self.top / relative)) for relative in files}
            for relative, text in generated.items():
                staged = Path(tmp) / "blob"
                staged.write_text(text, encoding="utf-8")
                blobs[relative] = self.repo.git.hash_object("-w", "--", str(staged))
            for relative, blob in sorted(blobs.items()):
                self.repo.git.update_index("--add", "--cacheinfo", f"100644,{blob},{relative}", env=env)
            return str(self.repo.git.write_tree(env=env))

    def _commit(self, tree: str, parent: str, title: str, message_body: str) -> str:
        env = {
            **os.environ,
            "GIT_AUTHOR_NAME": BOT_NAME,
            "GIT_AUTHOR_EMAIL": BOT_EMAIL,
            "GIT_COMMITTER_NAME": BOT_NAME,
            "GIT_COMMITTER_EMAIL": BOT_EMAIL,
        }
        return str(self.repo.git.commit_tree(tree, "-p", parent, "-m", title, "-m", message_body, env=env))

    def _push(self, commit: str, branch: str, expected: str | None) -> None:
        lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
        try:
            self.repo.git.push(self.remote, lease, f"{commit}:refs/heads/{branch}")
        except git.GitCommandError as exc:
            raise BotError(
                f"push of {branch} refused ({_git_error(exc)}); another run moved it: the next run will pick it up"
            ) from None


def _digest(lock: lockfile.Lock | None) -> str:
    return lock.result.digest if lock is not None and lock.result is not None else ""


def _blob(tree: git.Tree, path: str) -> str:
    try:
        return str((tree / path).data_stream.read().decode("utf-8"))
    except KeyError:
        return ""


def _git_error(exc: git.GitCommandError) -> str:
    lines = [line.strip() for line in str(exc.stderr or "").splitlines() if line.strip()]
    return lines[-1] if lines else str(exc.status)
