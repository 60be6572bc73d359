"""An owner registers an agent seen in a repository, attaches its IAM policy, sees the register's
control fail (naming the action and the statement), records the human gate with its evidence
and sees it pass; My work lists the identities due for re-attestation.

Screenshots go to tests/artifacts/identity-*.png (the identity page failing, then passing, and
My work with its block of identities to re-attest).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem
from safety_reset.identities.models import Identity
from tests.factories import (
    AuditFactory,
    ChangeReviewRecordFactory,
    ChecklistItemFactory,
    ControlFactory,
    PersonFactory,
    ProgramFactory,
    RepositoryFactory,
    SeniorFactory,
    SystemFactory,
)
from tests.identities.factories import DEPLOY_ROLE, IdentityFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def checkout():
    owner = PersonFactory(email="owner@example.test", first_name="Olive", last_name="Owner")
    senior = SeniorFactory(email="senior@example.test", first_name="Sam", last_name="Senior")
    program = ProgramFactory(name="Code Safety Reset")
    system = SystemFactory(
        name="Checkout Payments", slug="checkout-payments", owner=owner, senior_reviewer=senior
    )
    audit = AuditFactory(program=program, system=system)
    for key, title in (
        ("agent-least-privilege", "AI agents run under least-privilege roles"),
        ("human-in-the-loop", "Destructive actions by tools need a named human's approval"),
    ):
        ChecklistItemFactory(
            audit=audit,
            control=ControlFactory(
                catalog=program.catalog, key=key, title=title, evaluation="automated"
            ),
        )
    repo = RepositoryFactory(system=system, full_name="shop/checkout-payments")
    ChangeReviewRecordFactory(
        repository=repo,
        author_login="devin-ai-integration[bot]",
        ai_assisted=True,
        ai_signals=["agent author: devin-ai-integration[bot]"],
    )
    # An older bot of the same system, last attested 26 days ago: due within the week.
    IdentityFactory(
        name="checkout-ci",
        kind="ci_bot",
        login="checkout-ci[bot]",
        systems=[system],
        accountable=owner,
        last_attested_at=timezone.now() - dt.timedelta(days=26),
    )
    return program, system, owner, senior


def _sign_in(page, email):
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", "demo")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")


def _shot(page, screenshot, name: str) -> None:
    screenshot(page, name)


def test_owner_registers_a_seen_agent_and_gates_it(page, checkout, screenshot):
    program, system, owner, senior = checkout
    _sign_in(page, owner.email)

    # The system page lists the agent seen in its repository, with one action to register it.
    page.goto(f"/programs/{program.slug}/systems/{system.slug}/")
    page.wait_for_load_state("networkidle")
    seen = page.locator("#identities-seen")
    assert seen.get_by_text("devin-ai-integration[bot]").is_visible()
    seen.get_by_role("link", name="Register").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_label("Name").input_value() == "devin-ai-integration"
    page.get_by_label("Environment").select_option("production")
    page.get_by_role("button", name="Register").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="devin-ai-integration").is_visible()
    assert page.get_by_text("devin-ai-integration registered.").is_visible()

    # Its role's policy: allowed cloudformation:* on the production stacks.
    page.get_by_label("Policy name").fill("devin-deploy-role")
    page.get_by_label("IAM policy JSON").fill(json.dumps(DEPLOY_ROLE, indent=2))
    page.get_by_role("button", name="Attach and analyse").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Policy attached and analysed.").is_visible()
    controls = page.locator("#controls")
    failing = controls.locator("li", has_text="agent-least-privilege")
    assert failing.get_by_text("Failing").is_visible()
    reason = failing.locator(".reason").inner_text()
    assert "devin-ai-integration can cloudformation:" in reason
    assert "policy “devin-deploy-role”, statement 1 “DeployProductionStacks”" in reason
    assert "with no recorded human gate" in reason
    assert page.locator("#gate").get_by_text("none recorded").is_visible()
    _shot(page, screenshot, "identity-failing")

    # A gate without its evidence is refused, naming the field; then recorded with it.
    page.get_by_label("Named approver (email)").fill(senior.email)
    page.get_by_role("button", name="Record the gate").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("#id_evidence_error").is_visible()
    page.get_by_label("Named approver (email)").fill(senior.email)
    page.get_by_label("Evidence of the gate").fill(
        "https://ci.example.test/checkout-payments/environments/production: required reviewer"
    )
    page.get_by_role("button", name="Record the gate").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Human gate recorded.").is_visible()
    passing = page.locator("#controls li", has_text="agent-least-privilege")
    assert passing.get_by_text("Passing").is_visible()
    assert page.locator("#gate").get_by_text("recorded").first.is_visible()
    _shot(page, screenshot, "identity")
    item = ChecklistItem.objects.get(audit__system=system, control__key="agent-least-privilege")
    assert item.status == "passing"
    assert Identity.objects.get(name="devin-ai-integration").gate_required

    # My work: the identities of my systems due for re-attestation, each linking to its page.
    page.goto("/my-work/")
    page.wait_for_load_state("networkidle")
    block = page.locator("#identities-due")
    assert block.get_by_role("heading", name="Identities to re-attest").is_visible()
    link = block.get_by_role("link", name="checkout-ci")
    assert link.is_visible()
    assert block.get_by_text("due ").is_visible()
    _shot(page, screenshot, "identity-my-work")
    link.click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="checkout-ci").is_visible()
