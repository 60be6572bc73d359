"""The demo's register: the story's agent role fails agent-least-privilege, naming it."""

from __future__ import annotations

import pytest

from safety_reset.audits.models import ChecklistItem
from safety_reset.demo.services import demo_seed
from safety_reset.identities.models import Identity

pytestmark = pytest.mark.django_db


def test_the_story_agent_fails_least_privilege_on_the_demo() -> None:
    demo_seed(systems=12, day=41, seed=7)
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
