"""A stateful stand-in for the part of GitHub's REST API the PR bot uses, on 127.0.0.1.

    with GitHubStandIn(token="test-token") as github:
        api = github.start()                       # http://127.0.0.1:PORT, in place of https://api.github.com
        github.add_repo("acme", "images")          # default branch "main" exists
        github.set_branch("acme", "images", "bot/python")
        ...                                        # run the client against `api`
        assert github.violations == []

Every request is checked against `openapi.json` next to this file (GitHub's published description,
see NOTICE.md): method and path template, path and query parameters (type, enum), `Content-Type`
and the JSON body (the operation's requestBody schema, OpenAPI 3.0 `nullable` mapped to JSON Schema
2020-12). A request the description does not allow gets GitHub's 422 shape (404 for an unknown
route) and a line in `violations`. A few client mistakes GitHub itself silently tolerates (unknown
query parameters, a `head` filter without `owner:`, a missing `Accept`) are answered as GitHub
answers them and still recorded in `violations`; unknown body properties only go to `warnings`.
The stand-in's own answers are checked against the response schemas; mismatches go to
`response_errors` (a bug here, not in the client).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import itertools
import json
import re
import socket
import subprocess
import threading
import time
import types
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import requests
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from tests.support.offline_http import Offline, answer
from tests.support.serving import BackgroundServer

SPEC_PATH = Path(__file__).with_name("openapi.json")
IN_PROCESS = "https://api.github.test"  # the base URL of `session()`
DEFAULT_API_VERSION = "2022-11-28"
RATE_LIMIT = 5000
MAX_BODY = 65536  # characters GitHub accepts in a pull request or comment body
DOCS = "https://docs.github.com/rest"
SECONDARY_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits"
)
# Limits the description states in prose only ("The number of results per page (max 100)").
PARAM_LIMITS: dict[str, dict[str, Any]] = {"per_page": {"minimum": 1, "maximum": 100}, "page": {"minimum": 1}}
ACCEPT_JSON = re.compile(r"application/vnd\.github(\.[a-z0-9-]+)*\+json|application/json")
RESOURCES = {
    "pulls": "PullRequest",
    "issues/add-labels": "Label",
    "issues/create-comment": "IssueComment",
    "repos/get": "Repository",
    "git/delete-ref": "Reference",
}

JSON = Any


# -- the OpenAPI description ------------------------------------------------------------------------------


def to_json_schema(schema: JSON) -> JSON:
    """An OpenAPI 3.0 schema object as JSON Schema 2020-12: `nullable` becomes a null type; annotations go."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("nullable", "example", "deprecated", "readOnly", "writeOnly") or key.startswith("x-"):
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not"):
            out[key] = to_json_schema(value)
        elif key in ("oneOf", "anyOf", "allOf"):
            out[key] = [to_json_schema(sub) for sub in value]
        else:
            out[key] = value
    if schema.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    operation_id: str
    docs_url: str
    pattern: re.Pattern[str]
    path_params: dict[str, JSON]  # name -> JSON Schema
    query_params: dict[str, JSON]
    body_schema: JSON  # OpenAPI schema of the application/json request body, or None
    body_required: bool
    responses: dict[str, JSON]  # status -> OpenAPI schema of the application/json answer, or None

    @property
    def resource(self) -> str:
        return RESOURCES.get(self.operation_id, RESOURCES.get(self.operation_id.split("/")[0], "Resource"))


class OpenAPI:
    """The operations of openapi.json, their routes and validators."""

    def __init__(self, path: Path = SPEC_PATH) -> None:
        self.document: JSON = json.loads(path.read_text(encoding="utf-8"))
        self.operations: list[Operation] = []
        for template, item in self.document["paths"].items():
            shared = item.get("parameters", [])
            for method, op in item.items():
                if method == "parameters":
                    continue
                params = {(p["in"], p["name"]): p for p in [*shared, *op.get("parameters", [])]}
                body = op.get("requestBody")
                self.operations.append(
                    Operation(
                        method=method.upper(),
                        template=template,
                        operation_id=op["operationId"],
                        docs_url=op.get("externalDocs", {}).get("url", DOCS),
                        pattern=_route(template),
                        path_params={n: _param_schema(p) for (where, n), p in params.items() if where == "path"},
                        query_params={n: _param_schema(p) for (where, n), p in params.items() if where == "query"},
                        body_schema=body["content"].get("application/json", {}).get("schema") if body else None,
                        body_required=bool(body and body.get("required")),
                        responses={
                            status: answer.get("content", {}).get("application/json", {}).get("schema")
                            for status, answer in op["responses"].items()
                        },
                    )
                )
        # 2022-11-28 is the version every description describes; newer ones appear as breaking-change patches.
        self.api_versions = {DEFAULT_API_VERSION, *_breaking_change_versions(self.document)}
        self._validators: dict[int, Draft202012Validator] = {}

    def route(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], list[str]]:
        """(operation, its path parameters, methods the path allows); operation None when nothing matches."""
        allowed = []
        for op in self.operations:
            found = op.pattern.fullmatch(path)
            if found:
                if op.method == method:
                    return op, {k: urllib.parse.unquote(v) for k, v in found.groupdict().items()}, [method]
                allowed.append(op.method)
        return None, {}, allowed

    def validator(self, schema: JSON) -> Draft202012Validator:
        key = id(schema)
        if key not in self._validators:
            self._validators[key] = Draft202012Validator(to_json_schema(schema))
        return self._validators[key]

    def errors(self, schema: JSON, value: JSON) -> list[tuple[str, str, str]]:
        """(JSON path, field, message) per way `value` breaks `schema`, best explanation first."""
        found = []
        for error in sorted(self.validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path)):
            best = best_match([error])
            where = list(best.absolute_path)
            missing = (
                re.match(r"'([^']*)' is a required property", best.message) if best.validator == "required" else None
            )
            fields = [*where, missing.group(1)] if missing else where
            found.append((_json_path(where), ".".join(str(p) for p in fields), best.message))
        return found


