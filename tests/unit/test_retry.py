"""The one retry policy of the HTTP clients, alone and inside the registry and GitHub clients."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
import requests

from builder.core.errors import GitHubError, RegistryError
from builder.github.client import GitHub
from builder.upstream.registry import RegistryClient
from builder.upstream.registry_errors import RegistryNotFound
from builder.upstream.retry import GaveUp, RetryPolicy
from tests.support.fake_registry import FakeRegistry
from tests.support.offline_http import Offline, answer

NOW = 1_800_000_000.0
DATE_IN_10_S = "Fri, 15 Jan 2027 08:00:10 GMT"  # NOW + 10 s


def policy(sleeps: list[float], retries: int = 2) -> RetryPolicy:
    return RetryPolicy(retries=retries, backoff=0.5, max_wait=30.0, sleep=sleeps.append, now=lambda: NOW)


@pytest.mark.parametrize(
    ("status", "headers", "attempt", "wait"),
    [
        (200, {}, 0, None),
        (404, {}, 0, None),
        (400, {"Retry-After": "5"}, 0, None),  # a 4xx other than 403/429 is final, whatever it says
        (403, {}, 0, None),  # a plain 403 is an answer (no access), not a rate limit
        (403, {"Retry-After": "5"}, 0, 5.0),
        (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 12)}, 0, 12.0),
        (403, {"x-ratelimit-remaining": "0"}, 0, 30.0),  # no reset time: a minute, capped
        (429, {"Retry-After": "7"}, 0, 7.0),
        (429, {"Retry-After": " 7 "}, 0, 7.0),
        (429, {"Retry-After": "999999"}, 0, 30.0),
        (429, {"Retry-After": DATE_IN_10_S}, 0, 10.0),
        (429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0, 0.0),
        (429, {}, 2, 2.0),
        # Malformed Retry-After values are ignored: backoff instead.
        (429, {"Retry-After": "\u00b2"}, 0, 0.5),
        (429, {"Retry-After": "\u0661"}, 0, 0.5),
        (429, {"Retry-After": "1e3"}, 0, 0.5),
        (429, {"Retry-After": "-5"}, 0, 0.5),
        (429, {"Retry-After": "soon"}, 1, 1.0),
        (429, {"Retry-After": "Fri, 99 Foo 2027 99:99:99"}, 0, 0.5),
        (500, {}, 0, 0.5),
        (502, {}, 1, 1.0),
        (503, {}, 10, 30.0),
    ],
)
def test_which_answers_are_retried_and_after_how_long(
    status: int, headers: Mapping[str, str], attempt: int, wait: float | None
) -> None:
    assert policy([]).wait(attempt, status, headers) == wait


def run(sleeps: list[float], *steps: int | BaseException, retries: int = 2) -> tuple[int, int]:
    left = list(steps)

    def send() -> int:
        step = left.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step

    return policy(sleeps, retries).run(send, lambda status: (status, {}))


def test_5xx_and_connection_errors_are_retried_with_backoff() -> None:
    sleeps: list[float] = []
    assert run(sleeps, 503, requests.ConnectionError("reset"), 200) == (200, 3)
    assert sleeps == [0.5, 1.0]


def test_the_last_answer_stands_after_the_retries() -> None:
    sleeps: list[float] = []
    assert run(sleeps, 503, 502, 500, 200) == (500, 3)
    assert sleeps == [0.5, 1.0]


def test_a_transient_error_on_the_last_attempt_gives_up() -> None:
    sleeps: list[float] = []
    with pytest.raises(GaveUp) as caught:
        run(sleeps, requests.Timeout(), requests.ConnectionError(), requests.ConnectionError())
    assert (str(caught.value), caught.value.attempts) == ("ConnectionError after 3 attempts", 3)
    assert sleeps == [0.5, 1.0]


def test_4xx_and_other_errors_are_not_retried() -> None:
    sleeps: list[float] = []
    assert run(sleeps, 404, 200) == (404, 1)
    with pytest.raises(ValueError, match="not transient"):
        run(sleeps, ValueError("not transient"), 200)
    assert sleeps == []


# -- inside the clients ----------------------------------------------------------------------------------


def registry_client(registry: FakeRegistry, sleeps: list[float]) -> RegistryClient:
    return RegistryClient(session=registry.session(), retry=policy(sleeps, retries=2))


def test_the_registry_client_waits_as_told_and_gives_up_in_one_line() -> None:
    registry, sleeps = FakeRegistry(), list[float]()
    digest = registry.put("registry.test/base/app", "1.0.0", b"{}")
    registry.fail += [(429, {"Retry-After": "4"}), (503, {})]
    assert registry_client(registry, sleeps).digest("registry.test/base/app:1.0.0") == digest
    assert sleeps == [4.0, 1.0]
    registry.fail += [(503, {})] * 3
    with pytest.raises(RegistryError) as caught:
        registry_client(registry, sleeps).digest("registry.test/base/app:1.0.0")
    assert caught.value.message == ("HEAD https://registry.test/v2/base/app/manifests/1.0.0: HTTP 503 after 3 attempts")


@pytest.mark.parametrize("header", ["soon", "\u00b2"])
def test_the_registry_client_survives_a_malformed_retry_after(header: str) -> None:
    registry, sleeps = FakeRegistry(), list[float]()
    digest = registry.put("registry.test/base/app", "1.0.0", b"{}")
    registry.fail.append((429, {"Retry-After": header}))
    assert registry_client(registry, sleeps).digest("registry.test/base/app:1.0.0") == digest
    assert sleeps == [0.5]


def test_the_registry_client_does_not_retry_a_404() -> None:
    registry, sleeps = FakeRegistry(), list[float]()
    with pytest.raises(RegistryNotFound):
        registry_client(registry, sleeps).digest("registry.test/base/app:1.0.0")
    assert (registry.requests, sleeps) == ([("HEAD", "/v2/base/app/manifests/1.0.0")], [])


class Flaky(Offline):
    """GitHub answering each request with the next step: a status with headers, or an error raised."""

    def __init__(self, *steps: tuple[int, Mapping[str, str]] | BaseException) -> None:
        super().__init__()
        self.steps = list(steps)

    def reply(self, request: requests.PreparedRequest, method: str, target: str) -> requests.Response:  # noqa: ARG002
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        status, headers = step
        return answer(request, status, b'{"default_branch": "main", "message": "no"}', headers)


def github(flaky: Flaky, sleeps: list[float]) -> GitHub:
    session = flaky.mount(requests.Session(), "https://api.github.test/")
    return GitHub("https://api.github.test", "o/r", "token", session=session, retry=policy(sleeps, retries=2))


def test_the_github_client_retries_rate_limits_5xx_and_connection_errors() -> None:
    sleeps: list[float] = []
    flaky = Flaky((403, {"Retry-After": "3"}), requests.ConnectionError(), (502, {}), (200, {}))
    with pytest.raises(GitHubError) as caught:
        github(flaky, sleeps).default_branch()
    assert (caught.value.message, caught.value.status) == ("GET /repos/o/r: HTTP 502: no", 502)
    assert sleeps == [3.0, 1.0]
    sleeps.clear()
    assert github(Flaky((429, {}), (200, {})), sleeps).default_branch() == "main"
    assert sleeps == [0.5]


def test_the_github_client_gives_up_on_connection_errors_in_one_line() -> None:
    sleeps: list[float] = []
    with pytest.raises(GitHubError) as caught:
        github(Flaky(*[requests.ConnectionError("refused")] * 3), sleeps).default_branch()
    assert caught.value.message == "GET /repos/o/r: ConnectionError"
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize("status", [401, 403, 404, 422])
def test_the_github_client_does_not_retry_other_4xx(status: int) -> None:
    sleeps: list[float] = []
    flaky = Flaky((status, {}), (200, {}))
    with pytest.raises(GitHubError) as caught:
        github(flaky, sleeps).default_branch()
    assert (caught.value.message, sleeps, len(flaky.steps)) == (f"GET /repos/o/r: HTTP {status}: no", [], 1)
