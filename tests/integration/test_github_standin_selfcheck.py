"""The GitHub stand-in behaves like GitHub and holds every request to GitHub's OpenAPI description."""

from __future__ import annotations

import http.client
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator

from tests.support.github_standin import SPEC_PATH, GitHubStandIn, OpenAPI, to_json_schema

OWNER, REPO = "acme", "images"
BRANCH = "bot/python-1.4.3"
PULLS = f"/repos/{OWNER}/{REPO}/pulls"
HEADERS = {
    "Authorization": "Bearer test-token",
    "Accept": "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
    "User-Agent": "builder-bot",
}
NEW_PULL = {"title": "fix(python): security rebuild 1.4.3", "head": BRANCH, "base": "main", "body": "Why: CVE-2026-1"}


@pytest.fixture
def github() -> Iterator[GitHubStandIn]:
    with GitHubStandIn(token="test-token") as standin:
        standin.add_repo(OWNER, REPO)
        standin.set_branch(OWNER, REPO, BRANCH)
        yield standin


@pytest.fixture
def api(github: GitHubStandIn) -> Iterator[Client]:
    with requests.Session() as session:
        session.headers.update(HEADERS)
        yield Client(github.url, session)


class Client:
    def __init__(self, base: str, session: requests.Session) -> None:
        self.base = base
        self.session = session

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.base + path, timeout=10, **kwargs)


def test_vendored_description_holds_the_bot_operations_as_valid_schemas() -> None:
    spec = OpenAPI()
    assert sorted((op.method, op.template) for op in spec.operations) == [
        ("DELETE", "/repos/{owner}/{repo}/git/refs/{ref}"),
        ("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}"),
        ("GET", "/repos/{owner}/{repo}"),
        ("GET", "/repos/{owner}/{repo}/pulls"),
        ("GET", "/repos/{owner}/{repo}/pulls/{pull_number}"),
        ("PATCH", "/repos/{owner}/{repo}/pulls/{pull_number}"),
        ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
        ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
        ("POST", "/repos/{owner}/{repo}/pulls"),
        ("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers"),
        ("POST", "/repos/{owner}/{repo}/statuses/{sha}"),
    ]
    # Meta-checking the big response schemas takes seconds; the request side, and one answer that has
    # nullable, oneOf and additionalProperties, show the OpenAPI -> JSON Schema mapping is sound.
    comment = next(op for op in spec.operations if op.operation_id == "issues/create-comment")
    for op in spec.operations:
        for schema in [op.body_schema, *op.path_params.values(), *op.query_params.values()]:
            if schema is not None:
                Draft202012Validator.check_schema(to_json_schema(schema))
    Draft202012Validator.check_schema(to_json_schema(comment.responses["201"]))
    assert "2022-11-28" in spec.api_versions
    notice = (Path(SPEC_PATH).parent / "NOTICE.md").read_text(encoding="utf-8")
    for needle in (
        "@octokit/openapi",
        "23.0.2",
        "api.github.com.deref.json",
        "MIT License",
        "Copyright GitHub and the Octokit contributors",
    ):
        assert needle in notice
    assert json.loads(SPEC_PATH.read_text(encoding="utf-8"))["info"]["license"]["name"] == "MIT"


def test_nullable_becomes_a_null_type() -> None:
    assert to_json_schema({"type": "string", "nullable": True, "enum": ["a"], "example": "a"}) == {
        "type": ["string", "null"],
        "enum": ["a", None],
    }
    assert to_json_schema({"nullable": True, "oneOf": [{"type": "string"}]}) == {
        "anyOf": [{"oneOf": [{"type": "string"}]}, {"type": "null"}]
    }
    # A property may be called like a keyword.
    assert to_json_schema({"properties": {"example": {"type": "string"}}}) == {
        "properties": {"example": {"type": "string"}}
    }


