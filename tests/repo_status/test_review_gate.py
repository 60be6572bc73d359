"""The review gate: a commit status `code-safety-reset/review` on every open pull request of a
Tier-1 GitHub repository, posted at the local GitHub stand-in (whose POST bodies are validated
against GitHub's OpenAPI description), from webhook deliveries through a real worker and from
the periodic sync."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.test import Client
from django.utils import timezone

from safety_reset.inventory.models import Repository
from safety_reset.repo_status.models import ChangeReviewRecord, ReviewGateStatus, WebhookDelivery
from safety_reset.repo_status.providers.base import ChangeData, ReviewData
from safety_reset.repo_status.rules import (
    REVIEW_GATE_CONTEXT,
    REVIEW_GATE_CONTROL,
    STATUS_DESCRIPTION_LIMIT,
    AiPolicy,
    ReviewVerdict,
    Seniors,
    gate_status,
    protection_verdicts,
    review_verdict,
)
from safety_reset.repo_status.selectors import repository_panel
from safety_reset.repo_status.services import change_store, repository_sync
from tests.celery_worker import wait_until as wait_for
from tests.factories import RepositoryFactory, SystemFactory

from . import webhook_schema
from .github_fake import (
    FakePull,
    FakeRepo,
    classic_protection,
    pull_request_rule,
    ruleset,
    status_checks_rule,
)

pytestmark = pytest.mark.django_db
SECRET = "gate-hook-secret"
NOW = timezone.now().replace(microsecond=0)
NEEDS_SENIOR = (
    "AI-assisted: needs 1 more human approval after the last push, one from a senior reviewer: "
    "@sally-senior"
)


def ago(hours: float) -> dt.datetime:
    return NOW - dt.timedelta(hours=hours)


def ai_pull(number: int = 7, *, reviews=None) -> FakePull:
    return FakePull(
        number,
        author="dev",
        merged_at=None,
        open=True,
        labels=["ai-assisted"],
        commits=[("Add the thing\n\nAssisted-by: Claude:claude-sonnet-4", ago(3), "dev")],
        reviews=reviews if reviews is not None else [("rita", "APPROVED", ago(2), "")],
    )


def gated_repo(system, github, *pulls: FakePull, name: str = "acme/shop", **kw) -> Repository:
    kw.setdefault("protection", classic_protection(checks=("ci/tests", REVIEW_GATE_CONTEXT)))
    github.add(FakeRepo(name, pulls=list(pulls), **kw))
    return RepositoryFactory(system=system, full_name=name, default_branch="")


def _deliver(web, body, delivery):
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return web.post(
        "/hooks/github/",
        raw,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="pull_request_review",
        HTTP_X_GITHUB_DELIVERY=delivery,
        HTTP_X_HUB_SIGNATURE_256=signature,
    )


def _review_event(full_name: str, number: int) -> dict:
    owner, name = full_name.split("/")
    return webhook_schema.payload(
        "pull-request-review-submitted",
        repository={"full_name": full_name, "name": name, "owner": {"login": owner}},
        pull_request={"number": number, "state": "open"},
    )


def _settled(repo_pk: int, delivery: str, after: dt.datetime | None):
    """The delivery was handled and the re-pull it queued has finished."""

    def done() -> bool:
        row = WebhookDelivery.objects.filter(delivery_id=delivery).first()
        synced = Repository.objects.get(pk=repo_pk).last_success_at
        return bool(row and row.processed_at and synced and (after is None or synced > after))

    return done


@pytest.mark.django_db(transaction=True)
@pytest.mark.celery
def test_signed_review_delivery_posts_the_status_once_through_the_worker(
    github, system, worker, settings
):
    settings.GITHUB_WEBHOOK_SECRET = SECRET
    pull = ai_pull()
    repo = gated_repo(system, github, pull)
    web = Client()
    body = _review_event("acme/shop", 7)

    assert _deliver(web, body, "gate-1").status_code == 202
    wait_for(_settled(repo.pk, "gate-1", None))
    assert len(github.posted) == 1  # the re-pull after it found the same status posted
    full_name, sha, posted = github.posted[0]
    assert (full_name, sha) == ("acme/shop", pull.head_sha)
    assert posted["state"] == "pending"
    assert posted["context"] == REVIEW_GATE_CONTEXT
    assert posted["description"] == NEEDS_SENIOR
    assert posted["target_url"].endswith(f"/systems/{system.slug}/")

    # The same event again (a new delivery, nothing changed on GitHub): nothing new is posted.
    synced = Repository.objects.get(pk=repo.pk).last_success_at
    assert _deliver(web, body, "gate-2").status_code == 202
    wait_for(_settled(repo.pk, "gate-2", synced))
    assert len(github.posted) == 1

    # The senior approves: the next review event turns the gate green.
    pull.reviews.append(("sally-senior", "APPROVED", ago(1), ""))
    synced = Repository.objects.get(pk=repo.pk).last_success_at
    assert _deliver(web, body, "gate-3").status_code == 202
    wait_for(_settled(repo.pk, "gate-3", synced))
    assert [p[2]["state"] for p in github.posted] == ["pending", "success"]
    assert github.posted[1][2]["description"] == (
        "AI-assisted: 2 human approvals after the last push, one by a senior reviewer."
    )
    row = ReviewGateStatus.objects.get(repository=repo, sha=pull.head_sha)
    assert (row.state, row.pull_number) == ("success", 7)


def test_periodic_sync_gates_every_open_pull_request_and_bots_need_no_ai_review(
    github, client, system
):
    bump = FakePull(
        8,
        author="dependabot[bot]",
        author_bot=True,
        merged_at=None,
        open=True,
        commits=[("Bump django from 5.2.1 to 5.2.2", ago(3), "dependabot[bot]")],
        reviews=[("rita", "APPROVED", ago(2), "")],
    )
    merged = FakePull(3, author="dev", merged_at=ago(30))  # merged: never gated
    repo = gated_repo(system, github, ai_pull(), bump, merged)

    result = repository_sync(repository=repo, client=client, now=NOW)
    assert result.ok, result.error
    assert result.gate_posted == 2
    by_sha = {sha: body for _, sha, body in github.posted}
    assert by_sha[bump.head_sha]["state"] == "success"
    assert by_sha[bump.head_sha]["description"] == "Reviewed: 1 human approval after the last push."
    assert by_sha[ai_pull().head_sha]["description"] == NEEDS_SENIOR
    assert merged.head_sha not in by_sha

    again = repository_sync(repository=repo, client=client, now=NOW)
    assert again.ok
    assert again.gate_posted == 0
    assert len(github.posted) == 2


def test_not_tier_one_or_not_open_is_not_gated(github, client, senior):
    system = SystemFactory(senior_reviewer=senior, tier=2)
    repo = gated_repo(system, github, ai_pull())
    assert repository_sync(repository=repo, client=client, now=NOW).ok
    assert github.posted == []
    assert not any("state=open" in path for path, _ in github.log)


def test_a_token_that_may_not_write_statuses_is_named(github, client, system):
    repo = gated_repo(system, github, ai_pull())
    github.fail(r"/statuses/", 403, message="Resource not accessible by integration")
    result = repository_sync(repository=repo, client=client, now=NOW)
    assert not result.ok
    repo.refresh_from_db()
    assert "Commit statuses: write" in repo.last_error
    assert not ReviewGateStatus.objects.exists()  # nothing recorded as posted


def test_gate_and_compliance_figures_agree(system):
    """The gate's state and the stored record's compliance come from the same verdict."""
    policy = AiPolicy.from_settings()
    seniors = Seniors.of([system.senior_reviewer])
    repo = RepositoryFactory(system=system, full_name="acme/shop")
    for number, reviewers in enumerate([["rita"], ["rita", "sally-senior"], ["rita", "ron"]], 1):
        change = ChangeData(
            number=number,
            title="x",
            url="",
            author_login="dev",
            author_is_bot=False,
            merged_at=ago(1),
            updated_at=ago(1),
            head_sha="c" * 40,
            labels=["ai-assisted"],
            reviews=[
                ReviewData(login=r, is_bot=False, state="APPROVED", submitted_at=ago(1))
                for r in reviewers
            ],
        )
        record = change_store(repository=repo, change=change, policy=policy, seniors=seniors)
        state, _ = gate_status(
            review_verdict(change, policy=policy, seniors=seniors), seniors=seniors
        )
        assert record.compliant == (state == "success")
    assert list(
        ChangeReviewRecord.objects.order_by("number").values_list("compliant", flat=True)
    ) == [
        False,
        True,
        False,
    ]


@pytest.mark.parametrize(
    ("ai", "count", "senior", "expected"),
    [
        (
            True,
            0,
            False,
            "AI-assisted: needs 2 more human approvals after the last push, one from a senior reviewer: @alice, @bob",
        ),
        (
            True,
            1,
            False,
            "AI-assisted: needs 1 more human approval after the last push, one from a senior reviewer: @alice, @bob",
        ),
        (
            True,
            2,
            False,
            "AI-assisted: needs 1 more human approval after the last push, one from a senior reviewer: @alice, @bob",
        ),
        (True, 1, True, "AI-assisted: needs 1 more human approval after the last push."),
        (
            False,
            0,
            False,
            "Needs 1 human approval after the last push by someone who did not write it.",
        ),
    ],
)
def test_pending_says_exactly_what_is_missing(ai, count, senior, expected):
    approvals = [{"login": f"p{i}", "senior": senior and i == 0} for i in range(count)]
    verdict = ReviewVerdict(
        ai_assisted=ai,
        ai_signals=["label: ai-assisted"] if ai else [],
        approvals=approvals,
        senior_approved=senior,
        compliant=False,
        needed=2 if ai else 1,
    )
    seniors = Seniors(logins=frozenset({"bob", "alice"}))
    assert gate_status(verdict, seniors=seniors) == ("pending", expected)


def test_description_fits_githubs_limit():
    verdict = ReviewVerdict(
        ai_assisted=True,
        ai_signals=["x"],
        approvals=[],
        senior_approved=False,
        compliant=False,
        needed=2,
    )
    many = Seniors(logins=frozenset(f"senior-reviewer-{i:02}" for i in range(12)))
    state, text = gate_status(verdict, seniors=many)
    assert state == "pending"
    assert len(text) <= STATUS_DESCRIPTION_LIMIT
    assert text.endswith(", …")
    assert "@senior-reviewer-00" in text
    _, none = gate_status(verdict, seniors=Seniors())
    assert none.endswith("(none is set for the system).")


# --- Whether merging requires the gate: the control and the panel ----------------------------


def test_ruleset_requiring_the_status_passes_the_control_and_shows_on_the_panel(
    github, client, system
):
    repo = gated_repo(
        system,
        github,
        protection=None,
        rules=[pull_request_rule(11), status_checks_rule(11, "ci/tests", REVIEW_GATE_CONTEXT)],
        rulesets={11: ruleset(11)},
    )
    assert repository_sync(repository=repo, client=client, now=NOW).ok
    repo.refresh_from_db()
    passing, why = protection_verdicts(repo.status)[REVIEW_GATE_CONTROL]
    assert passing is True
    assert "ruleset:11" in why
    row = repository_panel(system=system).rows[0]
    assert row.gate_required is True


def test_protection_without_the_status_fails_and_unreadable_is_unknown(github, client, system):
    plain = gated_repo(system, github, protection=classic_protection(checks=("ci/tests",)))
    denied = gated_repo(
        system,
        github,
        name="acme/denied",
        protection=classic_protection(),
        protection_denied=(404, "Not Found"),
    )
    for repo in (plain, denied):
        assert repository_sync(repository=repo, client=client, now=NOW).ok
        repo.refresh_from_db()
    assert protection_verdicts(plain.status)[REVIEW_GATE_CONTROL][0] is False
    assert protection_verdicts(denied.status)[REVIEW_GATE_CONTROL][0] is None
    rows = {r.repository.full_name: r for r in repository_panel(system=system).rows}
    assert rows["acme/shop"].gate_required is False
    assert rows["acme/denied"].gate_required is None


def test_panel_page_shows_the_requirement(github, client, system, admin_client):
    repo = gated_repo(system, github)
    assert repository_sync(repository=repo, client=client, now=NOW).ok
    page = admin_client.get(f"/systems/{system.slug}/repositories/")
    assert page.status_code == 200
    assert 'data-gate-required="yes"' in page.content.decode()
    assert f"merging waits for {REVIEW_GATE_CONTEXT}" in page.content.decode()
