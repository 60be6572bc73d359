"""The OpenAPI guard itself: it must reject what GitHub would not send or accept."""

from __future__ import annotations

import json

import pytest

from scripts.extract_github_openapi import OPERATIONS

from . import openapi
from .github_fake import FakePull, FakeRepo


def test_subset_holds_every_operation_the_client_uses():
    paths = openapi.document()["paths"]
    assert {(m, p) for p in paths for m in paths[p]} == set(OPERATIONS)
    raw = json.loads(openapi.SUBSET.read_text())
    assert raw["info"]["x-extracted-by"] == "scripts/extract_github_openapi.py"


def test_a_pull_request_missing_a_required_field_is_rejected():
    pull = openapi.component("pull-request-simple", number=1)
    openapi.validate_response("/repos/{owner}/{repo}/pulls", "get", 200, [pull])
    del pull["head"]
    with pytest.raises(openapi.OpenAPIError, match="head"):
        openapi.validate_response("/repos/{owner}/{repo}/pulls", "get", 200, [pull])


def test_a_wrong_type_is_rejected():
    review = openapi.component("pull-request-review", state="APPROVED")
    review["submitted_at"] = 12
    with pytest.raises(openapi.OpenAPIError):
        openapi.validate_response(
            "/repos/{owner}/{repo}/pulls/{pull_number}/reviews", "get", 200, [review]
        )


def test_requests_are_matched_and_checked():
    template, params = openapi.match_request(
        "GET", "/repos/acme/x/pulls/12/reviews", {"per_page": ["100"]}
    )
    assert template.endswith("/reviews")
    assert params["pull_number"] == "12"
    with pytest.raises(openapi.OpenAPIError, match="no query parameter"):
        openapi.match_request("GET", "/repos/acme/x/pulls", {"since": ["2025-01-01"]})
    with pytest.raises(openapi.OpenAPIError):
        openapi.match_request("GET", "/repos/acme/x/pulls", {"state": ["merged"]})
    with pytest.raises(openapi.OpenAPIError, match="not an operation"):
        openapi.match_request("GET", "/repos/acme/x/pulls/1/files", {})


def test_scenario_payloads_are_valid(github_server):
    from .github_fake import FakeGitHub, classic_protection

    fake = FakeGitHub("http://127.0.0.1:1")
    repo = FakeRepo("acme/x", protection=classic_protection(), pulls=[FakePull(1, "a", None)])
    openapi.validate_response("/repos/{owner}/{repo}", "get", 200, fake._repository(repo))
    openapi.validate_response(
        "/repos/{owner}/{repo}/branches/{branch}", "get", 200, fake._branch(repo)
    )
    openapi.validate_response(
        "/repos/{owner}/{repo}/branches/{branch}/protection", "get", 200, repo.protection
    )
