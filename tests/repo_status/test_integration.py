"""Sync → change review records → the system's checklist items, with snapshot evidence."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from safety_reset.audits.models import EvidenceKind, ItemStatus, SignOff, StatusSource
from safety_reset.repo_status.rules import REVIEW_GATE_CONTEXT
from tests.factories import SignOffFactory
from tests.workflow import attest_passing

from .github_fake import FakePull, FakeRepo, classic_protection, pull_request_rule, ruleset
from .test_github_scenarios import _pulls, ago, make_repo, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def audit_system(automated_audit, senior):
    system = automated_audit.system
    system.senior_reviewer = senior
    system.save()
    return system


def _items(audit):
    return {i.control.key: i for i in audit.items.select_related("control")}


def test_compliant_repository_passes_every_automated_control(
    github, client, automated_audit, audit_system
):
    good = [p for p in _pulls() if p.number in (1, 6)]
    make_repo(
        audit_system,
        github,
        FakeRepo(
            "acme/good",
            protection=classic_protection(checks=("ci/tests", REVIEW_GATE_CONTEXT)),
            pulls=good,
        ),
    )
    repo = audit_system.repositories.get()
    result = sync(repo, client)
    assert result.ok
    assert result.items_checked == 7
    for key, item in _items(automated_audit).items():
        assert item.status == ItemStatus.PASSING, (key, item.reason)
        assert item.source == StatusSource.AUTOMATED
        assert item.check_passing is True
        snapshot = item.evidence.get(kind=EvidenceKind.SNAPSHOT).snapshot
        assert snapshot["control"] == key
        assert snapshot["repositories"][0]["repository"] == "acme/good"
        assert snapshot["repositories"][0]["source"].endswith("/repos/acme/good")


def test_failing_controls_get_reasons_and_evidence(github, client, automated_audit, audit_system):
    bypass = [{"actor_id": 1, "actor_type": "OrganizationAdmin", "bypass_mode": "always"}]
    fake = FakeRepo(
        "acme/weak",
        rules=[pull_request_rule(4, approvals=1, dismiss_stale=False)],
        rulesets={4: ruleset(4, bypass=bypass)},
        codeowners=None,
        pulls=_pulls(),
    )
    repo = make_repo(audit_system, github, fake)
    assert sync(repo, client).ok
    items = _items(automated_audit)
    assert {k for k, i in items.items() if i.status == ItemStatus.FAILING} == {
        "two-person-review",
        "stale-review-dismissal",
        "no-admin-bypass",
        "required-checks",
        "codeowners",
        "senior-signoff-ai",
        "review-gate-required",
    }
    assert "OrganizationAdmin" in items["no-admin-bypass"].reason
    assert "1 approving review" in items["two-person-review"].reason
    ai = items["senior-signoff-ai"]
    assert "lack the required review" in ai.reason
    snapshot = ai.evidence.get(kind=EvidenceKind.SNAPSHOT).snapshot
    assert {c["number"] for c in snapshot["repositories"][0]["non_compliant"]} == {2, 3, 4, 5}
    # A person cannot mark the failing automated control passing.
    with pytest.raises(ValidationError):
        attest_passing(item=ai, actor=audit_system.owner)


def test_every_repository_of_the_system_must_pass(github, client, automated_audit, audit_system):
    make_repo(audit_system, github, FakeRepo("acme/a", protection=classic_protection()))
    make_repo(audit_system, github, FakeRepo("acme/b", protection=None))
    for repo in audit_system.repositories.all():
        sync(repo, client)
    item = _items(automated_audit)["two-person-review"]
    assert item.status == ItemStatus.FAILING
    assert "acme/b" in item.reason
    assert "acme/a" not in item.reason


def test_regression_revokes_the_sign_off(github, client, automated_audit, audit_system, senior):
    fake = github.add(FakeRepo("acme/reg", protection=classic_protection()))
    repo = make_repo(audit_system, github, fake)
    assert sync(repo, client).ok
    signoff = SignOffFactory(
        audit=automated_audit,
        owner_signed_by=audit_system.owner,
        senior_signed_by=senior,
        senior_signed_at=timezone.now(),
    )
    # Someone lowers the protection to one approval.
    fake.protection = classic_protection(approvals=1)
    assert sync(repo, client).ok
    item = _items(automated_audit)["two-person-review"]
    assert item.status == ItemStatus.FAILING
    assert item.check_passing is False
    signoff = SignOff.objects.get(pk=signoff.pk)
    assert signoff.revoked_at is not None
    assert "two-person-review" in signoff.revoked_reason
    assert item.evidence.filter(kind=EvidenceKind.SNAPSHOT).count() == 2
    # A non-compliant AI-assisted change merged since also fails the AI control.
    fake.pulls.append(
        FakePull(40, "dev-a", ago(1), labels=["ai-assisted"], commits=[("c", ago(2), "dev-a")])
    )
    assert sync(repo, client).ok
    assert _items(automated_audit)["senior-signoff-ai"].status == ItemStatus.FAILING


def test_a_failed_first_pull_evaluates_nothing(github, client, automated_audit, audit_system):
    repo = make_repo(audit_system, github, FakeRepo("acme/down"))
    github.fail(r"/repos/acme/down$", 502)
    result = sync(repo, client)
    assert not result.ok
    assert result.items_checked == 0
    assert all(i.status == ItemStatus.NOT_ASSESSED for i in _items(automated_audit).values())