@functools.cache
def load_spec(path: Path = SPEC_PATH) -> OpenAPI:
    """The description at `path`, parsed once per process (its validators are compiled on first use)."""
    return OpenAPI(path)


def _route(template: str) -> re.Pattern[str]:
    parts = []
    for segment in template.strip("/").split("/"):
        name = segment[1:-1] if segment.startswith("{") and segment.endswith("}") else None
        if name is None:
            parts.append(re.escape(segment))
        else:  # a git ref keeps its slashes: git/refs/heads/bot/python
            parts.append(f"(?P<{name}>.+)" if name == "ref" else f"(?P<{name}>[^/]+)")
    return re.compile("/" + "/".join(parts))


def _param_schema(param: JSON) -> JSON:
    schema = dict(param.get("schema", {}))
    return {"allOf": [schema, PARAM_LIMITS[param["name"]]]} if param["name"] in PARAM_LIMITS else schema


def _breaking_change_versions(node: JSON) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "x-github-breaking-changes" and isinstance(value, list):
                found |= {str(change["version"]) for change in value if "version" in change}
            else:
                found |= _breaking_change_versions(value)
    elif isinstance(node, list):
        for value in node:
            found |= _breaking_change_versions(value)
    return found


def _json_path(parts: list[Any]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)


def _coerce(raw: str, schema: JSON) -> JSON:
    """A query or path string as the JSON value its schema's type asks for (left a string if it is not one)."""
    kind = (schema.get("allOf", [schema])[0]).get("type")
    if kind == "integer" and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if kind == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


# -- state ------------------------------------------------------------------------------------------------


@dataclass
class _Repo:
    owner: str
    name: str
    default_branch: str
    id: int
    private: bool
    git_dir: Path | None = None  # a real (bare) repository whose refs/heads are the branches
    branches: dict[str, str] = field(default_factory=dict)  # branch -> head commit sha, without git_dir
    labels: dict[str, int] = field(default_factory=dict)  # label name -> id


@dataclass
class _Pull:
    number: int
    id: int
    title: str
    body: str | None
    head_owner: str
    head_repo: str
    head_ref: str
    head_sha: str
    base_ref: str
    user: str
    draft: bool
    maintainer_can_modify: bool
    created: datetime
    updated: datetime
    tick: int  # creation order, for stable sorting within a second
    touched: int  # update order
    state: str = "open"
    closed: datetime | None = None
    merged: datetime | None = None
    merged_by: str | None = None
    labels: list[str] = field(default_factory=list)
    suggested_labels: list[str] = field(default_factory=list)
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def head_label(self) -> str:
        return f"{self.head_owner}:{self.head_ref}"


@dataclass(frozen=True)
class Call:
    """One validated request: its operation, path parameters, query parameters and JSON body (None: none)."""

    op: Operation
    args: dict[str, Any]
    query: dict[str, Any]
    payload: JSON


@dataclass
class Reply:
    status: int
    payload: JSON = None  # None: no body
    headers: dict[str, str] = field(default_factory=dict)


class _Rejected(Exception):
    """Carries an error reply out of the operation that decided on it."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _git(git_dir: Path, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", str(git_dir), *args], check=True, capture_output=True, text=True).stdout


def _branches(record: _Repo) -> dict[str, str]:
    """branch -> head commit of a repository."""
    if record.git_dir is None:
        return record.branches
    found = {}
    for line in _git(
        record.git_dir, "for-each-ref", "--format=%(objectname) %(refname:strip=2)", "refs/heads"
    ).splitlines():
        sha, _, branch = line.partition(" ")
        found[branch] = sha
    return found


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _stamp(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _sha(*parts: object) -> str:
    return hashlib.sha1(":".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()


def _error(status: int, message: str, docs: str = DOCS, errors: list[dict[str, Any]] | None = None) -> Reply:
    payload: dict[str, Any] = {"message": message, "documentation_url": docs, "status": str(status)}
    if errors is not None:
        payload["errors"] = errors
    return Reply(status, payload)


def _failed(op: Operation, *errors: dict[str, Any]) -> _Rejected:
    """GitHub's "Validation Failed" 422 for a request that is well-formed but not acceptable."""
    return _Rejected(_error(422, "Validation Failed", op.docs_url, [{"resource": op.resource, **e} for e in errors]))


# -- the stand-in -----------------------------------------------------------------------------------------


