"""Real GitHub exchanges recorded by @octokit/fixtures (tests/repo_status/recorded/), replayed
through our GitHub client: branch protection, pagination, a renamed repository, a commit status.

The replay answers each request with the next recorded exchange of the same method and path
(query included) and fails on a request nothing recorded, so the client is held to what
GitHub really answered, headers (`Link`, `Location`) and all.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from django.core.cache.backends.locmem import LocMemCache

from safety_reset.repo_status.providers.github import GitHubProvider, merge_protection
from safety_reset.repo_status.providers.http import GitHubClient, Missing

from . import openapi

RECORDED = Path(__file__).parent / "recorded"
API = "https://api.github.com"
KEPT_HEADERS = ("link", "location", "etag", "content-type")


class Replay:
    def __init__(self, scenario: str) -> None:
        self.exchanges: list[dict[str, Any]] = json.loads(
            (RECORDED / f"{scenario}.json").read_text()
        )
        self.used: set[int] = set()
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.raw_path.decode()
        for index, exchange in enumerate(self.exchanges):
            if index in self.used:
                continue
            if exchange["method"].upper() == request.method and exchange["path"] == path:
                self.used.add(index)
                headers = {k: v for k, v in exchange["headers"].items() if k in KEPT_HEADERS}
                body = exchange["response"]
                content = b"" if body == "" else json.dumps(body).encode()
                return httpx.Response(exchange["status"], headers=headers, content=content)
        raise AssertionError(f"nothing recorded for {request.method} {path}")

    def body(self, index: int) -> Any:
        return self.exchanges[index]["body"]

    def client(self) -> GitHubClient:
        return GitHubClient(
            base_url=API,
            token="0000000000000000000000000000000000000001",
            cache=LocMemCache(f"replay-{uuid.uuid4()}", {}),
            transport=httpx.MockTransport(self),
        )


def test_unprotected_branch_is_the_404_branch_not_protected():
    replay = Replay("branch-protection")
    with replay.client() as client:
        answer = client.get_or_missing(
            "/repos/octokit-fixture-org/branch-protection/branches/main/protection"
        )
    # The provider reads exactly this 404 as "no protection" (any other 404 is unknown).
    assert isinstance(answer, Missing)
    assert (answer.status, answer.message) == (404, "Branch not protected")
    sent = replay.requests[0]
    assert sent.headers["Accept"] == "application/vnd.github+json"
    assert sent.headers["Authorization"] == "Bearer 0000000000000000000000000000000000000001"


def test_protection_objects_github_returned_are_read_as_recorded():
    replay = Replay("branch-protection")
    # GitHub's answers to setting protection: the same object a GET of protection returns.
    strict = replay.exchanges[2]["response"]
    # Not validated against today's OpenAPI description: the recording (2022) predates the
    # `type` its teams must now carry; the fields the provider reads are all there.
    seen = merge_protection(classic=strict, rules=[], rulesets={})
    assert seen.sources == ["classic"]
    assert seen.required_checks == ["foo/bar"]
    assert seen.dismiss_stale_reviews is True
    assert seen.code_owner_review is False
    assert (
        seen.required_approvals
        == strict["required_pull_request_reviews"]["required_approving_review_count"]
    )
    assert seen.admins_enforced is strict["enforce_admins"]["enabled"]
    loose = merge_protection(classic=replay.exchanges[1]["response"], rules=[], rulesets={})
    assert (loose.required_approvals, loose.required_checks, loose.admins_enforced) == (
        0,
        [],
        False,
    )


def test_pagination_follows_githubs_link_headers_to_the_last_page():
    replay = Replay("paginate-issues")
    with replay.client() as client:
        pages = list(
            client.paginate("/repos/octokit-fixture-org/paginate-issues/issues", {"per_page": 3})
        )
    assert len(pages) == 5
    assert len(replay.used) == 5  # every recorded page, each once
    numbers = [issue["number"] for page in pages for issue in page.data]
    assert len(numbers) == len(set(numbers)) == sum(len(p.data) for p in pages)
    # The Link headers point at /repositories/{id}/…: followed on the same host.
    assert {urlsplit(str(r.url)).path for r in replay.requests[1:]} == {"/repositories/1000/issues"}


def test_renamed_repository_is_followed_through_the_301():
    replay = Replay("rename-repository")
    with replay.client() as client:
        page = client.get("/repos/octokit-fixture-org/rename-repository")
    assert page.data["full_name"] == "octokit-fixture-org/rename-repository-newname"
    assert [r.url.path for r in replay.requests] == [
        "/repos/octokit-fixture-org/rename-repository",
        "/repositories/1000",
    ]


@pytest.mark.parametrize("index", [0, 1])
def test_commit_status_is_posted_as_github_recorded_it(index):
    replay = Replay("create-status")
    recorded = replay.body(index)
    with replay.client() as client:
        provider = GitHubProvider(client=client, full_name="octokit-fixture-org/create-status")
        provider.post_status(
            sha="0000000000000000000000000000000000000001",
            state=recorded["state"],
            description=recorded["description"],
            target_url=recorded["target_url"],
            context=recorded["context"],
        )
    sent = json.loads(replay.requests[0].content)
    assert sent == recorded
    openapi.validate_request_body("/repos/{owner}/{repo}/statuses/{sha}", "post", sent)
