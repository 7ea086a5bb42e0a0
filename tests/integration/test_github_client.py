"""The bot's GitHub client against the stand-in: every call valid, rate limits honoured."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import pytest

from builder.core.errors import ConfigError, GitHubError
from builder.github.client import GitHub, token_from_env
from tests.support.github_standin import GitHubStandIn


@pytest.fixture
def api() -> Iterator[GitHubStandIn]:
    with GitHubStandIn(token="t") as standin:
        standin.start()
        standin.add_repo("acme", "channel", "main")
        standin.set_branch("acme", "channel", "builder/python")
        yield standin


def test_pull_request_lifecycle_is_valid_for_github(api: GitHubStandIn) -> None:
    client = GitHub(api.url, "acme/channel", "t")
    assert client.default_branch() == "main"
    assert client.open_pull("builder/python") is None
    pull = client.create_pull("fix(python): rebuild 1.0.1", "builder/python", "main", "body")
    client.add_labels(pull.number, ["automated", "python"])
    client.request_reviewers(pull.number, ["alice"])
    client.comment(pull.number, "hello")
    assert client.open_pull("builder/python") == dataclasses.replace(pull, labels=("automated", "python"))
    updated = client.update_pull(pull.number, body="new body")
    assert updated.body == "new body"
    with pytest.raises(GitHubError) as duplicate:
        client.create_pull("again", "builder/python", "main", "body")
    assert duplicate.value.status == 422
    client.delete_branch("builder/python")
    client.delete_branch("builder/python")  # already gone: fine
    assert api.violations == []
    assert api.response_errors == []


def test_rate_limits_are_waited_out(api: GitHubStandIn) -> None:
    client = GitHub(api.url, "acme/channel", "t")
    api.throttle(times=1, retry_after=1)
    start = time.monotonic()
    assert client.default_branch() == "main"
    assert time.monotonic() - start >= 1.0


def test_a_wrong_token_is_an_error_that_never_shows_it(api: GitHubStandIn) -> None:
    client = GitHub(api.url, "acme/channel", "secret-value")
    with pytest.raises(GitHubError) as caught:
        client.default_branch()
    assert caught.value.status == 401
    assert "secret-value" not in str(caught.value)


def test_labels_statuses_and_declined_pulls_are_valid_for_github(api: GitHubStandIn) -> None:
    client = GitHub(api.url, "acme/channel", "t")
    pull = client.create_pull("fix(python): security rebuild 1.0.1", "builder/python", "main", "body")
    client.add_labels(pull.number, ["automated", "python", "security"])
    client.remove_label(pull.number, "security")
    client.remove_label(pull.number, "security")  # not there any more: fine
    assert client.open_pull("builder/python").labels == ("automated", "python")  # type: ignore[union-attr]
    client.set_status("0" * 40, "success", "builder/checks", "12 image checks and tests passed " + "x" * 200)
    assert api.statuses == [
        {
            "sha": "0" * 40,
            "state": "success",
            "context": "builder/checks",
            "description": "12 image checks and tests passed " + "x" * 107,
        }
    ]
    assert client.last_closed_pull("builder/python") is None
    api.decline("acme", "channel", pull.number)
    declined = client.last_closed_pull("builder/python")
    assert declined is not None
    assert (declined.number, declined.merged) == (pull.number, False)
    assert api.violations == []
    assert api.response_errors == []


def test_deleting_a_branch_github_refuses_is_an_error(api: GitHubStandIn) -> None:
    client = GitHub(api.url, "acme/channel", "t")
    with pytest.raises(GitHubError, match="Cannot delete the default branch"):
        client.delete_branch("main")


def test_no_token_is_a_configuration_error_before_any_request() -> None:
    with pytest.raises(ConfigError, match="no GitHub token: set BUILDER_GITHUB_TOKEN"):
        token_from_env({})
    assert token_from_env({"GITHUB_TOKEN": "a", "BUILDER_GITHUB_TOKEN": "b"}) == "b"
