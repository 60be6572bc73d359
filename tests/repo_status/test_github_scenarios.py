"""Scenario tests of the GitHub provider and the sync service against the local stand-in.

Every request and every response here is validated against GitHub's OpenAPI description by
the `github` fixture.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from safety_reset.audits.models import ItemStatus
from safety_reset.repo_status.models import ChangeReviewRecord
from safety_reset.repo_status.services import repository_sync
from tests.factories import RepositoryFactory, SignOffFactory

from .github_fake import (
    FakePull,
    FakeRepo,
    classic_protection,
    pull_request_rule,
    ruleset,
    status_checks_rule,
)

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def ago(hours: float) -> dt.datetime:
    return NOW - dt.timedelta(hours=hours)


def make_repo(system, github, fake: FakeRepo):
    github.add(fake)
    return RepositoryFactory(system=system, full_name=fake.full_name, default_branch="")


def sync(repo, client=None):
    result = repository_sync(repository=repo, client=client, now=NOW)
    repo.refresh_from_db()
    return result


# --- Protection ------------------------------------------------------------------------------


def test_protected_branch_with_classic_protection(github, client, system):
    repo = make_repo(system, github, FakeRepo("acme/shop", protection=classic_protection()))
    result = sync(repo, client)
    assert result.ok, result.error
    seen = repo.status["protection"]
    assert seen["sources"] == ["classic"]
    assert seen["required_approvals"] == 2
    assert seen["dismiss_stale_reviews"]
    assert seen["code_owner_review"]
    assert seen["admins_enforced"]
    assert seen["required_checks"] == ["ci/tests"]
    assert repo.status["codeowners_path"] == ".github/CODEOWNERS"
    assert repo.default_branch == "main"
    assert repo.last_success_at == NOW
    assert repo.last_error == ""


def test_unprotected_branch(github, client, system):
    repo = make_repo(system, github, FakeRepo("acme/open", protection=None, codeowners=None))
    assert sync(repo, client).ok
    seen = repo.status["protection"]
    assert seen["sources"] == []
    assert seen["required_approvals"] == 0
    assert not seen["admins_enforced"]
    assert seen["required_checks"] == []
    assert repo.status["codeowners_path"] is None
    # Unprotected: the classic protection endpoint is not even asked.
    assert not any(p.endswith("/protection") for p, _ in github.log)


def test_rulesets_only(github, client, system):
    fake = FakeRepo(
        "acme/rules",
        rules=[pull_request_rule(7, approvals=2), status_checks_rule(7, "build", "test")],
        rulesets={7: ruleset(7)},
        codeowners="docs/CODEOWNERS",
    )
    repo = make_repo(system, github, fake)
    assert sync(repo, client).ok
    seen = repo.status["protection"]
    assert seen["sources"] == ["ruleset:7"]
    assert seen["required_approvals"] == 2
    assert seen["dismiss_stale_reviews"]
    assert seen["admins_enforced"]
    assert seen["bypass_actors"] == []
    assert seen["required_checks"] == ["build", "test"]
    assert repo.status["codeowners_path"] == "docs/CODEOWNERS"


def test_strictest_of_classic_and_rulesets(github, client, system):
    fake = FakeRepo(
        "acme/both",
        protection=classic_protection(approvals=1, dismiss_stale=False, checks=()),
        rules=[pull_request_rule(3, approvals=3)],
        rulesets={3: ruleset(3)},
    )
    repo = make_repo(system, github, fake)
    assert sync(repo, client).ok
    seen = repo.status["protection"]
    assert seen["required_approvals"] == 3
    assert seen["dismiss_stale_reviews"]
    assert seen["sources"] == ["classic", "ruleset:3"]


def test_ruleset_bypass_actor_is_an_admin_exemption(github, client, system):
    bypass = [{"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}]
    fake = FakeRepo(
        "acme/bypass",
        protection=classic_protection(enforce_admins=True),
        rules=[pull_request_rule(9)],
        rulesets={9: ruleset(9, bypass=bypass)},
    )
    repo = make_repo(system, github, fake)
    assert sync(repo, client).ok
    seen = repo.status["protection"]
    assert not seen["admins_enforced"]
    assert seen["bypass_actors"][0]["actor_type"] == "RepositoryRole"


# --- Changes and the review rule -------------------------------------------------------------


def _pulls() -> list[FakePull]:
    push = ago(30)
    return [
        # 1. Labelled AI-assisted, approved by the senior and a peer after the last push.
        FakePull(
            1,
            "dev-a",
            ago(10),
            labels=["ai-assisted"],
            commits=[("Add cache", push, "dev-a")],
            reviews=[
                ("sally-senior", "APPROVED", ago(20), ""),
                ("peer-b", "APPROVED", ago(19), ""),
            ],
        ),
        # 2. Trailer-marked, two approvals but no senior.
        FakePull(
            2,
            "dev-a",
            ago(11),
            commits=[("Refactor\n\nAssisted-by: Claude", push, "dev-a")],
            reviews=[("peer-b", "APPROVED", ago(20), ""), ("peer-c", "APPROVED", ago(20), "")],
        ),
        # 3. Co-authored by Copilot; the senior's approval is stale (before the last push).
        FakePull(
            3,
            "dev-a",
            ago(12),
            commits=[
                ("Start", ago(40), "dev-a"),
                (
                    "Fix\n\nCo-authored-by: Copilot <175728472+Copilot@users.noreply.github.com>",
                    push,
                    "dev-a",
                ),
            ],
            reviews=[
                ("sally-senior", "APPROVED", ago(35), "0" * 40),
                ("peer-b", "APPROVED", ago(20), ""),
            ],
        ),
        # 4. AI-labelled, approved by its author and the senior.
        FakePull(
            4,
            "dev-a",
            ago(13),
            labels=["AI-Assisted"],
            commits=[("Tweak", push, "dev-a")],
            reviews=[("dev-a", "APPROVED", ago(20), ""), ("sally-senior", "APPROVED", ago(20), "")],
        ),
        # 5. Agent-authored, assigned by dev-d, who approves with the senior.
        FakePull(
            5,
            "Copilot",
            ago(14),
            author_bot=True,
            assignees=["dev-d", "Copilot"],
            commits=[("Agent work\n\nCo-authored-by: dev-d <dev-d@example.test>", push, "Copilot")],
            reviews=[("dev-d", "APPROVED", ago(20), ""), ("sally-senior", "APPROVED", ago(20), "")],
        ),
        # 6. Not AI-assisted, one peer approval: compliant; a bot's approval never counts.
        FakePull(
            6,
            "dev-e",
            ago(15),
            commits=[("Docs", push, "dev-e")],
            reviews=[
                ("peer-b", "APPROVED", ago(20), ""),
                ("renovate[bot]", "APPROVED", ago(20), ""),
            ],
        ),
        # 7. Closed without merge: not a change.
        FakePull(7, "dev-e", None, updated_at=ago(16)),
    ]


def test_merged_changes_and_the_review_rule(github, client, system):
    repo = make_repo(
        system, github, FakeRepo("acme/changes", protection=classic_protection(), pulls=_pulls())
    )
    result = sync(repo, client)
    assert result.ok, result.error
    assert result.changes == 6
    records = {r.number: r for r in ChangeReviewRecord.objects.filter(repository=repo)}
    assert set(records) == {1, 2, 3, 4, 5, 6}

    one = records[1]
    assert one.ai_assisted
    assert one.compliant
    assert one.senior_approved
    assert one.approval_count == 2
    assert one.ai_signals == ["label: ai-assisted"]

    two = records[2]
    assert two.ai_assisted
    assert not two.compliant
    assert not two.senior_approved
    assert two.ai_signals == ["trailer Assisted-by: Claude"]
    assert two.approval_count == 2

    three = records[3]
    assert three.ai_assisted
    assert not three.compliant
    assert not three.senior_approved
    assert any("stale" in f and "sally-senior" in f for f in three.findings)

    four = records[4]
    assert four.ai_assisted
    assert not four.compliant
    assert four.senior_approved
    assert four.approval_count == 1
    assert any(f.startswith("dev-a") for f in four.findings)

    five = records[5]
    assert five.ai_assisted
    assert not five.compliant
    assert "agent author: Copilot" in five.ai_signals
    assert [a["login"] for a in five.approvals] == ["sally-senior"]
    assert any("dev-d" in f and "assigned" in f for f in five.findings)

    six = records[6]
    assert not six.ai_assisted
    assert six.compliant
    assert six.approval_count == 1
    assert any("bot" in f for f in six.findings)


def test_pagination_over_several_pages(github, client, system):
    github.page_size = 2
    pulls = [
        FakePull(
            n,
            "dev-a",
            ago(n),
            labels=["ai-assisted"],
            commits=[("c", ago(50), "dev-a")],
            reviews=[
                ("sally-senior", "APPROVED", ago(40), ""),
                ("peer-b", "APPROVED", ago(40), ""),
                ("peer-c", "COMMENTED", ago(39), ""),
            ],
        )
        for n in range(1, 8)
    ]
    repo = make_repo(
        system, github, FakeRepo("acme/pages", protection=classic_protection(), pulls=pulls)
    )
    result = sync(repo, client)
    assert result.ok, result.error
    assert ChangeReviewRecord.objects.filter(repository=repo, compliant=True).count() == 7
    pull_pages = [p for p, _ in github.log if "/pulls?" in p and "state=closed" in p]
    assert len(pull_pages) == 4  # 7 pull requests, 2 per page
    review_pages = [p for p, _ in github.log if p.startswith("/repos/acme/pages/pulls/1/reviews")]
    assert len(review_pages) == 2  # 3 reviews, 2 per page


def test_second_pull_with_nothing_changed_is_304s_from_the_etag_cache(github, client, system):
    repo = make_repo(
        system, github, FakeRepo("acme/etag", protection=classic_protection(), pulls=_pulls())
    )
    assert sync(repo, client).ok
    first = list(github.statuses())
    assert 304 not in first
    github.reset_log()
    before = {r.number: (r.compliant, r.approval_count) for r in ChangeReviewRecord.objects.all()}

    assert sync(repo, client).ok
    # Only conditional requests, all answered 304: repository, branch, protection, rules, pulls,
    # open pulls (the review gate).
    assert github.statuses() == [304] * 6
    assert {
        r.number: (r.compliant, r.approval_count) for r in ChangeReviewRecord.objects.all()
    } == before
    assert repo.status["protection"]["required_approvals"] == 2


def test_review_after_merge_is_picked_up(github, client, system):
    fake = github.add(FakeRepo("acme/late", protection=classic_protection(), pulls=_pulls()[1:2]))
    repo = RepositoryFactory(system=system, full_name="acme/late")
    assert sync(repo, client).ok
    assert not ChangeReviewRecord.objects.get(repository=repo, number=2).compliant
    # The senior reviews after the fact; GitHub bumps the pull request's updated_at.
    pull = fake.pulls[0]
    pull.reviews.append(("sally-senior", "APPROVED", ago(1), ""))
    pull.updated_at = ago(0.5)
    assert sync(repo, client).ok
    record = ChangeReviewRecord.objects.get(repository=repo, number=2)
    assert record.compliant
    assert record.senior_approved
    assert record.approval_count == 3


def test_changes_requested_after_approval_withdraws_it(github, client, system):
    pull = FakePull(
        1,
        "dev-a",
        ago(5),
        labels=["ai-assisted"],
        commits=[("c", ago(50), "dev-a")],
        reviews=[
            ("sally-senior", "APPROVED", ago(40), ""),
            ("peer-b", "APPROVED", ago(40), ""),
            ("peer-b", "CHANGES_REQUESTED", ago(30), ""),
        ],
    )
    repo = make_repo(system, github, FakeRepo("acme/cr", pulls=[pull]))
    assert sync(repo, client).ok
    record = ChangeReviewRecord.objects.get(repository=repo)
    assert record.approval_count == 1
    assert not record.compliant


# --- GitHub's own semantics (issue 15, item 3) -----------------------------------------------


def _verdict(repo, key):
    from safety_reset.repo_status.rules import protection_verdicts

    return protection_verdicts(repo.status)[key]


@pytest.mark.parametrize(
    "denied", [(404, "Not Found"), (403, "Resource not accessible by integration")]
)
def test_protection_the_token_cannot_read_is_unknown_not_absent(
    github, client, system, automated_audit, denied
):
    automated_audit.system = system
    automated_audit.save()
    fake = FakeRepo("acme/locked", protection=classic_protection(), protection_denied=denied)
    repo = make_repo(system, github, fake)
    result = sync(repo, client)
    assert result.ok, result.error
    passing, why = _verdict(repo, "no-admin-bypass")
    assert passing is None
    assert (
        "the token cannot read branch protection of acme/locked: it needs Administration: read"
        in why
    )
    assert _verdict(repo, "two-person-review")[0] is None
    assert _verdict(repo, "codeowners")[0] is None
    # Unknown is recorded as such: checked, no verdict, not assessed, and the reason says why.
    item = automated_audit.items_by_key["no-admin-bypass"]
    item.refresh_from_db()
    assert item.checked_at is not None
    assert item.check_passing is None
    assert item.status == ItemStatus.NOT_ASSESSED
    assert "it needs Administration: read" in item.reason


def test_a_pass_the_check_can_no_longer_prove_is_not_shown(github, client, system, automated_audit):
    """Readable and passing first, then the token loses the right to read protection: the
    item is no longer passing, and a sign-off that counted it is revoked."""
    automated_audit.system = system
    automated_audit.save()
    fake = FakeRepo("acme/later-locked", protection=classic_protection())
    repo = make_repo(system, github, fake)
    assert sync(repo, client).ok
    item = automated_audit.items_by_key["no-admin-bypass"]
    item.refresh_from_db()
    assert item.status == ItemStatus.PASSING
    signoff = SignOffFactory(audit=automated_audit, owner_signed_by=system.owner)

    fake.protection_denied = (403, "Resource not accessible by integration")
    assert sync(repo, client).ok
    item.refresh_from_db()
    assert (item.status, item.check_passing) == (ItemStatus.NOT_ASSESSED, None)
    assert "cannot read branch protection" in item.reason
    signoff.refresh_from_db()
    assert signoff.revoked_at is not None
    assert "can no longer tell" in signoff.revoked_reason


def test_branch_not_protected_is_no_protection(github, client, system):
    repo = make_repo(system, github, FakeRepo("acme/open", protection=None))
    assert sync(repo, client).ok
    assert _verdict(repo, "no-admin-bypass") == (
        False,
        "No protection at all: anyone with write access can push.",
    )


def test_bypass_pull_request_allowances_fail_no_admin_bypass(github, client, system):
    fake = FakeRepo("acme/bypass", protection=classic_protection(bypass_users=("octocat",)))
    repo = make_repo(system, github, fake)
    assert sync(repo, client).ok
    passing, why = _verdict(repo, "no-admin-bypass")
    assert passing is False
    assert "User octocat" in why


def test_codeowners_needs_required_review_and_no_errors(github, client, system):
    ok = make_repo(system, github, FakeRepo("acme/owned", protection=classic_protection()))
    not_required = make_repo(
        system, github, FakeRepo("acme/loose", protection=classic_protection(code_owners=False))
    )
    broken = make_repo(
        system,
        github,
        FakeRepo(
            "acme/broken",
            protection=classic_protection(),
            codeowners_errors=[
                {
                    "line": 3,
                    "column": 1,
                    "kind": "Unknown owner",
                    "source": "*.py @acme/ghosts",
                    "suggestion": None,
                    "message": "Unknown owner on line 3",
                    "path": ".github/CODEOWNERS",
                }
            ],
        ),
    )
    for repo in (ok, not_required, broken):
        assert sync(repo, client).ok
    assert _verdict(ok, "codeowners")[0] is True
    assert _verdict(not_required, "codeowners") == (
        False,
        "/.github/CODEOWNERS exists, but code-owner review is not required.",
    )
    assert _verdict(broken, "codeowners") == (
        False,
        "/.github/CODEOWNERS has 1 error(s), e.g. line 3: Unknown owner.",
    )


def test_renamed_repository_is_followed_and_its_name_updated(github, client, system):
    fake = FakeRepo("acme/new-name", renamed_from="acme/old-name", repo_id=4242)
    github.add(fake)
    repo = RepositoryFactory(system=system, full_name="acme/old-name", default_branch="")
    result = sync(repo, client)
    assert result.ok, result.error
    assert repo.full_name == "acme/new-name"
    assert ("/repos/acme/old-name", 301) in github.log
    assert ("/repositories/4242", 200) in github.log


def test_missing_rulesets_endpoint_reads_as_no_rulesets(github, client, system):
    fake = FakeRepo("acme/ghes", protection=classic_protection(), rules_endpoint=False)
    repo = make_repo(system, github, fake)
    assert sync(repo, client).ok
    assert repo.status["protection"]["sources"] == ["classic"]
    assert _verdict(repo, "two-person-review")[0] is True