class GitHubStandIn:
    """GitHub's REST API for pulls, labels, reviewers, comments, repositories and refs, in memory."""

    def __init__(
        self,
        token: str = "test-token",  # noqa: S107 - a test token
        *,
        login: str = "builder-bot",
        spec: Path = SPEC_PATH,
    ) -> None:
        self.token = token
        self.login = login  # the user the token belongs to: author of the pull requests and comments
        self.spec = load_spec(spec)
        self.requests: list[tuple[str, str]] = []  # (method, path?query) per request, in order of arrival
        self.violations: list[str] = []  # requests openapi.json does not allow (or GitHub only tolerates)
        self.warnings: list[str] = []  # accepted, but probably not meant: unknown body properties
        self.api_versions: list[str | None] = []  # X-GitHub-Api-Version per request (None: not sent)
        self.response_errors: list[str] = []  # this stand-in's answers that break the response schemas
        self.deleted_refs: list[tuple[str, str, str]] = []  # (owner, repo, ref)
        self.statuses: list[dict[str, Any]] = []  # commit statuses, in order: sha, state, context, description
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._pulls: dict[tuple[str, str], dict[int, _Pull]] = {}
        self._ids = itertools.count(1000)
        self._ticks = itertools.count()
        self._throttle: tuple[int, int, int] = (0, 0, 403)  # (requests left, retry-after, status)
        self._used = 0
        self._reset = int(time.time()) + 3600
        self._placeholders: dict[int, JSON] = {}
        self.lock = threading.RLock()
        self._serving: BackgroundServer[_Server] = BackgroundServer("github-standin")
        self.url = ""

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> str:
        """Serve on a free port of 127.0.0.1; returns the base URL (what https://api.github.com is to GitHub)."""
        if not self._serving.running:
            self._serving.start(lambda address: _Server(address, _Handler, self))
            self.url = f"http://127.0.0.1:{self._serving.port}"
        return self.url

    def close(self) -> None:
        self._serving.stop(after_close=_Server.drop_connections)

    def session(self, base: str = IN_PROCESS) -> requests.Session:
        """A requests session that reaches this stand-in at `base` without a socket (for unit tests, where
        sockets are refused): each request is answered by `handle`, as the server would."""
        return _InProcess(self).mount(requests.Session(), f"{base.rstrip('/')}/")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: types.TracebackType | None
    ) -> None:
        self.close()

    # -- test set-up and inspection -------------------------------------------------------------------
    def add_repo(
        self,
        owner: str,
        repo: str,
        default_branch: str = "main",
        *,
        private: bool = False,
        git_dir: Path | str | None = None,
    ) -> None:
        """A repository whose default branch exists. With `git_dir`, its branches are those of that (bare)
        git repository, read on every request, so what the client pushes there is what GitHub would see;
        deleting a ref deletes it there too."""
        with self.lock:
            record = _Repo(
                owner, repo, default_branch, next(self._ids), private, Path(git_dir) if git_dir is not None else None
            )
            if record.git_dir is None:
                record.branches[default_branch] = _sha(owner, repo, default_branch)
            self._repos[(owner.lower(), repo.lower())] = record
            self._pulls.setdefault((owner.lower(), repo.lower()), {})

    def set_branch(self, owner: str, repo: str, branch: str, sha: str | None = None) -> None:
        """Create a branch (as a push would), or move it to `sha`; in a git-backed repository the new
        branch starts at the default branch's tip."""
        with self.lock:
            record = self._repo(owner, repo)
            if record.git_dir is None:
                record.branches[branch] = sha or _sha(owner, repo, branch, time.monotonic_ns())
            else:
                _git(record.git_dir, "update-ref", f"refs/heads/{branch}", sha or f"refs/heads/{record.default_branch}")

    def branches(self, owner: str, repo: str) -> list[str]:
        with self.lock:
            return sorted(_branches(self._repo(owner, repo)))

    def throttle(self, times: int = 1, retry_after: int = 1, *, status: int = 403) -> None:
        """Answer the next `times` requests with GitHub's secondary rate limit (403, or 429) and `retry-after`."""
        with self.lock:
            self._throttle = (times, retry_after, status)

    def pulls(self, owner: str, repo: str) -> list[dict[str, Any]]:
        """The stored pull requests, oldest first, shaped as pulls/get answers (without the placeholder
        values the stand-in adds for required fields it does not model)."""
        with self.lock:
            record = self._repo(owner, repo)
            return [self._pull_json(record, pull) for pull in self._pulls[self._key(record)].values()]

    def comments(self, owner: str, repo: str, number: int) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self._pull(self._repo(owner, repo), number).comments)

    def merge(self, owner: str, repo: str, number: int) -> None:
        """Merge a pull request, as a maintainer would in the web interface."""
        with self.lock:
            pull = self._pull(self._repo(owner, repo), number)
            now = _now()
            pull.state, pull.closed, pull.merged, pull.merged_by = "closed", now, now, self.login
            pull.updated, pull.touched = now, next(self._ticks)

    def decline(self, owner: str, repo: str, number: int) -> None:
        """Close a pull request without merging it, as a maintainer declining it would."""
        with self.lock:
            pull = self._pull(self._repo(owner, repo), number)
            now = _now()
            pull.state, pull.closed, pull.updated, pull.touched = "closed", now, now, next(self._ticks)

    def writes(self) -> int:
        """How many requests so far could change something (every method but GET)."""
        with self.lock:
            return sum(1 for method, _ in self.requests if method != "GET")

    def _repo(self, owner: str, repo: str) -> _Repo:
        try:
            return self._repos[(owner.lower(), repo.lower())]
        except KeyError:
            raise LookupError(f"no repository {owner}/{repo}: add it with add_repo()") from None

    def _pull(self, record: _Repo, number: int) -> _Pull:
        try:
            return self._pulls[self._key(record)][number]
        except KeyError:
            raise LookupError(f"no pull request #{number} in {record.owner}/{record.name}") from None

    @staticmethod
    def _key(record: _Repo) -> tuple[str, str]:
        return record.owner.lower(), record.name.lower()

    # -- one request ----------------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        """Answer one request (`headers` with lower-case names); what the HTTP server calls."""
        with self.lock:
            self.requests.append((method, target))
            self.api_versions.append(headers.get("x-github-api-version"))
            self._used += 1
            try:
                reply = self._answer(method, target, headers, body)
            except _Rejected as rejected:
                reply = rejected.reply
            throttled = reply.headers.get("retry-after") is not None
            reply.headers.update(
                {
                    "x-ratelimit-limit": str(RATE_LIMIT),
                    "x-ratelimit-remaining": "0" if throttled else str(max(RATE_LIMIT - self._used, 0)),
                    "x-ratelimit-reset": str(self._reset),
                    "x-ratelimit-used": str(self._used),
                    "x-ratelimit-resource": "core",
                    "x-github-request-id": f"STANDIN:{len(self.requests):06d}",
                    "x-github-media-type": "github.v3; format=json",
                }
            )
            return reply

    def _violation(self, method: str, target: str, problem: str) -> None:
        self.violations.append(f"{method} {target}: {problem}")

    def _answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        left, retry_after, status = self._throttle
        if left > 0:
            self._throttle = (left - 1, retry_after, status)
            reply = _error(
                status,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you "
                "try again. If you reach out to GitHub Support for help, please include the "
                f"request ID STANDIN:{len(self.requests):06d}.",
                SECONDARY_DOCS,
            )
            reply.headers["retry-after"] = str(retry_after)
            return reply
        parts = urllib.parse.urlsplit(target)
        op, path_args, allowed = self.spec.route(method, parts.path)
        if op is None:
            why = f"openapi.json allows only {', '.join(sorted(allowed))} here" if allowed else "no such path"
            self._violation(method, target, f"not an operation of openapi.json ({why})")
            return _error(404, "Not Found")
        if "user-agent" not in headers:
            self._violation(method, target, "no User-Agent header (GitHub rejects such requests)")
            return _error(
                403,
                "Request forbidden by administrative rules. Please make sure your request has a "
                "User-Agent header (https://docs.github.com/rest/overview/resources-in-the-rest-api"
                "#user-agent-required).",
            )
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        if not credential:
            return _error(401, "Requires authentication")
        if scheme.lower() not in ("bearer", "token") or credential.strip() != self.token:
            return _error(401, "Bad credentials")
        self._check_accept(method, target, headers.get("accept", ""))
        version = headers.get("x-github-api-version")
        if version is not None and version not in self.spec.api_versions:
            self._violation(
                method, target, f"X-GitHub-Api-Version {version!r} is not one of {sorted(self.spec.api_versions)}"
            )
            return _error(400, f"API version {version} is not supported.")
        try:
            args, query, payload = self._validated(op, method, target, path_args, parts.query, headers, body)
            handler: Callable[[Call], Reply] = getattr(self, "_op_" + re.sub(r"\W", "_", op.operation_id))
            reply = handler(Call(op, args, query, payload))
        except _Rejected as rejected:
            reply = rejected.reply
        self._check_reply(op, reply)
        return reply

    def _check_accept(self, method: str, target: str, accept: str) -> None:
        types_ = [part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()]
        if not any(ACCEPT_JSON.fullmatch(t) for t in types_):
            self._violation(
                method,
                target,
                f"Accept {accept or '(none)'!r}: send application/vnd.github+json, the media type GitHub recommends",
            )

    def _validated(
        self,
        op: Operation,
        method: str,
        target: str,
        path_args: dict[str, str],
        raw_query: str,
        headers: dict[str, str],
        body: bytes,
    ) -> tuple[dict[str, Any], dict[str, Any], JSON]:
        """Path parameters, query parameters and body, checked against `op`; raises a 422 if any is wrong."""
        problems: list[tuple[str, str, str]] = []  # (field, code, message)
        args: dict[str, Any] = {}
        for name, schema in op.path_params.items():
            args[name] = _coerce(path_args[name], schema)
            problems += [
                (name, "invalid", f"path parameter {name!r}: {msg}")
                for _, _, msg in self.spec.errors(schema, args[name])
            ]
        query: dict[str, Any] = {}
        for name, values in urllib.parse.parse_qs(raw_query, keep_blank_values=True).items():
            if name not in op.query_params:
                self._violation(
                    method,
                    target,
                    f"query parameter {name!r} is not one of {sorted(op.query_params)} (GitHub ignores it)",
                )
                continue
            if len(values) > 1:
                problems.append((name, "invalid", f"query parameter {name!r} given {len(values)} times"))
            query[name] = _coerce(values[-1], op.query_params[name])
            problems += [
                (name, "invalid", f"query parameter {name!r}: {msg}")
                for _, _, msg in self.spec.errors(op.query_params[name], query[name])
            ]
        payload: JSON = None
        if body:
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if op.body_schema is None:
                problems.append(("", "invalid", f"{op.operation_id} takes no request body"))
            elif content_type != "application/json":
                problems.append(("", "invalid", f"Content-Type {content_type or '(none)'!r} is not application/json"))
            else:
                try:
                    payload = json.loads(body, parse_constant=_reject_constant)
                except (ValueError, UnicodeDecodeError) as exc:
                    self._violation(method, target, f"body is not JSON: {exc}")
                    raise _Rejected(_error(400, "Problems parsing JSON", op.docs_url)) from None
                problems += [
                    (fld, "missing_field" if "required property" in msg else "invalid", f"body {where}: {msg}")
                    for where, fld, msg in self.spec.errors(op.body_schema, payload)
                ]
                self._unknown_properties(op, method, target, payload)
        elif op.body_required:
            problems.append(("", "missing_field", f"{op.operation_id} requires a JSON body"))
        if problems:
            for _, _, message in problems:
                self._violation(method, target, message)
            details = [
                {"resource": op.resource, "code": c, "message": m, **({"field": f} if f else {})}
                for f, c, m in problems
            ]
            raise _Rejected(
                _error(422, "Invalid request.\n\n" + "\n".join(m for _, _, m in problems), op.docs_url, details)
            )
        return args, query, payload

    def _unknown_properties(self, op: Operation, method: str, target: str, payload: JSON) -> None:
        schema = op.body_schema
        branches = schema.get("oneOf", [schema]) if isinstance(schema, dict) else []
        known = {name for branch in branches for name in branch.get("properties", {})}
        if isinstance(payload, dict):
            for name in sorted(set(payload) - known):
                self.warnings.append(
                    f"{method} {target}: body property {name!r} is not in {op.operation_id}'s "
                    f"schema ({', '.join(sorted(known))}); GitHub ignores it"
                )

    # -- operations -----------------------------------------------------------------------------------
    def _found(self, args: dict[str, Any]) -> _Repo:
        record = self._repos.get((str(args["owner"]).lower(), str(args["repo"]).lower()))
        if record is None:
            raise _Rejected(_error(404, "Not Found", "https://docs.github.com/rest/repos/repos#get-a-repository"))
        return record

    def _found_pull(self, op: Operation, args: dict[str, Any]) -> tuple[_Repo, _Pull]:
        record = self._found(args)
        number = args.get("pull_number", args.get("issue_number"))
        pull = self._pulls[self._key(record)].get(number) if isinstance(number, int) else None
        if pull is None:
            raise _Rejected(_error(404, "Not Found", op.docs_url))
        return record, pull

    def _op_repos_get(self, call: Call) -> Reply:
        return Reply(200, self._repo_json(self._found(call.args)))

    def _op_pulls_list(self, call: Call) -> Reply:
        record = self._found(call.args)
        found = list(self._pulls[self._key(record)].values())
        state = call.query.get("state", "open")
        if state != "all":
            found = [p for p in found if p.state == state]
        head = call.query.get("head")
        if head is not None:
            owner, colon, branch = str(head).partition(":")
            if not colon:  # GitHub ignores a head filter without its owner and lists every pull request
                self._violation(
                    "GET",
                    self.requests[-1][1],
                    f"head={head!r} is not 'owner:branch': GitHub ignores this filter and lists all pull requests",
                )
            else:
                found = [p for p in found if p.head_owner.lower() == owner.lower() and p.head_ref == branch]
        if "base" in call.query:
            found = [p for p in found if p.base_ref == call.query["base"]]
        sort = call.query.get("sort", "created")
        if sort == "updated":
            found.sort(key=lambda p: p.touched)
        elif sort == "popularity":
            found.sort(key=lambda p: (len(p.comments), p.tick))
        else:  # created; long-running is approximated by it
            found.sort(key=lambda p: p.tick)
        if call.query.get("direction", "desc" if sort == "created" else "asc") == "desc":
            found.reverse()
        per_page, page = int(call.query.get("per_page", 30)), int(call.query.get("page", 1))
        shown = found[(page - 1) * per_page : page * per_page]
        reply = Reply(200, [self._pull_json(record, p, full=False) for p in shown])
        last = max((len(found) + per_page - 1) // per_page, 1)
        if last > 1:
            reply.headers["link"] = self._links(f"/repos/{record.owner}/{record.name}/pulls", call.query, page, last)
        return reply

    def _links(self, path: str, query: dict[str, Any], page: int, last: int) -> str:
        def at(number: int) -> str:
            return f"{self.url}{path}?{urllib.parse.urlencode({**query, 'page': number})}"

        rels = [("prev", page - 1), ("next", page + 1), ("last", last), ("first", 1)]
        return ", ".join(
            f'<{at(n)}>; rel="{rel}"'
            for rel, n in rels
            if (rel in ("prev", "first") and page > 1) or (rel in ("next", "last") and page < last)
        )

    def _op_pulls_create(self, call: Call) -> Reply:
        record, wanted, op = self._found(call.args), call.payload, call.op
        if "issue" in wanted:
            self._violation("POST", self.requests[-1][1], "the stand-in does not convert issues to pull requests")
            raise _failed(op, {"field": "issue", "code": "invalid"})
        if "title" not in wanted:
            raise _failed(op, {"field": "title", "code": "missing_field"})
        self._check_body_length(op, wanted)
        base = str(wanted["base"])
        if base not in _branches(record):
            raise _failed(op, {"field": "base", "code": "invalid"})
        owner, _, branch = str(wanted["head"]).rpartition(":")
        if "head_repo" in wanted:
            head_owner, _, head_name = str(wanted["head_repo"]).partition("/")
        else:
            head_owner, head_name = owner or record.owner, record.name
        head = self._repos.get((head_owner.lower(), head_name.lower()))
        head_branches = _branches(head) if head is not None else {}
        if head is None or branch not in head_branches:
            raise _failed(op, {"field": "head", "code": "invalid"})
        if head is record and branch == base:
            raise _failed(op, {"code": "custom", "message": f"No commits between {base} and {branch}"})
        label = f"{head.owner}:{branch}"
        pulls = self._pulls[self._key(record)]
        for other in pulls.values():
            if other.state == "open" and other.head_label.lower() == label.lower() and other.base_ref == base:
                raise _failed(op, {"code": "custom", "message": f"A pull request already exists for {label}."})
        now = _now()
        pull = _Pull(
            number=max(pulls, default=0) + 1,
            id=next(self._ids),
            title=str(wanted["title"]),
            body=wanted.get("body"),
            head_owner=head.owner,
            head_repo=head.name,
            head_ref=branch,
            head_sha=head_branches[branch],
            base_ref=base,
            user=self.login,
            draft=bool(wanted.get("draft", False)),
            maintainer_can_modify=bool(wanted.get("maintainer_can_modify", True)),
            created=now,
            updated=now,
            tick=next(self._ticks),
            touched=next(self._ticks),
        )
        pulls[pull.number] = pull
        reply = Reply(201, self._pull_json(record, pull))
        reply.headers["location"] = reply.payload["url"]
        return reply

    def _check_body_length(self, op: Operation, payload: dict[str, Any]) -> None:
        if isinstance(payload.get("body"), str) and len(payload["body"]) > MAX_BODY:
            raise _failed(
                op,
                {"field": "body", "code": "custom", "message": f"body is too long (maximum is {MAX_BODY} characters)"},
            )

    def _op_pulls_get(self, call: Call) -> Reply:
        record, pull = self._found_pull(call.op, call.args)
        return Reply(200, self._pull_json(record, pull))

    def _op_pulls_update(self, call: Call) -> Reply:
        (record, pull), op = self._found_pull(call.op, call.args), call.op
        changes = call.payload or {}
        self._check_body_length(op, changes)
        if "base" in changes and changes["base"] not in _branches(record):
            raise _failed(op, {"field": "base", "code": "invalid"})
        if changes.get("state") == "open" and pull.state == "closed":
            head = self._repos.get((pull.head_owner.lower(), pull.head_repo.lower()))
            why = (
                "The pull request has already been merged."
                if pull.merged
                else "The head branch no longer exists."
                if head is None or pull.head_ref not in _branches(head)
                else ""
            )
            if why:
                raise _failed(op, {"field": "state", "code": "custom", "message": f"state cannot be changed. {why}"})
            for other in self._pulls[self._key(record)].values():
                if other.state == "open" and other.head_label == pull.head_label and other.base_ref == pull.base_ref:
                    raise _failed(
                        op, {"code": "custom", "message": f"A pull request already exists for {pull.head_label}."}
                    )
        now = _now()
        if "title" in changes:
            pull.title = changes["title"]
        if "body" in changes:
            pull.body = changes["body"]
        if "base" in changes:
            pull.base_ref = changes["base"]
        if "maintainer_can_modify" in changes:
            pull.maintainer_can_modify = changes["maintainer_can_modify"]
        if "state" in changes and changes["state"] != pull.state:
            pull.state = changes["state"]
            pull.closed = now if pull.state == "closed" else None
        pull.updated, pull.touched = now, next(self._ticks)
        return Reply(200, self._pull_json(record, pull))

    def _op_issues_add_labels(self, call: Call) -> Reply:
        record, pull = self._found_pull(call.op, call.args)
        for item in (call.payload or {}).get("labels", []):
            name = item if isinstance(item, str) else str(item["name"])
            if not name.strip():
                raise _failed(call.op, {"field": "name", "code": "invalid", "message": "label name is blank"})
            record.labels.setdefault(name, next(self._ids))
            target = pull.suggested_labels if isinstance(item, dict) and item.get("suggest") else pull.labels
            if name not in target and name not in pull.labels:
                target.append(name)
        pull.updated, pull.touched = _now(), next(self._ticks)
        return Reply(200, [self._label_json(record, name) for name in pull.labels])

    def _op_issues_remove_label(self, call: Call) -> Reply:
        record, pull = self._found_pull(call.op, call.args)
        name = str(call.args["name"])
        if name not in pull.labels:
            raise _Rejected(_error(404, "Label does not exist", call.op.docs_url))
        pull.labels.remove(name)
        pull.updated, pull.touched = _now(), next(self._ticks)
        return Reply(200, [self._label_json(record, label) for label in pull.labels])

    def _op_repos_create_commit_status(self, call: Call) -> Reply:
        record = self._found(call.args)
        sha = str(call.args["sha"])
        known = (
            record.git_dir is None
            or subprocess.run(
                ["git", "--git-dir", str(record.git_dir), "cat-file", "-e", f"{sha}^{{commit}}"],
                check=False,
                capture_output=True,
            ).returncode
            == 0
        )
        if not known:
            raise _Rejected(_error(422, f"No commit found for SHA: {sha}", call.op.docs_url))
        payload = call.payload or {}
        number = next(self._ids)
        now = _stamp(_now())
        status = {
            "id": number,
            "node_id": f"SC_{number}",
            "state": payload["state"],
            "description": payload.get("description"),
            "target_url": payload.get("target_url"),
            "context": payload.get("context", "default"),
            "created_at": now,
            "updated_at": now,
            "url": f"{self.url}/repos/{record.owner}/{record.name}/statuses/{sha}",
            "avatar_url": None,
            "creator": self._user_json(self.login),
        }
        self.statuses.append({"sha": sha, **{k: status[k] for k in ("state", "context", "description")}})
        reply = Reply(201, copy.deepcopy(status))
        reply.headers["location"] = str(status["url"])
        return reply

    def _op_issues_create_comment(self, call: Call) -> Reply:
        record, pull = self._found_pull(call.op, call.args)
        self._check_body_length(call.op, call.payload)
        now, number = _stamp(_now()), next(self._ids)
        api = f"{self.url}/repos/{record.owner}/{record.name}"
        comment = {
            "id": number,
            "node_id": f"IC_{number}",
            "url": f"{api}/issues/comments/{number}",
            "html_url": f"https://github.com/{record.owner}/{record.name}/pull/{pull.number}#issuecomment-{number}",
            "issue_url": f"{api}/issues/{pull.number}",
            "body": call.payload["body"],
            "user": self._user_json(self.login),
            "created_at": now,
            "updated_at": now,
            "author_association": self._association(record, self.login),
        }
        pull.comments.append(comment)
        reply = Reply(201, copy.deepcopy(comment))
        reply.headers["location"] = str(comment["url"])
        return reply

    def _op_pulls_request_reviewers(self, call: Call) -> Reply:
        record, pull = self._found_pull(call.op, call.args)
        wanted = call.payload or {}
        if any(str(login).lower() == pull.user.lower() for login in wanted.get("reviewers", [])):
            raise _Rejected(_error(422, "Review cannot be requested from pull request author.", call.op.docs_url))
        for login in wanted.get("reviewers", []):
            if login not in pull.requested_reviewers:
                pull.requested_reviewers.append(login)
        for team in wanted.get("team_reviewers", []):
            if team not in pull.requested_teams:
                pull.requested_teams.append(team)
        pull.updated, pull.touched = _now(), next(self._ticks)
        return Reply(201, self._pull_json(record, pull, full=False))

    def _op_git_delete_ref(self, call: Call) -> Reply:
        record = self._found(call.args)
        ref = str(call.args["ref"])
        kind, _, branch = ref.partition("/")
        if kind != "heads" or branch not in _branches(record):
            raise _Rejected(_error(422, "Reference does not exist", call.op.docs_url))
        if branch == record.default_branch:
            raise _Rejected(_error(422, "Cannot delete the default branch", call.op.docs_url))
        if record.git_dir is None:
            del record.branches[branch]
        else:
            _git(record.git_dir, "update-ref", "-d", f"refs/heads/{branch}")
        self.deleted_refs.append((record.owner, record.name, ref))
        now = _now()
        for pull in self._pulls[self._key(record)].values():  # GitHub closes the pull requests of a deleted head
            if pull.state == "open" and (pull.head_owner, pull.head_repo, pull.head_ref) == (
                record.owner,
                record.name,
                branch,
            ):
                pull.state, pull.closed, pull.updated, pull.touched = "closed", now, now, next(self._ticks)
        return Reply(204)

    # -- answers shaped as GitHub's ---------------------------------------------------------------------
    def _user_json(self, login: str) -> dict[str, Any]:
        api = f"{self.url}/users/{login}"
        number = int(_sha("user", login)[:6], 16)
        return {
            "login": login,
            "id": number,
            "node_id": f"U_{number}",
            "type": "Bot" if "[bot]" in login else "User",
            "site_admin": False,
            "url": api,
            "html_url": f"https://github.com/{login}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{number}?v=4",
            "gravatar_id": "",
            **{
                f"{name}_url": f"{api}/{name}"
                for name in ("followers", "organizations", "received_events", "repos", "subscriptions")
            },
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "events_url": f"{api}/events{{/privacy}}",
        }

    def _association(self, record: _Repo, login: str) -> str:
        return "OWNER" if login.lower() == record.owner.lower() else "COLLABORATOR"

    def _repo_json(self, record: _Repo) -> dict[str, Any]:
        full = f"{record.owner}/{record.name}"
        api = f"{self.url}/repos/{full}"
        return {
            "id": record.id,
            "node_id": f"R_{record.id}",
            "name": record.name,
            "full_name": full,
            "owner": self._user_json(record.owner),
            "private": record.private,
            "visibility": "private" if record.private else "public",
            "html_url": f"https://github.com/{full}",
            "description": None,
            "fork": False,
            "url": api,
            "default_branch": record.default_branch,
            "clone_url": f"https://github.com/{full}.git",
            "git_url": f"git://github.com/{full}.git",
            "ssh_url": f"git@github.com:{full}.git",
            "svn_url": f"https://github.com/{full}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "issues_url": f"{api}/issues{{/number}}",
            "git_refs_url": f"{api}/git/refs{{/sha}}",
            "labels_url": f"{api}/labels{{/name}}",
            "archived": False,
            "disabled": False,
            "homepage": None,
            "language": None,
            "mirror_url": None,
            "license": None,
            "open_issues_count": sum(p.state == "open" for p in self._pulls[self._key(record)].values()),
        }

    def _label_json(self, record: _Repo, name: str) -> dict[str, Any]:
        number = record.labels[name]
        return {
            "id": number,
            "node_id": f"LA_{number}",
            "name": name,
            "description": "",
            "color": "ededed",
            "default": False,
            "url": f"{self.url}/repos/{record.owner}/{record.name}/labels/{urllib.parse.quote(name, safe='')}",
        }

    def _pull_json(self, record: _Repo, pull: _Pull, *, full: bool = True) -> dict[str, Any]:
        api = f"{self.url}/repos/{record.owner}/{record.name}"
        url, html = f"{api}/pulls/{pull.number}", f"https://github.com/{record.owner}/{record.name}/pull/{pull.number}"
        issue = f"{api}/issues/{pull.number}"
        head = self._repos.get((pull.head_owner.lower(), pull.head_repo.lower()))
        head_sha = _branches(head).get(pull.head_ref, pull.head_sha) if head else pull.head_sha
        links = {
            "self": url,
            "html": html,
            "issue": issue,
            "comments": f"{issue}/comments",
            "review_comments": f"{url}/comments",
            "review_comment": f"{api}/pulls/comments{{/number}}",
            "commits": f"{url}/commits",
            "statuses": f"{api}/statuses/{head_sha}",
        }
        data: dict[str, Any] = {
            "url": url,
            "id": pull.id,
            "node_id": f"PR_{pull.id}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue,
            "commits_url": links["commits"],
            "review_comments_url": links["review_comments"],
            "review_comment_url": links["review_comment"],
            "comments_url": links["comments"],
            "statuses_url": links["statuses"],
            "number": pull.number,
            "state": pull.state,
            "locked": False,
            "title": pull.title,
            "user": self._user_json(pull.user),
            "body": pull.body,
            "labels": [self._label_json(record, name) for name in pull.labels],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": _stamp(pull.created),
            "updated_at": _stamp(pull.updated),
            "closed_at": _stamp(pull.closed),
            "merged_at": _stamp(pull.merged),
            "merge_commit_sha": _sha("merge", record.name, pull.number) if pull.merged else None,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [self._user_json(login) for login in pull.requested_reviewers],
            "requested_teams": [self._team_json(record, slug) for slug in pull.requested_teams],
            "head": {
                "label": pull.head_label,
                "ref": pull.head_ref,
                "sha": head_sha,
                "user": self._user_json(pull.head_owner),
                "repo": self._repo_json(head) if head else None,
            },
            "base": {
                "label": f"{record.owner}:{pull.base_ref}",
                "ref": pull.base_ref,
                "sha": _branches(record).get(pull.base_ref, _sha(record.owner, record.name, pull.base_ref)),
                "user": self._user_json(record.owner),
                "repo": self._repo_json(record),
            },
            "_links": {rel: {"href": href} for rel, href in links.items()},
            "author_association": self._association(record, pull.user),
            "auto_merge": None,
            "draft": pull.draft,
        }
        if full:
            data.update(
                {
                    "merged": pull.merged is not None,
                    "mergeable": None if pull.merged else True,
                    "rebaseable": None if pull.merged else True,
                    "mergeable_state": "unknown" if pull.merged else "clean",
                    "merged_by": self._user_json(pull.merged_by) if pull.merged_by else None,
                    "comments": len(pull.comments),
                    "review_comments": 0,
                    "maintainer_can_modify": pull.maintainer_can_modify,
                    "commits": 1,
                    "additions": 1,
                    "deletions": 0,
                    "changed_files": 1,
                }
            )
        return data

    def _team_json(self, record: _Repo, slug: str) -> dict[str, Any]:
        number = int(_sha("team", record.owner, slug)[:6], 16)
        api = f"{self.url}/organizations/{record.id}/team/{number}"
        return {
            "id": number,
            "node_id": f"T_{number}",
            "url": api,
            "members_url": f"{api}/members{{/member}}",
            "name": slug,
            "slug": slug,
            "description": None,
            "permission": "pull",
            "privacy": "closed",
            "html_url": f"https://github.com/orgs/{record.owner}/teams/{slug}",
            "repositories_url": f"{api}/repos",
            "type": "enterprise",
        }

    def _check_reply(self, op: Operation, reply: Reply) -> None:
        """Fill the required fields the stand-in does not model from the schema, then check the whole answer."""
        schema = op.responses.get(str(reply.status))
        if reply.payload is None or (schema is None and reply.status >= 300):
            return  # no body, or an error GitHub gives without describing it (a 401, a 404 for a repository)
        if schema is None:
            self.response_errors.append(f"{op.operation_id}: openapi.json has no JSON answer {reply.status}")
            return
        reply.payload = self._complete(schema, reply.payload)
        for where, _, message in self.spec.errors(schema, reply.payload):
            self.response_errors.append(f"{op.operation_id} {reply.status} {where}: {message}")

    def _complete(self, schema: JSON, value: JSON) -> JSON:
        schema = _branch(schema, value)
        if isinstance(value, dict):
            props = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value:
                    value[name] = self._placeholder(props.get(name, {}))
            for name, sub in props.items():
                if value.get(name) is not None:
                    value[name] = self._complete(sub, value[name])
        elif isinstance(value, list) and isinstance(schema.get("items"), dict):
            return [self._complete(schema["items"], item) for item in value]
        return value

    def _placeholder(self, schema: JSON) -> JSON:
        """A value for a required field nobody reads: null if allowed, else the schema's example or a zero value."""
        key = id(schema)
        if key not in self._placeholders:
            self._placeholders[key] = self._make_placeholder(schema)
        return copy.deepcopy(self._placeholders[key])

    def _make_placeholder(self, schema: JSON) -> JSON:
        if schema.get("nullable"):
            return None
        for choice in ("oneOf", "anyOf"):
            if schema.get(choice):
                return self._placeholder(schema[choice][0])
        kind = schema.get("type")
        if "enum" in schema:
            return schema["enum"][0]
        zero = {"string": "", "integer": 0, "number": 0, "boolean": False, "array": []}
        for candidate in ("default", "example"):
            if candidate in schema and kind in zero and isinstance(schema[candidate], type(zero[kind])):
                return copy.deepcopy(schema[candidate])
        if kind == "object" or "properties" in schema or "allOf" in schema:
            return self._complete(schema, {})
        return zero.get(str(kind))


def _branch(schema: JSON, value: JSON) -> JSON:
    """The part of a composed schema that describes `value`: allOf merged, the first matching oneOf/anyOf branch."""
    if "allOf" in schema:
        merged: dict[str, Any] = {"properties": {}, "required": []}
        for piece in schema["allOf"]:
            part = _branch(piece, value)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged
    for choice in ("oneOf", "anyOf"):
        if schema.get(choice):
            wanted = "object" if isinstance(value, dict) else "array" if isinstance(value, list) else None
            return next((_branch(b, value) for b in schema[choice] if b.get("type") == wanted), schema[choice][0])
    return schema


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


# -- HTTP ---------------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], standin: GitHubStandIn) -> None:
        self.standin = standin
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def drop_connections(self) -> None:
        with self.connections_lock:
            for conn in self.connections:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            self.connections.clear()


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    timeout = 30
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        if "chunked" in headers.get("transfer-encoding", "").lower():
            with self.server.standin.lock:
                self.server.standin.violations.append(
                    f"{self.command} {self.path}: chunked request bodies are "
                    "not supported by the stand-in; send Content-Length"
                )
            self.close_connection = True
            self._send(_error(400, "Problems parsing JSON"))
            return
        length = int(headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        self._send(self.server.standin.handle(self.command, self.path, headers, body))

    def _send(self, reply: Reply) -> None:
        data, headers = _wire(reply)
        self.send_response(reply.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if data:
            self.wfile.write(data)


def _wire(reply: Reply) -> tuple[bytes, dict[str, str]]:
    """The body and headers a reply goes out with."""
    data = b"" if reply.payload is None else json.dumps(reply.payload).encode()
    headers = dict(reply.headers)
    if reply.status != 204:
        headers |= {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(data))}
    return data, headers


class _InProcess(Offline):
    def __init__(self, standin: GitHubStandIn) -> None:
        super().__init__()
        self.standin = standin

    def reply(self, request: requests.PreparedRequest, method: str, target: str) -> requests.Response:
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        headers = {name.lower(): value for name, value in request.headers.items()}
        headers["content-length"] = str(len(body))
        reply = self.standin.handle(method, target, headers, body)
        data, sent = _wire(reply)
        return answer(request, reply.status, data, sent)