def test_pull_request_lifecycle(github: GitHubStandIn, api: Client) -> None:
    created = api("POST", PULLS, json=NEW_PULL)
    assert created.status_code == 201, created.text
    pull = created.json()
    number = pull["number"]
    assert (pull["state"], pull["title"], pull["body"], pull["merged"]) == (
        "open",
        NEW_PULL["title"],
        NEW_PULL["body"],
        False,
    )
    assert (pull["head"]["ref"], pull["head"]["label"], pull["base"]["ref"]) == (BRANCH, f"{OWNER}:{BRANCH}", "main")
    assert pull["user"]["login"] == "builder-bot"
    assert pull["html_url"] == f"https://github.com/{OWNER}/{REPO}/pull/{number}"
    assert created.headers["location"] == f"{github.url}{PULLS}/{number}"

    listed = api("GET", PULLS, params={"head": f"{OWNER}:{BRANCH}", "state": "open", "per_page": 100})
    assert [p["number"] for p in listed.json()] == [number]
    assert api("GET", PULLS, params={"head": f"{OWNER}:other", "state": "open"}).json() == []
    assert api("GET", PULLS, params={"head": f"{OWNER}:{BRANCH}", "state": "closed"}).json() == []

    updated = api("PATCH", f"{PULLS}/{number}", json={"title": "fix(python): 1.4.4", "body": "new body"}).json()
    assert (updated["title"], updated["body"], updated["state"]) == ("fix(python): 1.4.4", "new body", "open")

    labels = api("POST", f"/repos/{OWNER}/{REPO}/issues/{number}/labels", json={"labels": ["security", "python"]})
    assert labels.status_code == 200
    again = api(
        "POST", f"/repos/{OWNER}/{REPO}/issues/{number}/labels", json={"labels": ["security", {"name": "rebuild"}]}
    )
    assert [label["name"] for label in again.json()] == ["security", "python", "rebuild"]

    reviewers = api("POST", f"{PULLS}/{number}/requested_reviewers", json={"reviewers": ["alice", "bob"]})
    assert reviewers.status_code == 201
    assert [user["login"] for user in reviewers.json()["requested_reviewers"]] == ["alice", "bob"]

    comment = api("POST", f"/repos/{OWNER}/{REPO}/issues/{number}/comments", json={"body": "Rebuilt."})
    assert comment.status_code == 201
    assert comment.json()["body"] == "Rebuilt."
    assert [c["body"] for c in github.comments(OWNER, REPO, number)] == ["Rebuilt."]

    duplicate = api("POST", PULLS, json=NEW_PULL)
    assert duplicate.status_code == 422
    assert duplicate.json()["message"] == "Validation Failed"
    assert duplicate.json()["errors"] == [
        {"resource": "PullRequest", "code": "custom", "message": f"A pull request already exists for {OWNER}:{BRANCH}."}
    ]

    fetched = api("GET", f"{PULLS}/{number}").json()
    assert [label["name"] for label in fetched["labels"]] == ["security", "python", "rebuild"]
    [stored] = github.pulls(OWNER, REPO)
    assert stored["title"] == "fix(python): 1.4.4"
    assert [user["login"] for user in stored["requested_reviewers"]] == ["alice", "bob"]

    closed = api("PATCH", f"{PULLS}/{number}", json={"state": "closed"}).json()
    assert (closed["state"], closed["merged"]) == ("closed", False)
    assert api("POST", PULLS, json=NEW_PULL).status_code == 201  # the closed one no longer blocks

    assert github.violations == []
    assert github.warnings == []
    assert github.response_errors == []
    assert github.api_versions == ["2022-11-28"] * len(github.requests)
    assert github.requests[:2] == [
        ("POST", PULLS),
        ("GET", f"{PULLS}?head=acme%3A{BRANCH.replace('/', '%2F')}&state=open&per_page=100"),
    ]


