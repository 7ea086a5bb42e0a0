"""The channel catalog from where a consumer's CI finds it: a path, or an https URL (the published index.json).

http is accepted on 127.0.0.1 only (a test's server): anywhere else the catalog, which decides what gets
pinned, could be changed on its way. The body is read up to a size limit, under one overall deadline, and
redirects are followed only to URLs that pass the same rule.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

from builder.core.errors import UsageError
from builder.release import catalog_index
from builder.release.catalog_index import Catalog

MAX_CATALOG = 16 * 1024 * 1024  # a catalog of thousands of images is far smaller
TIMEOUT = 10.0  # seconds for each connect and read
DEADLINE = 60.0  # seconds for the whole fetch, redirects included
MAX_REDIRECTS = 5
_FIX = "pass --catalog PATH or an https URL of the channel's index.json"


def is_url(source: str) -> bool:
    return "://" in source


def load(source: str) -> Catalog:
    """The catalog at a path or URL; UsageError (one line naming it) when it cannot be had or is not one."""
    if not is_url(source):
        return catalog_index.read(Path(source))
    try:
        data = json.loads(fetch(source))
    except ValueError:
        raise UsageError(f"{source}: cannot read the channel catalog (not JSON); {_FIX}") from None
    return catalog_index.parse(data, source)


def check_url(url: str) -> None:
    """UsageError unless `url` is https (or http on 127.0.0.1) with a host and no credentials in it."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if parts.username is not None or parts.password is not None:
        raise UsageError(
            f"{parts.scheme}://{parts.hostname}: catalog URL with credentials in it; the catalog is public: remove them"
        )
    if not parts.hostname or not (scheme == "https" or (scheme == "http" and parts.hostname == "127.0.0.1")):
        raise UsageError(f"{url}: the catalog URL must be https (plain http only on 127.0.0.1); {_FIX}")


def fetch(url: str) -> bytes:
    """The body at `url` (redirects followed, each checked like `url`)."""
    import requests  # noqa: PLC0415 (only a catalog given by URL needs HTTP: check-pins starts light)

    from builder.upstream.deadline import Deadline, DeadlineAdapter, read_limited  # noqa: PLC0415 (requests)

    session = requests.Session()
    for prefix in ("http://", "https://"):
        session.mount(prefix, DeadlineAdapter())
    first = url
    with Deadline(DEADLINE) as deadline:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url)
            try:
                with session.get(
                    url,
                    timeout=TIMEOUT,
                    stream=True,
                    allow_redirects=False,
                    headers={"Accept": "application/json", "Accept-Encoding": "identity"},
                ) as answer:
                    if answer.is_redirect:
                        url = urllib.parse.urljoin(url, answer.headers.get("Location", ""))
                        continue
                    if answer.status_code != 200:
                        raise UsageError(
                            f"{first}: cannot fetch the channel catalog (HTTP {answer.status_code}); {_FIX}"
                        )
                    body = read_limited(answer, MAX_CATALOG)
            except requests.RequestException as exc:
                raise UsageError(
                    f"{first}: cannot fetch the channel catalog ({_reason(exc, deadline.expired)}); {_FIX}"
                ) from None
            if deadline.expired:  # a cut in the headers can read as a complete answer
                raise UsageError(f"{first}: cannot fetch the channel catalog ({_reason(None, True)}); {_FIX}")
            if body is None:
                raise UsageError(
                    f"{first}: cannot fetch the channel catalog (larger than {MAX_CATALOG} bytes, "
                    f"reading stopped); {_FIX}"
                )
            return body
    raise UsageError(f"{first}: cannot fetch the channel catalog (more than {MAX_REDIRECTS} redirects); {_FIX}")


def _reason(error: Exception | None, expired: bool) -> str:
    import requests  # noqa: PLC0415 (loaded already: only a fetch fails this way)

    if expired:
        return f"no complete answer within {DEADLINE:g} s"
    if isinstance(error, requests.Timeout):
        return f"no answer within {TIMEOUT:g} s"
    if isinstance(error, requests.ConnectionError):
        return "cannot connect"
    return type(error).__name__
