"""The demo's register: loaded by seed_demo with its history, and the two controls it decides
agree with what `evaluate_systems` (the service) finds on the loaded rows."""

from __future__ import annotations

import pytest
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem, ItemStatus
from safety_reset.demo.services import demo_seed
from safety_reset.identities.controls import CONTROL_KEYS
from safety_reset.identities.models import Identity
from safety_reset.identities.selectors import register_figures
from safety_reset.identities.services import evaluate_systems
from safety_reset.inventory.models import Person, System

pytestmark = pytest.mark.django_db


def test_the_story_agent_fails_least_privilege_on_the_demo() -> None:
    demo_seed(systems=12, day=41, seed=7)
    story = Identity.objects.get(name="env-rebuild-agent")
    assert story.policies.get().can_destroy is True
    system = story.systems.get()
    assert system.owner.email == "owner@demo.test"
    item = ChecklistItem.objects.get(audit__system=system, control__key="agent-least-privilege")
    assert item.status == ItemStatus.FAILING
    assert item.source == "automated"
    assert "env-rebuild-agent can autoscaling:DeleteAutoScalingGroup in production" in item.reason
    assert (
        "policy “env-rebuild-agent-role”, statement 1 “AgentEnvironmentManagement”" in item.reason
    )
    snapshot = item.evidence.filter(kind="snapshot").latest("created_at").snapshot
    assert snapshot["control"] == "agent-least-privilege"
    assert any(row["identity"] == "env-rebuild-agent" for row in snapshot["identities"])
    # Deploy roles sit behind their senior reviewer's gate (unless the team left it open);
    # CI bots cannot destroy; every system has its CI bot and its deploy role.
    deploy = Identity.objects.get(name=f"{system.slug}-deploy")
    assert deploy.policies.get().can_destroy
    if deploy.gate_required:
        assert deploy.gate_approver == system.senior_reviewer
    assert Identity.objects.filter(kind="ci_bot").count() == 12
    assert Identity.objects.filter(kind="cloud_role").count() == 12
    assert Identity.objects.filter(kind="ai_agent").count() >= 3


def test_the_service_agrees_with_the_seeded_verdicts() -> None:
    """Re-evaluating the loaded register changes no status of the two controls."""
    demo_seed(systems=40, day=41, seed=7)
    items = ChecklistItem.objects.filter(control__key__in=CONTROL_KEYS).exclude(
        status=ItemStatus.NOT_ASSESSED
    )
    before = dict(items.values_list("pk", "status"))
    reasons = dict(items.values_list("pk", "reason"))
    assert ItemStatus.FAILING in before.values()
    assert ItemStatus.PASSING in before.values()
    systems = System.objects.filter(id__in=items.values("audit__system_id"))
    evaluate_systems(systems=list(systems), checked_at=timezone.now())
    after = dict(ChecklistItem.objects.filter(pk__in=before).values_list("pk", "status"))
    assert after == before
    now_reasons = dict(ChecklistItem.objects.filter(pk__in=before).values_list("pk", "reason"))
    assert now_reasons == reasons


def test_the_register_figures_on_the_demo() -> None:
    demo_seed(systems=40, day=41, seed=7)
    pm = Person.objects.get(email="pm@demo.test")
    figures = register_figures(user=pm)
    assert figures.can_delete_production >= 40  # every deploy role, and the story's agent
    assert 1 <= figures.without_gate < figures.can_delete_production
    assert figures.lapsed >= 1
