"""HTTP answered in the process: requests adapters for unit tests, where sockets are refused.

`answer` builds the requests.Response an adapter returns; `Directory` serves a folder's files
(an apt repository `AptRepo` published, say) under a base URL:

    session = requests.Session()
    Directory(repo.root).mount(session, "http://apt.test/")
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict


def answer(
    request: requests.PreparedRequest, status: int, body: bytes = b"", headers: Mapping[str, str] | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers = CaseInsensitiveDict(headers or {})
    response.raw = io.BytesIO(body)
    response.request = request
    response.url = str(request.url)
    return response


class Offline(BaseAdapter):
    """The adapter shape requests wants; subclasses answer in `reply`. Requests are kept in `requests`."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[tuple[str, str]] = []

    def mount(self, session: requests.Session, *prefixes: str) -> requests.Session:
        for prefix in prefixes:
            session.mount(prefix, self)
        return session

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,  # noqa: ARG002
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,  # noqa: ARG002
        verify: bool | str = True,  # noqa: ARG002
        cert: Any = None,  # noqa: ARG002
        proxies: Mapping[str, str] | None = None,  # noqa: ARG002
    ) -> requests.Response:
        target = request.path_url or "/"
        self.requests.append((str(request.method), target))
        return self.reply(request, str(request.method), target)

    def reply(self, request: requests.PreparedRequest, method: str, target: str) -> requests.Response:
        """The answer to `method` on `target` (the path with its query string)."""
        raise NotImplementedError

    def close(self) -> None:
        return None


class Directory(Offline):
    """GET and HEAD of the files under `root`; 404 for anything else."""

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root.resolve()

    def reply(self, request: requests.PreparedRequest, method: str, target: str) -> requests.Response:
        path = (self.root / target.split("?", 1)[0].lstrip("/")).resolve()
        if method not in ("GET", "HEAD") or not path.is_file() or not path.is_relative_to(self.root):
            return answer(request, 404)
        data = path.read_bytes()
        return answer(request, 200, b"" if method == "HEAD" else data, {"Content-Length": str(len(data))})
