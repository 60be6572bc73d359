"""The register's services: rules, permissions, history, and the two controls they evaluate."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from safety_reset.audits.models import EvidenceKind
from safety_reset.identities import services
from safety_reset.identities.models import Identity
from tests.factories import ChangeReviewRecordFactory, PersonFactory, RepositoryFactory

from .factories import DEPLOY_ROLE, READ_ONLY, STORY_AGENT_ROLE, TERMINATE_WITH_MFA

pytestmark = pytest.mark.django_db


def _create(register, **extra):
    values = {
        "actor": register.owner,
        "name": "env-agent",
        "kind": "ai_agent",
        "systems": [register.system],
        "accountable": register.owner,
        "login": "env-agent[bot]",
    }
    return services.identity_create(**{**values, **extra})


def test_every_broken_rule_at_once_and_nothing_written(register) -> None:
    gone = PersonFactory(is_active=False)
    with pytest.raises(ValidationError) as caught:
        services.identity_create(
            actor=register.owner,
            name=" ",
            kind="robot",
            systems=[register.system],
            accountable=gone,
            environment="moon",
            attestation_days=0,
        )
    assert set(caught.value.message_dict) == {
        "name",
        "kind",
        "accountable",
        "environment",
        "attestation_days",
    }
    assert not Identity.objects.exists()


def test_only_owners_of_all_its_systems_or_a_pm_manage_it(register) -> None:
    stranger = PersonFactory()
    with pytest.raises(PermissionDenied):
        _create(register, actor=stranger)
    identity = _create(register)
    with pytest.raises(PermissionDenied):
        services.identity_attest(actor=stranger, identity=identity)
    pm = PersonFactory(role="program_manager")
    services.identity_update(actor=pm, identity=identity, name="env-agent-2")
    identity.refresh_from_db()
    assert identity.name == "env-agent-2"


def test_history_records_who_changed_what(register) -> None:
    identity = _create(register)
    services.identity_update(actor=register.owner, identity=identity, environment="non_production")
    events = identity.events.order_by("pgh_id")
    assert [e.pgh_label for e in events] == ["insert", "update"]
    assert events.last().pgh_context.metadata["actor"] == register.owner.pk


def test_a_destructive_policy_without_a_gate_fails_both_controls_naming_it(register) -> None:
    identity = _create(register)
    services.identity_attest(actor=register.owner, identity=identity)
    services.identity_policy_attach(
        actor=register.owner, identity=identity, name="env-agent-role", document=STORY_AGENT_ROLE
    )
    item = register.item()
    assert item.status == "failing"
    assert "env-agent can cloudformation:" in item.reason
    assert "policy “env-agent-role”, statement 1 “AgentEnvironmentManagement”" in item.reason
    assert register.item("human-in-the-loop").status == "failing"
    snapshot = item.evidence.filter(kind=EvidenceKind.SNAPSHOT).latest("created_at").snapshot
    assert snapshot["identities"][0]["destructive"][0]["policy"] == "env-agent-role"

    approver = PersonFactory(email="approver@register.test")
    services.identity_gate_record(
        actor=register.owner,
        identity=identity,
        approver=approver,
        evidence="https://ci.example.test/pipelines/env/approvals",
    )
    item = register.item()
    assert item.status == "passing"
    assert item.source == "automated"
    assert register.item("human-in-the-loop").status == "passing"


def test_read_only_and_mfa_gated_roles_pass(register) -> None:
    identity = _create(register)
    services.identity_policy_attach(
        actor=register.owner, identity=identity, name="ro", document=READ_ONLY
    )
    services.identity_policy_attach(
        actor=register.owner, identity=identity, name="mfa", document=TERMINATE_WITH_MFA
    )
    assert register.item().status == "passing"


def test_non_production_identities_may_destroy(register) -> None:
    identity = _create(register, environment="non_production")
    services.identity_policy_attach(
        actor=register.owner, identity=identity, name="deploy", document=DEPLOY_ROLE
    )
    assert register.item().status == "passing"


def test_a_lapsed_attestation_fails(register) -> None:
    identity = _create(register)
    services.identity_attest(
        actor=register.owner, identity=identity, now=timezone.now() - dt.timedelta(days=31)
    )
    item = register.item()
    assert item.status == "failing"
    assert "env-agent: attestation lapsed" in item.reason


def test_an_agent_seen_in_a_repository_but_not_registered_fails(register) -> None:
    repo = RepositoryFactory(system=register.system, full_name="shop/checkout")
    ChangeReviewRecordFactory(
        repository=repo,
        author_login="copilot-swe-agent[bot]",
        ai_assisted=True,
        ai_signals=["agent author: copilot-swe-agent[bot]"],
    )
    other = _create(register, name="ci", login="ci-bot")
    services.identity_attest(actor=register.owner, identity=other)
    item = register.item()
    assert item.status == "failing"
    assert "copilot-swe-agent[bot] (pull request author in shop/checkout)" in item.reason
    registered = _create(register, name="copilot", login="copilot-swe-agent")
    services.identity_attest(actor=register.owner, identity=registered)
    assert register.item().status == "passing"


def test_malformed_policy_is_refused_naming_the_problem(register) -> None:
    identity = _create(register)
    with pytest.raises(ValidationError) as caught:
        services.identity_policy_attach(
            actor=register.owner, identity=identity, name="bad", document='{"Statement": ['
        )
    assert "document" in caught.value.message_dict
    assert not identity.policies.exists()


def test_the_gate_needs_an_approver_and_evidence(register) -> None:
    identity = _create(register)
    with pytest.raises(ValidationError) as caught:
        services.identity_gate_record(
            actor=register.owner, identity=identity, approver=None, evidence=" "
        )
    assert set(caught.value.message_dict) == {"approver", "evidence"}
    identity.refresh_from_db()
    assert identity.gate_required is False
