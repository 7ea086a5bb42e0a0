"""One retry policy for the HTTP clients (registry, GitHub): which answers earn another attempt, how long
to wait before it, and when to give up.

Another attempt follows a connection error or timeout, a 5xx, a 429, and a 403 that says it is a rate
limit (`Retry-After`, or `X-RateLimit-Remaining: 0`: GitHub's secondary and primary limits). Any other
answer is final: a 4xx does not get better by asking again. The wait is the server's `Retry-After`
(seconds or an HTTP date), else the time until `X-RateLimit-Reset`, else exponential backoff; never more
than `max_wait`. After `retries` more attempts the last answer (or error) stands: the client says what.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import requests

Answer = TypeVar("Answer")
TRANSIENT: tuple[type[BaseException], ...] = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)
# Waiting on a rate limit with no reset time: GitHub's advice for its secondary limits.
RATE_LIMIT_WAIT = 60.0


class GaveUp(Exception):
    """Every attempt failed with a transient error; `cause` is the last one."""

    def __init__(self, cause: BaseException, attempts: int) -> None:
        super().__init__(f"{type(cause).__name__} after {attempts} attempts")
        self.cause = cause
        self.attempts = attempts


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 4  # attempts after the first
    backoff: float = 0.5  # the first backoff wait, in seconds; doubled each attempt
    max_wait: float = 30.0
    transient: tuple[type[BaseException], ...] = TRANSIENT
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    now: Callable[[], float] = field(default=time.time, compare=False)

    def wait(self, attempt: int, status: int, headers: Mapping[str, str]) -> float | None:
        """Seconds to wait before another attempt after this answer to attempt `attempt` (0 first); None:
        the answer is final."""
        named = {name.lower(): value for name, value in headers.items()}
        retry_after = self._retry_after(named.get("retry-after"))
        limited = named.get("x-ratelimit-remaining") == "0"
        if not (status == 429 or status >= 500 or (status == 403 and (retry_after is not None or limited))):
            return None
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_wait)
        if limited:
            reset = _seconds(named.get("x-ratelimit-reset"))
            delay = reset - self.now() if reset is not None else RATE_LIMIT_WAIT
            return min(max(delay, 1.0), self.max_wait)
        return self.backoff_wait(attempt)

    def backoff_wait(self, attempt: int) -> float:
        return float(min(self.backoff * (2**attempt), self.max_wait))

    def run(
        self,
        send: Callable[[], Answer],
        status_and_headers: Callable[[Answer], tuple[int, Mapping[str, str]]],
    ) -> tuple[Answer, int]:
        """Call `send` until its answer is final or the attempts run out: the last answer and the number of
        attempts made. `GaveUp` when the last attempt raised a transient error; other errors pass through."""
        attempt = 0
        while True:
            try:
                answer = send()
            except self.transient as exc:
                if attempt >= self.retries:
                    raise GaveUp(exc, attempt + 1) from None
                self.sleep(self.backoff_wait(attempt))
                attempt += 1
                continue
            delay = self.wait(attempt, *status_and_headers(answer))
            if delay is None or attempt >= self.retries:
                return answer, attempt + 1
            self.sleep(delay)
            attempt += 1

    def _retry_after(self, value: str | None) -> float | None:
        """Retry-After in seconds: a number or an HTTP date; None when absent or malformed."""
        seconds = _seconds(value)
        if seconds is not None or value is None:
            return seconds
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        return when.timestamp() - self.now() if when.tzinfo is not None else None


def _seconds(value: str | None) -> float | None:
    """A header's whole number of seconds; None when absent or malformed (str.isdigit() also accepts
    digits that float() refuses, such as "²")."""
    if value is None or not re.fullmatch(r"[0-9]{1,12}", value.strip()):
        return None
    return float(value)
