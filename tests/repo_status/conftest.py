"""Fixtures of the repo_status tests: a GitHub stand-in on 127.0.0.1, validated by OpenAPI."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from safety_reset.catalog.models import Evaluation
from safety_reset.repo_status.providers.http import GitHubClient
from safety_reset.repo_status.rules import AUTOMATED_CONTROLS
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    ControlFactory,
    PersonFactory,
    SeniorFactory,
    SystemFactory,
)

from .github_fake import FakeGitHub

TOKEN = "ghp_test_token_not_real"


@pytest.fixture(scope="session")
def github_server() -> Iterator[HTTPServer]:
    # Threaded, so a scenario that sleeps (a timeout) does not block the next request.
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


@pytest.fixture
def github(github_server: HTTPServer, settings) -> Iterator[FakeGitHub]:
    """The fake GitHub, with settings pointing at it. Fails the test on any OpenAPI mismatch."""
    base = github_server.url_for("").rstrip("/")
    fake = FakeGitHub(base)
    github_server.clear()
    for method in ("GET", "POST"):  # POST: the review gate's commit statuses
        github_server.expect_request(re.compile(r"^/.*"), method=method).respond_with_handler(
            fake.handle
        )
    settings.GITHUB_API_URL = base
    settings.GITHUB_TOKEN = TOKEN
    settings.REPO_HTTP_TIMEOUT = 5.0
    yield fake
    assert fake.errors == [], "\n".join(fake.errors)


@pytest.fixture
def client(github: FakeGitHub) -> Iterator[GitHubClient]:
    with GitHubClient(base_url=github.base_url, token=TOKEN, timeout=5.0) as gh:
        yield gh


@pytest.fixture
def automated_audit(db):
    """An audit whose checklist holds the six automated controls."""
    audit = AuditFactory()
    items = {}
    for key in AUTOMATED_CONTROLS:
        control = ControlFactory(
            catalog=audit.program.catalog, key=key, title=key, evaluation=Evaluation.AUTOMATED
        )
        items[key] = ChecklistItemFactory(audit=audit, control=control)
    audit.items_by_key = items
    return audit


@pytest.fixture
def senior(db):
    return SeniorFactory(github_login="sally-senior", email="sally@example.test")


@pytest.fixture
def system(senior):
    """A system whose senior reviewer is `senior` (GitHub login sally-senior)."""
    return SystemFactory(senior_reviewer=senior, owner=PersonFactory(github_login="olly-owner"))


@pytest.fixture
def mirrors(settings, tmp_path):
    """Plain-git mirrors under the test's own directory."""
    settings.REPO_MIRROR_DIR = tmp_path / "mirrors"
    return settings.REPO_MIRROR_DIR
