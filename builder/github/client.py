"""A small GitHub REST client for the bot: pull requests, labels, reviewers, comments, refs.

The base URL is configurable (GitHub Enterprise; GitHub Actions sets GITHUB_API_URL). Rate
limits are honoured: a 403/429 with `retry-after` or `x-ratelimit-remaining: 0` waits (up
to a bound) and retries, as do 5xx answers and connection errors (`upstream.retry`). The
token comes from the environment and is never printed: errors name the request, never its
headers.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import requests

from builder.core.errors import ConfigError, GitHubError
from builder.upstream.retry import GaveUp, RetryPolicy

API_VERSION = "2022-11-28"
MAX_BODY = 65536  # characters GitHub accepts in a pull request body


@dataclass(frozen=True)
class PullRequest:
    number: int
    title: str
    body: str
    head: str
    base: str
    state: str
    url: str
    head_sha: str = ""
    merged: bool = False
    labels: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PullRequest:
        labels = tuple(str(label["name"]) for label in data.get("labels") or () if isinstance(label, dict))
        return cls(
            int(data["number"]),
            str(data.get("title") or ""),
            str(data.get("body") or ""),
            str(data["head"]["ref"]),
            str(data["base"]["ref"]),
            str(data["state"]),
            str(data.get("html_url") or ""),
            str(data["head"].get("sha") or ""),
            bool(data.get("merged_at")),
            labels,
        )


def token_from_env(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    token = env.get("BUILDER_GITHUB_TOKEN") or env.get("GITHUB_TOKEN")
    if not token:
        raise ConfigError(
            "no GitHub token: set BUILDER_GITHUB_TOKEN (a GitHub App installation token or a "
            "fine-grained personal token) or GITHUB_TOKEN; see docs/bot-and-workflows.md, "
            "section 'Tokens'"
        )
    return token


class GitHub:
    def __init__(
        self,
        api_url: str,
        repository: str,
        token: str,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        max_wait: float = 60.0,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        if repository.count("/") != 1:
            raise GitHubError(f"repository {repository!r} is not OWNER/NAME")
        self.repository = repository
        self.owner = repository.split("/", 1)[0]
        self._base = api_url.rstrip("/")
        self._timeout = timeout
        self._retry = retry or RetryPolicy(retries, backoff=1.0, max_wait=max_wait)
        self._session = session or requests.Session()
        self._session.headers.update(
            {
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "builder-bot",
            }
        )

    # -- API -------------------------------------------------------------------------------
    def default_branch(self) -> str:
        return str(self._call("GET", f"/repos/{self.repository}")["default_branch"])

    def open_pull(self, branch: str) -> PullRequest | None:
        found = self._call(
            "GET",
            f"/repos/{self.repository}/pulls",
            params={"head": f"{self.owner}:{branch}", "state": "open", "per_page": 100},
        )
        pulls = [PullRequest.from_json(item) for item in found]
        return min(pulls, key=lambda p: p.number) if pulls else None

    def last_closed_pull(self, branch: str) -> PullRequest | None:
        """The most recently created closed pull request from `branch`, merged or not."""
        found = self._call(
            "GET",
            f"/repos/{self.repository}/pulls",
            params={
                "head": f"{self.owner}:{branch}",
                "state": "closed",
                "sort": "created",
                "direction": "desc",
                "per_page": 1,
            },
        )
        return PullRequest.from_json(found[0]) if found else None

    def open_pulls(self) -> list[PullRequest]:
        found = self._call("GET", f"/repos/{self.repository}/pulls", params={"state": "open", "per_page": 100})
        return [PullRequest.from_json(item) for item in found]

    def create_pull(self, title: str, head: str, base: str, body: str) -> PullRequest:
        data = self._call(
            "POST", f"/repos/{self.repository}/pulls", json={"title": title, "head": head, "base": base, "body": body}
        )
        return PullRequest.from_json(data)

    def update_pull(
        self,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: Literal["open", "closed"] | None = None,
    ) -> PullRequest:
        changes = {k: v for k, v in (("title", title), ("body", body), ("state", state)) if v is not None}
        return PullRequest.from_json(self._call("PATCH", f"/repos/{self.repository}/pulls/{number}", json=changes))

    def add_labels(self, number: int, labels: list[str]) -> None:
        self._call("POST", f"/repos/{self.repository}/issues/{number}/labels", json={"labels": labels})

    def remove_label(self, number: int, label: str) -> None:
        try:
            self._call("DELETE", f"/repos/{self.repository}/issues/{number}/labels/{_quote(label)}")
        except GitHubError as exc:
            if exc.status != 404:  # 404: the label is not on the pull request any more
                raise

    def set_status(
        self, sha: str, state: Literal["error", "failure", "pending", "success"], context: str, description: str
    ) -> None:
        """A commit status on `sha`: what the channel's own checks found, shown on the pull request."""
        self._call(
            "POST",
            f"/repos/{self.repository}/statuses/{sha}",
            json={"state": state, "context": context, "description": description[:140]},
        )

    def request_reviewers(self, number: int, reviewers: list[str]) -> None:
        if reviewers:
            self._call(
                "POST", f"/repos/{self.repository}/pulls/{number}/requested_reviewers", json={"reviewers": reviewers}
            )

    def comment(self, number: int, body: str) -> None:
        self._call("POST", f"/repos/{self.repository}/issues/{number}/comments", json={"body": body})

    def delete_branch(self, branch: str) -> None:
        try:
            self._call("DELETE", f"/repos/{self.repository}/git/refs/heads/{branch}")
        except GitHubError as exc:
            # GitHub answers 422 both for a branch already gone and for one it refuses to delete.
            if exc.status != 422 or "Reference does not exist" not in exc.message:
                raise

    # -- plumbing --------------------------------------------------------------------------
    def _call(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: dict[str, Any] | None = None
    ) -> Any:
        url = f"{self._base}{path}"
        try:
            answer, _ = self._retry.run(
                lambda: self._session.request(method, url, params=params, json=json, timeout=self._timeout),
                lambda a: (a.status_code, a.headers),
            )
        except GaveUp as gave_up:
            raise GitHubError(f"{method} {path}: {type(gave_up.cause).__name__}") from None
        except requests.RequestException as exc:  # not worth another attempt: a bad URL, too many redirects
            raise GitHubError(f"{method} {path}: {type(exc).__name__}") from None
        if answer.status_code >= 400:
            raise GitHubError(f"{method} {path}: HTTP {answer.status_code}: {_message(answer)}", answer.status_code)
        return answer.json() if answer.content else None


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _message(answer: requests.Response) -> str:
    try:
        data = answer.json()
    except ValueError:
        return answer.text[:200]
    message = str(data.get("message", "")) if isinstance(data, dict) else ""
    errors = data.get("errors") if isinstance(data, dict) else None
    if errors:
        details = "; ".join(str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors)
        message += f" ({details})"
    return message[:300]
