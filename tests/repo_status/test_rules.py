"""The pure rules: AI detection, the review rule, and protection verdicts."""

from __future__ import annotations

import datetime as dt

from safety_reset.repo_status.identity import IdentityPolicy, Kind, classify
from safety_reset.repo_status.providers.base import ChangeData, CommitData, ReviewData
from safety_reset.repo_status.rules import (
    AiPolicy,
    Seniors,
    parse_trailers,
    protection_verdicts,
    review_verdict,
)

T0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
POLICY = AiPolicy(
    labels=frozenset({"ai-assisted"}),
    trailer_keys=frozenset({"assisted-by", "generated-by", "ai-assisted"}),
    identities=IdentityPolicy(
        agent_logins=frozenset({"copilot", "devin-ai-integration[bot]"}),
        agent_emails=frozenset({"noreply@anthropic.com"}),
        service_accounts=frozenset({"release-robot"}),
    ),
)
SENIORS = Seniors(logins=frozenset({"sally"}), emails=frozenset({"sally@example.test"}))


def change(*, message="Work", reviews=(), author="dev", **kw) -> ChangeData:
    return ChangeData(
        number=1,
        title="t",
        url="",
        author_login=author,
        author_is_bot=kw.pop("bot", False),
        merged_at=T0,
        updated_at=T0,
        head_sha="h" * 40,
        commits=[
            CommitData(
                sha="h" * 40,
                message=message,
                author_login=author,
                committed_at=T0 - dt.timedelta(hours=5),
            )
        ],
        reviews=list(reviews),
        **kw,
    )


def approve(login, hours_before_merge=1, commit="h" * 40, state="APPROVED", bot=False):
    return ReviewData(
        login=login,
        is_bot=bot,
        state=state,
        submitted_at=T0 - dt.timedelta(hours=hours_before_merge),
        commit_id=commit,
    )


def test_trailers_are_read_from_the_last_paragraph_only():
    assert parse_trailers(
        "Subject\n\nBody: not a trailer\n\nAssisted-by: X\nSigned-off-by: A <a@b>"
    ) == [("Assisted-by", "X"), ("Signed-off-by", "A <a@b>")]
    assert parse_trailers("Only: subject") == []
    # A paragraph of prose with one `Key: value` line is not a trailer block (git's rule).
    assert parse_trailers("Subject\n\nWe talked.\nAssisted-by: X") == []


def test_identities_not_names():
    def kind(**kw):
        return classify(policy=POLICY.identities, **kw)

    assert kind(login="Copilot") is Kind.AI_AGENT
    assert kind(login="devin-ai-integration[bot]", is_app=True) is Kind.AI_AGENT
    assert kind(email="158243242+devin-ai-integration[bot]@users.noreply.github.com") is (
        Kind.AI_AGENT
    )
    assert kind(email="198982749+Copilot@users.noreply.github.com") is Kind.AI_AGENT
    assert kind(email="NoReply@Anthropic.com") is Kind.AI_AGENT
    assert kind(login="dependabot[bot]", is_app=True) is Kind.BOT
    assert kind(email="49699333+dependabot[bot]@users.noreply.github.com") is Kind.BOT
    assert kind(login="some-app", is_app=True) is Kind.BOT
    assert kind(login="release-robot") is Kind.BOT
    # A person called Devin or Claude is a person; so is the login "claude" (not "claude[bot]").
    assert kind(login="devin", email="devin@example.test") is Kind.HUMAN
    assert kind(login="claude") is Kind.HUMAN


def test_bot_pull_requests_are_not_ai_assisted_and_bots_never_review():
    bump = change(author="dependabot[bot]", bot=True, reviews=[approve("renovate[bot]", bot=True)])
    verdict = review_verdict(bump, policy=POLICY, seniors=SENIORS)
    assert not verdict.ai_assisted
    assert verdict.approvals == []
    assert "renovate[bot] is a bot: its approval does not count." in verdict.findings
    human = review_verdict(
        change(author="dependabot[bot]", bot=True, reviews=[approve("peer")]),
        policy=POLICY,
        seniors=SENIORS,
    )
    assert human.compliant
    assert human.needed == 1


def test_a_human_co_author_named_devin_or_claude_is_not_an_ai():
    c = change(
        message="Fix\n\nCo-authored-by: Devin Smith <devin@example.test>\n"
        "Co-authored-by: Claude Monet <claude@example.test>",
        reviews=[approve("peer")],
    )
    verdict = review_verdict(c, policy=POLICY, seniors=SENIORS)
    assert not verdict.ai_assisted
    assert verdict.compliant


def test_ai_assisted_false_trailer_is_not_a_signal():
    verdict = review_verdict(
        change(message="x\n\nAI-Assisted: false"), policy=POLICY, seniors=SENIORS
    )
    assert not verdict.ai_assisted


def test_compliant_ai_change_needs_two_fresh_humans_and_a_senior():
    ok = review_verdict(
        change(labels=["AI-assisted"], reviews=[approve("sally"), approve("peer")]),
        policy=POLICY,
        seniors=SENIORS,
    )
    assert ok.ai_assisted
    assert ok.compliant
    assert ok.senior_approved
    no_senior = review_verdict(
        change(labels=["ai-assisted"], reviews=[approve("p1"), approve("p2")]),
        policy=POLICY,
        seniors=SENIORS,
    )
    assert not no_senior.compliant
    one = review_verdict(
        change(labels=["ai-assisted"], reviews=[approve("sally")]), policy=POLICY, seniors=SENIORS
    )
    assert not one.compliant
    assert one.senior_approved


def test_stale_by_date_or_by_commit():
    by_date = review_verdict(
        change(
            labels=["ai-assisted"], reviews=[approve("sally", hours_before_merge=6), approve("p")]
        ),
        policy=POLICY,
        seniors=SENIORS,
    )
    by_commit = review_verdict(
        change(labels=["ai-assisted"], reviews=[approve("sally", commit="o" * 40), approve("p")]),
        policy=POLICY,
        seniors=SENIORS,
    )
    assert not by_date.senior_approved
    assert not by_commit.senior_approved


def test_bots_author_and_assigner_do_not_count():
    agent = change(
        author="Copilot",
        bot=True,
        assignees=["boss"],
        reviews=[approve("boss"), approve("sally"), approve("ci[bot]", bot=True)],
    )
    verdict = review_verdict(agent, policy=POLICY, seniors=SENIORS)
    assert verdict.ai_signals == ["agent author: Copilot", "agent commit author: Copilot"]
    assert [a["login"] for a in verdict.approvals] == ["sally"]
    assert not verdict.compliant


def test_co_author_from_noreply_email_does_not_count():
    c = change(
        labels=["ai-assisted"],
        message="w\n\nCo-authored-by: Pat <12+pat@users.noreply.github.com>",
        reviews=[approve("pat"), approve("sally"), approve("q")],
    )
    verdict = review_verdict(c, policy=POLICY, seniors=SENIORS)
    assert {a["login"] for a in verdict.approvals} == {"sally", "q"}
    assert verdict.compliant


def test_senior_matched_by_email():
    review = ReviewData(
        login="",
        email="Sally@example.test",
        is_bot=False,
        state="APPROVED",
        submitted_at=None,
        commit_id="",
    )
    assert SENIORS.includes(review)


def test_protection_verdicts_of_an_unobservable_repository_are_codeowners_only():
    assert set(
        protection_verdicts({"protection": {"observable": False}, "codeowners_path": None})
    ) == {"codeowners"}
    assert (
        protection_verdicts({"protection": {"observable": True, "sources": []}})["no-admin-bypass"][
            0
        ]
        is False
    )
