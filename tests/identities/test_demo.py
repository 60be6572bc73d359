"""The demo's register: the story's agent role fails agent-least-privilege, naming it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem
from safety_reset.demo.identities import seed_identities
from safety_reset.demo.services import demo_seed
from safety_reset.identities.models import Identity
from safety_reset.inventory.models import System

pytestmark = pytest.mark.django_db


def test_the_story_agent_fails_least_privilege_on_the_demo() -> None:
    demo_seed(systems=12, day=41, seed=7)
    owner_systems = System.objects.filter(owner__email="owner@demo.test").values_list(
        "id", flat=True
    )
    seed_identities(
        system_ids=list(System.objects.values_list("id", flat=True)),
        demo_system_ids=list(owner_systems),
        now=timezone.now(),
    )
    story = Identity.objects.get(name="env-rebuild-agent")
    assert story.policies.get().can_destroy is True
    system = story.systems.get()
    item = ChecklistItem.objects.get(audit__system=system, control__key="agent-least-privilege")
    assert item.status == "failing"
    assert "env-rebuild-agent can " in item.reason
    assert (
        "policy “env-rebuild-agent-role”, statement 1 “AgentEnvironmentManagement”" in item.reason
    )
    # Deploy roles sit behind their senior reviewer's gate; CI bots cannot destroy.
    deploy = Identity.objects.get(name=f"{system.slug}-deploy")
    assert deploy.gate_required
    assert deploy.gate_approver == system.senior_reviewer
    assert Identity.objects.filter(kind="ci_bot").count() == 12
