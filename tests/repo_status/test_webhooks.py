"""POST /hooks/github/: signatures, de-duplication, queueing; payloads are GitHub's own shapes
(validated against @octokit/openapi-webhooks)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django.test import Client

from safety_reset.inventory.models import Repository
from safety_reset.repo_status import tasks
from safety_reset.repo_status.models import WebhookDelivery
from tests.celery_worker import wait_until
from tests.factories import RepositoryFactory

from . import webhook_schema
from .github_fake import FakeRepo, classic_protection

pytestmark = pytest.mark.django_db
SECRET = "hook-secret-for-tests"
URL = "/hooks/github/"


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.GITHUB_WEBHOOK_SECRET = SECRET


@pytest.fixture
def web():
    """Django's test client (`client` is the GitHub client in this package's conftest)."""
    return Client()


def _post(web, event, body, *, delivery="d-1", secret=SECRET, signature=None):
    raw = json.dumps(body).encode()
    sig = signature or "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    headers = {"HTTP_X_GITHUB_EVENT": event, "HTTP_X_GITHUB_DELIVERY": delivery}
    if sig != "none":
        headers["HTTP_X_HUB_SIGNATURE_256"] = sig
    return web.post(URL, raw, content_type="application/json", **headers)


def _review_payload(full_name):
    owner, name = full_name.split("/")
    return webhook_schema.payload(
        "pull-request-review-submitted",
        repository={"full_name": full_name, "name": name, "owner": {"login": owner}},
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.celery
def test_signed_delivery_reaches_the_worker_once(web, github, system, worker):
    github.add(FakeRepo("acme/shop", protection=classic_protection()))
    repo = RepositoryFactory(system=system, full_name="acme/shop", default_branch="")
    body = _review_payload("acme/shop")
    first = _post(web, "pull_request_review", body)
    assert first.status_code == 202
    wait_until(lambda: Repository.objects.get(pk=repo.pk).last_success_at is not None)
    wait_until(lambda: WebhookDelivery.objects.filter(processed_at__isnull=False).exists())
    pulled = len(github.log)
    assert ("/repos/acme/shop", 200) in github.log
    again = _post(web, "pull_request_review", body)  # GitHub redelivers the same id
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    time.sleep(2)  # what a second evaluation would need to start; none may
    assert len(github.log) == pulled
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize("signature", ["none", "sha256=" + "0" * 64, "sha1=abc"])
def test_missing_or_bad_signature_is_401_and_records_nothing(web, signature):
    response = _post(web, "push", {"zen": "x"}, signature=signature)
    assert response.status_code == 401
    assert "X-Hub-Signature-256" in response.json()["detail"]
    assert not WebhookDelivery.objects.exists()


def test_wrong_secret_is_401(web):
    assert _post(web, "push", {}, secret="another").status_code == 401


def test_no_configured_secret_refuses_everything(web, settings):
    settings.GITHUB_WEBHOOK_SECRET = ""
    assert _post(web, "push", {}, secret="").status_code == 401


def test_bad_input_names_the_problem(web):
    raw = b"not json"
    sig = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    response = web.post(
        URL,
        raw,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="push",
        HTTP_X_GITHUB_DELIVERY="d-2",
        HTTP_X_HUB_SIGNATURE_256=sig,
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]
    assert _post(web, "push", {}, delivery="").status_code == 400
    assert _post(web, "gollum", {}).status_code == 202
    assert web.get(URL).status_code == 405
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    ("event", "name"),
    [
        ("pull_request", "pull-request-synchronize"),
        ("push", "push"),
        ("branch_protection_rule", "branch-protection-rule-edited"),
        ("repository_ruleset", "repository-ruleset-edited"),
    ],
)
def test_each_event_re_pulls_its_repository(
    web, system, django_capture_on_commit_callbacks, event, name
):
    RepositoryFactory(system=system, full_name="acme/api")
    # The event's own repository shape where it has one (push differs), else the common one.
    repository = (
        webhook_schema.payload(name).get("repository")
        or (webhook_schema.payload("pull-request-synchronize")["repository"])
    )
    body = webhook_schema.payload(name, repository={**repository, "full_name": "acme/api"})
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert _post(web, event, body, delivery=f"d-{event}").status_code == 202
    assert len(queued) == 1
    row = WebhookDelivery.objects.get()
    assert (row.event, row.repository_full_name) == (event, "acme/api")
    assert tasks.handle_delivery.run(row.pk) == 1  # one repository to re-pull
    assert tasks.handle_delivery.run(row.pk) == 0  # processed: never twice


def test_installation_repositories_added_are_pulled(
    web, system, django_capture_on_commit_callbacks
):
    RepositoryFactory(system=system, full_name="acme/new")
    body = webhook_schema.payload(
        "installation-repositories-added",
        repositories_added=[
            {"id": 1, "node_id": "x", "name": "new", "full_name": "acme/new", "private": True}
        ],
    )
    with django_capture_on_commit_callbacks(execute=False):
        assert _post(web, "installation_repositories", body).status_code == 202
    assert tasks.handle_delivery.run(WebhookDelivery.objects.get().pk) == 1
