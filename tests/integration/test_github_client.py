"""The bot's GitHub client against the stand-in: every call valid, rate limits honoured."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from builder.errors import GitHubError
from builder.github import GitHub
from tests.github.standin import GitHubStandIn


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
    assert client.open_pull("builder/python") == pull
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