def test_answers_validate_against_the_response_schemas(github: GitHubStandIn, api: Client) -> None:
    number = api("POST", PULLS, json={**NEW_PULL, "draft": True}).json()["number"]
    api("POST", f"/repos/{OWNER}/{REPO}/issues/{number}/labels", json={"labels": ["security"]})
    api("POST", f"{PULLS}/{number}/requested_reviewers", json={"reviewers": ["alice"], "team_reviewers": ["core"]})
    api("POST", f"/repos/{OWNER}/{REPO}/issues/{number}/comments", json={"body": "x"})
    github.merge(OWNER, REPO, number)
    for path in (PULLS + "?state=all", f"{PULLS}/{number}", f"/repos/{OWNER}/{REPO}"):
        assert api("GET", path).status_code == 200
    assert github.response_errors == []
    assert github.violations == []
    # The stored view is what GET pulls/{number} answers before the stand-in fills unmodelled fields.
    pull_schema = github.spec.operations[2].responses["200"]
    assert github.spec.operations[2].operation_id == "pulls/get"
    completed = api("GET", f"{PULLS}/{number}").json()
    assert github.spec.errors(pull_schema, completed) == []
    assert (completed["merged"], completed["state"]) == (True, "closed")


@pytest.mark.parametrize(
    ("method", "path", "body", "problem"),
    [
        ("POST", PULLS, {"title": 5, "head": BRANCH, "base": "main"}, "body $.title: 5 is not of type 'string'"),
        ("POST", PULLS, {"title": "t", "base": "main"}, "body $: 'head' is a required property"),
        (
            "POST",
            PULLS,
            {"title": "t", "head": BRANCH, "base": "main", "draft": "yes"},
            "body $.draft: 'yes' is not of type 'boolean'",
        ),
        ("PATCH", f"{PULLS}/1", {"state": "merged"}, "body $.state: 'merged' is not one of ['open', 'closed']"),
        ("POST", "/repos/acme/images/issues/1/labels", {"labels": []}, "body $.labels: [] should be non-empty"),
        ("POST", "/repos/acme/images/issues/1/labels", ["security"], "body $: ['security'] is not of type 'object'"),
        (
            "POST",
            "/repos/acme/images/issues/1/labels",
            {"labels": [{"color": "red"}]},
            "body $.labels[0]: 'name' is a required property",
        ),
        ("POST", "/repos/acme/images/issues/1/comments", {}, "body $: 'body' is a required property"),
        ("POST", f"{PULLS}/1/requested_reviewers", {"reviewers": "alice"}, "body $.reviewers: 'alice' is not of type"),
        ("GET", f"{PULLS}/abc", None, "path parameter 'pull_number': 'abc' is not of type 'integer'"),
    ],
)
def test_invalid_requests_are_rejected_and_recorded(
    github: GitHubStandIn, api: Client, method: str, path: str, body: Any, problem: str
) -> None:
    api("POST", PULLS, json=NEW_PULL)
    answer = api(method, path, json=body)
    assert answer.status_code == 422, answer.text
    data = answer.json()
    assert data["message"].startswith("Invalid request.")
    assert data["documentation_url"].startswith("https://docs.github.com/rest/")
    assert data["errors"]
    assert all(e["code"] in ("invalid", "missing_field") for e in data["errors"])
    assert len(github.violations) == 1
    assert github.violations[0].startswith(f"{method} {path}: {problem}"), github.violations
    assert github.response_errors == []


def test_bodies_must_be_json(github: GitHubStandIn, api: Client) -> None:
    form = api("POST", PULLS, data={"title": "t", "head": BRANCH, "base": "main"})
    assert form.status_code == 422
    broken = api("POST", PULLS, data=b'{"title": ', headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    assert broken.json()["message"] == "Problems parsing JSON"
    missing = api("POST", PULLS)
    assert missing.status_code == 422
    with_body = api("GET", PULLS, json={"state": "open"})
    assert with_body.status_code == 422
    assert len(github.violations) == 4
    assert "Content-Type 'application/x-www-form-urlencoded' is not application/json" in github.violations[0]
    assert "body is not JSON" in github.violations[1]
    assert "pulls/create requires a JSON body" in github.violations[2]
    assert "pulls/list takes no request body" in github.violations[3]
    assert github.pulls(OWNER, REPO) == []


def test_query_parameters_are_checked(github: GitHubStandIn, api: Client) -> None:
    assert api("GET", PULLS, params={"state": "bogus"}).status_code == 422
    assert api("GET", PULLS, params={"per_page": 101}).status_code == 422
    assert api("GET", PULLS, params={"per_page": "many"}).status_code == 422
    assert api("GET", PULLS, params={"sort": "newest"}).status_code == 422
    assert [v.split(": ", 1)[1] for v in github.violations] == [
        "query parameter 'state': 'bogus' is not one of ['open', 'closed', 'all']",
        "query parameter 'per_page': 101 is greater than the maximum of 100",
        "query parameter 'per_page': 'many' is not of type 'integer'",
        "query parameter 'sort': 'newest' is not one of ['created', 'updated', 'popularity', 'long-running']",
    ]


def test_what_github_tolerates_is_answered_like_github_and_still_recorded(github: GitHubStandIn, api: Client) -> None:
    github.set_branch(OWNER, REPO, "bot/other")
    api("POST", PULLS, json=NEW_PULL)
    api("POST", PULLS, json={**NEW_PULL, "head": "bot/other"})
    github.violations.clear()
    # GitHub ignores a head filter without "owner:" and lists every pull request: the classic lookup bug.
    bare = api("GET", PULLS, params={"head": BRANCH})
    assert len(bare.json()) == 2
    assert "GitHub ignores this filter" in github.violations[-1]
    typo = api("GET", PULLS, params={"sate": "closed"})
    assert typo.status_code == 200
    assert "query parameter 'sate' is not one of" in github.violations[-1]
    plain = api("GET", f"/repos/{OWNER}/{REPO}", headers={"Accept": "*/*"})
    assert plain.status_code == 200
    assert "send application/vnd.github+json" in github.violations[-1]
    assert len(github.violations) == 3
    extra = api("PATCH", f"{PULLS}/1", json={"title": "x", "labels": ["security"]})
    assert extra.status_code == 200
    assert github.warnings == [
        f"PATCH {PULLS}/1: body property 'labels' is not in pulls/update's schema "
        "(base, body, maintainer_can_modify, state, title); GitHub ignores it"
    ]


def test_headers_are_checked(github: GitHubStandIn, api: Client) -> None:
    version = api("GET", f"/repos/{OWNER}/{REPO}", headers={"X-GitHub-Api-Version": "2020-01-01"})
    assert version.status_code == 400
    # requests (urllib3) always sends a User-Agent; http.client sends none.
    connection = http.client.HTTPConnection(github.url.removeprefix("http://"), timeout=10)
    try:
        connection.request(
            "GET", f"/repos/{OWNER}/{REPO}", headers={k: v for k, v in HEADERS.items() if k != "User-Agent"}
        )
        assert connection.getresponse().status == 403
    finally:
        connection.close()
    assert len(github.violations) == 2
    unversioned = api("GET", f"/repos/{OWNER}/{REPO}", headers={"X-GitHub-Api-Version": None})
    assert unversioned.status_code == 200
    assert github.api_versions == ["2020-01-01", "2022-11-28", None]


def test_a_token_is_required(github: GitHubStandIn, api: Client) -> None:
    missing = api("GET", f"/repos/{OWNER}/{REPO}", headers={"Authorization": None})
    assert missing.status_code == 401
    assert missing.json()["message"] == "Requires authentication"
    wrong = api("GET", f"/repos/{OWNER}/{REPO}", headers={"Authorization": "Bearer nope"})
    assert (wrong.status_code, wrong.json()["message"]) == (401, "Bad credentials")
    assert api("GET", f"/repos/{OWNER}/{REPO}", headers={"Authorization": "token test-token"}).status_code == 200
    assert api("POST", PULLS, json=NEW_PULL, headers={"Authorization": None}).status_code == 401
    assert github.pulls(OWNER, REPO) == []
    assert github.violations == []


def test_throttle_answers_with_a_secondary_rate_limit(github: GitHubStandIn, api: Client) -> None:
    github.throttle(times=2, retry_after=3)
    for _ in range(2):
        limited = api("POST", PULLS, json=NEW_PULL)
        assert limited.status_code == 403
        assert limited.headers["retry-after"] == "3"
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert limited.json()["message"].startswith("You have exceeded a secondary rate limit")
    assert github.pulls(OWNER, REPO) == []  # nothing happened
    assert api("POST", PULLS, json=NEW_PULL).status_code == 201
    github.throttle(retry_after=0, status=429)
    assert api("GET", PULLS).status_code == 429
    assert api("GET", PULLS).status_code == 200
    assert len(github.requests) == 5
    assert github.violations == []


def test_rate_limit_headers_on_every_answer(github: GitHubStandIn, api: Client) -> None:
    answers = [
        api("GET", f"/repos/{OWNER}/{REPO}"),
        api("GET", "/nowhere"),
        api("POST", PULLS, json={}),
        api("DELETE", f"/repos/{OWNER}/{REPO}/git/refs/heads/{BRANCH}"),
    ]
    assert [a.status_code for a in answers] == [200, 404, 422, 204]
    for used, answer in enumerate(answers, start=1):
        assert answer.headers["x-ratelimit-limit"] == "5000"
        assert answer.headers["x-ratelimit-used"] == str(used)
        assert answer.headers["x-ratelimit-remaining"] == str(5000 - used)
        assert int(answer.headers["x-ratelimit-reset"]) > 0


@pytest.mark.parametrize(
    ("method", "path", "why"),
    [
        ("GET", "/user", "no such path"),
        ("PUT", f"{PULLS}/1/merge", "no such path"),
        ("DELETE", f"{PULLS}/1", "openapi.json allows only GET, PATCH here"),
        ("GET", f"{PULLS}/", "no such path"),
    ],
)
def test_unknown_operations_are_404_and_recorded(
    github: GitHubStandIn, api: Client, method: str, path: str, why: str
) -> None:
    answer = api(method, path)
    assert answer.status_code == 404
    assert answer.json()["message"] == "Not Found"
    assert github.violations == [f"{method} {path}: not an operation of openapi.json ({why})"]


def test_github_semantics(github: GitHubStandIn, api: Client) -> None:
    missing_head = api("POST", PULLS, json={**NEW_PULL, "head": "bot/never-pushed"})
    assert missing_head.status_code == 422
    assert missing_head.json()["errors"] == [{"resource": "PullRequest", "field": "head", "code": "invalid"}]
    assert api("POST", PULLS, json={**NEW_PULL, "base": "nope"}).status_code == 422
    no_title = api("POST", PULLS, json={"head": BRANCH, "base": "main"})
    assert no_title.json()["errors"][0]["field"] == "title"
    number = api(
        "POST",
        PULLS.upper().replace("/REPOS/", "/repos/").replace("/PULLS", "/pulls"),
        json={**NEW_PULL, "head": f"{OWNER}:{BRANCH}"},
    ).json()["number"]  # names are not case sensitive
    assert api("GET", f"{PULLS}/99").status_code == 404
    assert api("GET", "/repos/acme/unknown").status_code == 404
    assert api("POST", f"/repos/{OWNER}/{REPO}/issues/99/comments", json={"body": "x"}).status_code == 404
    author = api("POST", f"{PULLS}/{number}/requested_reviewers", json={"reviewers": ["builder-bot"]})
    assert author.status_code == 422
    too_long = api("PATCH", f"{PULLS}/{number}", json={"body": "x" * 65537})
    assert too_long.json()["errors"][0]["message"] == "body is too long (maximum is 65536 characters)"
    # Deleting the head branch closes its pull request; the ref is then gone.
    deleted = api("DELETE", f"/repos/{OWNER}/{REPO}/git/refs/heads/{BRANCH}")
    assert deleted.status_code == 204
    assert github.deleted_refs == [(OWNER, REPO, f"heads/{BRANCH}")]
    assert api("GET", f"{PULLS}/{number}").json()["state"] == "closed"
    gone = api("DELETE", f"/repos/{OWNER}/{REPO}/git/refs/heads/{BRANCH}")
    assert (gone.status_code, gone.json()["message"]) == (422, "Reference does not exist")
    assert api("DELETE", f"/repos/{OWNER}/{REPO}/git/refs/heads/main").status_code == 422
    reopen = api("PATCH", f"{PULLS}/{number}", json={"state": "open"})
    assert reopen.status_code == 422
    github.set_branch(OWNER, REPO, BRANCH)
    assert api("PATCH", f"{PULLS}/{number}", json={"state": "open"}).json()["state"] == "open"
    github.merge(OWNER, REPO, number)
    merged = api("GET", f"{PULLS}/{number}").json()
    assert (merged["state"], merged["merged"], merged["merged_by"]["login"]) == ("closed", True, "builder-bot")
    assert api("PATCH", f"{PULLS}/{number}", json={"state": "open"}).status_code == 422
    assert github.violations == []
    assert github.response_errors == []


def test_list_sorts_and_paginates_like_github(github: GitHubStandIn, api: Client) -> None:
    for n in range(5):
        github.set_branch(OWNER, REPO, f"bot/{n}")
        assert api("POST", PULLS, json={**NEW_PULL, "head": f"bot/{n}"}).status_code == 201
    api("PATCH", f"{PULLS}/2", json={"state": "closed"})
    first = api("GET", PULLS, params={"per_page": 2})
    assert [p["number"] for p in first.json()] == [5, 4]  # newest first by default
    assert 'rel="next"' in first.headers["link"]
    assert "page=2" in first.headers["link"]
    last = api("GET", PULLS, params={"per_page": 2, "page": 2})
    assert [p["number"] for p in last.json()] == [3, 1]
    assert "link" not in api("GET", PULLS).headers
    assert [p["number"] for p in api("GET", PULLS, params={"state": "all", "direction": "asc"}).json()] == [
        1,
        2,
        3,
        4,
        5,
    ]
    recent = api("GET", PULLS, params={"sort": "updated", "direction": "desc", "state": "all"}).json()
    assert recent[0]["number"] == 2
    assert [p["number"] for p in api("GET", PULLS, params={"state": "closed"}).json()] == [2]
    assert "merged" not in first.json()[0]  # list items are pull-request-simple, as on GitHub
    assert github.violations == []
    assert github.response_errors == []


def test_branches_can_come_from_a_real_git_repository(tmp_path: Path, api: Client, github: GitHubStandIn) -> None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q", "--bare", "-b", "main", "remote.git")
    git("init", "-q", "-b", "main", "work")
    git(
        "-C",
        "work",
        "-c",
        "user.email=m@example.com",
        "-c",
        "user.name=M",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "start",
    )
    git("-C", "work", "push", "-q", str(tmp_path / "remote.git"), "main", "main:refs/heads/bot/pushed")
    github.add_repo(OWNER, "backed", git_dir=tmp_path / "remote.git")
    pulls = f"/repos/{OWNER}/backed/pulls"
    assert github.branches(OWNER, "backed") == ["bot/pushed", "main"]
    assert api("POST", pulls, json={**NEW_PULL, "head": "bot/never-pushed"}).status_code == 422
    created = api("POST", pulls, json={**NEW_PULL, "head": "bot/pushed"})
    assert created.status_code == 201
    assert created.json()["head"]["sha"] == git("-C", "work", "rev-parse", "HEAD")
    github.set_branch(OWNER, "backed", "bot/made-here")
    assert "bot/made-here" in git("--git-dir", "remote.git", "branch", "--list")
    assert api("DELETE", f"/repos/{OWNER}/backed/git/refs/heads/bot/pushed").status_code == 204
    assert git("--git-dir", "remote.git", "branch", "--list", "bot/pushed") == ""
    assert api("GET", f"{pulls}/1").json()["state"] == "closed"
    assert github.violations == []
    assert github.response_errors == []
