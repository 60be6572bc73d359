"""An owner works a checklist to sign-off in a real browser; the senior gives the second signature.

Screenshots of each page go to tests/artifacts/ (owner-*.png, senior-*.png).
"""

from __future__ import annotations

import pytest

from safety_reset.audits import services
from safety_reset.audits.models import ChecklistItem, SignOff
from safety_reset.remediation.models import RemediationTask
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    ControlFactory,
    PersonFactory,
    ProgramFactory,
    SeniorFactory,
    SystemFactory,
    TeamFactory,
)
from tests.workflow import attest_passing

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTROLS = [
    (
        "two-person-review",
        "Default branch requires at least 2 approving reviews",
        "review",
        "automated",
        "Branch protection or a ruleset on the default branch requires two approvals.",
    ),
    (
        "agent-least-privilege",
        "AI agents run under least-privilege roles; no role can delete production",
        "access",
        "attestation",
        "List the roles your automation and AI agents assume. None may delete production "
        "resources. Attach the IAM policy or a screenshot of the role's permissions.",
    ),
    (
        "staged-deploys",
        "Deployments go canary first, then waves, with automated rollback",
        "deployment",
        "attestation",
        "Show the pipeline's stages and the alarms that roll a deployment back.",
    ),
    (
        "runbooks-oncall",
        "Runbooks and on-call escalation are current",
        "operations",
        "attestation",
        "Link the runbook and the on-call rota; both reviewed in the last 90 days.",
    ),
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def checkout():
    owner = PersonFactory(email="owner@example.test", first_name="Olive", last_name="Owner")
    senior = SeniorFactory(email="senior@example.test", first_name="Sam", last_name="Senior")
    program = ProgramFactory(name="Code Safety Reset")
    system = SystemFactory(
        name="Checkout Payments",
        slug="checkout-payments",
        owner=owner,
        senior_reviewer=senior,
        team=TeamFactory(name="Payments"),
        blast_radius="critical",
    )
    audit = AuditFactory(program=program, system=system)
    items = [
        ChecklistItemFactory(
            audit=audit,
            control=ControlFactory(
                catalog=program.catalog,
                key=key,
                title=title,
                category=category,
                evaluation=evaluation,
                guidance=guidance,
                severity="critical" if n == 1 else "high",
                position=n,
            ),
        )
        for n, (key, title, category, evaluation, guidance) in enumerate(CONTROLS)
    ]
    # Everything but the agent-roles item is already covered; its story is the test.
    attest_passing(item=items[0], actor=owner)
    services.evidence_add(item=items[0], actor=owner, note="Ruleset “main” requires 2 approvals.")
    attest_passing(item=items[2], actor=owner)
    services.item_assess(
        item=items[3], actor=owner, status="not_applicable", reason="Batch job, no on-call."
    )
    return {"owner": owner, "senior": senior, "system": system, "item": items[1]}


def screenshot_dir():
    from tests.browser.conftest import ARTIFACTS

    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _sign_in(page, email):
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", "demo")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")


def _sign_out(page):
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("networkidle")


def _item(page, item):
    return page.locator(f"#item-{item.pk}")


def _htmx_submit(page, locator, button_name):
    """Click and wait until htmx has swapped and settled the response (or a new page loaded).

    The POST's response arrives before htmx swaps it in, so waiting for the response alone
    races the swap; htmx:afterSettle is the end of it.
    """
    page.evaluate(
        "window.__settled = false;"
        "document.body.addEventListener('htmx:afterSettle', () => { window.__settled = true },"
        " {once: true})"
    )
    with page.expect_response(lambda r: r.request.method == "POST"):
        locator.get_by_role("button", name=button_name).click()
    # After a full navigation the flag is gone (undefined), which also counts as done.
    page.wait_for_function("() => window.__settled !== false")
    page.wait_for_load_state("networkidle")


def test_owner_works_the_checklist_and_both_sign(page, screenshot, checkout):
    item, system = checkout["item"], checkout["system"]

    # The owner starts from "My work".
    _sign_in(page, "owner@example.test")
    page.goto("/my-work/")
    assert page.get_by_role("heading", name="My work").is_visible()
    assert page.get_by_text("Assess 1 item").is_visible()
    screenshot(page, "owner-my-work")
    page.get_by_role("link", name="Checkout Payments").first.click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Checkout Payments").is_visible()
    screenshot(page, "owner-system")

    # Every control is reachable with the keyboard, with a visible focus ring.
    card = _item(page, item)
    summary = card.locator("summary", has_text="Set the status")
    summary.focus()
    outline = summary.evaluate("e => getComputedStyle(e).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")  # opens the disclosure
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('name')")
    assert focused == "status"

    # Failing, first without a reason (refused, in place), then with one.
    card.get_by_label("Failing").check()
    _htmx_submit(page, card, "Save the status")
    card = _item(page, item)
    assert card.get_by_text("Say why the item is failing.").is_visible()
    assert card.get_by_label("Failing").is_checked()
    card.scroll_into_view_if_needed()
    card.screenshot(path=str(screenshot_dir() / "owner-item-error.png"))
    card.get_by_label("Reason").fill("The deploy bot's role can delete the production stack.")
    _htmx_submit(page, card, "Save the status")
    card = _item(page, item)
    assert card.locator(".badge.status-failing").first.is_visible()
    assert card.get_by_text("is now failing").is_visible()
    screenshot(page, "owner-item-failing")

    # File a task from the failing item.
    card.locator("summary", has_text="File a remediation task").click()
    card.get_by_label("Title").fill("Drop delete permissions from the deploy bot role")
    card.screenshot(path=str(screenshot_dir() / "owner-item-task-form.png"))
    _htmx_submit(page, card, "File the task")
    card = _item(page, item)
    assert card.get_by_role(
        "link", name="Drop delete permissions from the deploy bot role"
    ).is_visible()

    # Upload evidence: a small text file.
    card.locator("summary", has_text="Add evidence").click()
    card.get_by_label("Note").fill("IAM policy of the deploy bot, after the change")
    card.get_by_label("File").set_input_files(
        {
            "name": "deploy-bot-policy.txt",
            "mimeType": "text/plain",
            "buffer": b'{"Effect": "Deny", "Action": "cloudformation:DeleteStack"}',
        }
    )
    _htmx_submit(page, card, "Add the evidence")
    card = _item(page, item)
    file_link = card.get_by_role("link", name="IAM policy of the deploy bot, after the change")
    assert file_link.is_visible()
    screenshot(page, "owner-item-evidence")

    # Close the task; the page asks to re-assess the item.
    card.get_by_role("link", name="Drop delete permissions from the deploy bot role").click()
    page.wait_for_load_state("networkidle")
    screenshot(page, "owner-task")
    _htmx_submit(page, page.locator("#task"), "Mark done")
    assert page.get_by_text("That was the last open task").is_visible()
    screenshot(page, "owner-task-done")
    assert RemediationTask.objects.get().state == "done"
    page.get_by_role("link", name="Re-assess the item").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/systems/{system.slug}/#item-{item.pk}")
    page.goto("/tasks/?scope=assigned&state=all")
    assert page.get_by_role(
        "link", name="Drop delete permissions from the deploy bot role"
    ).is_visible()
    screenshot(page, "owner-tasks")
    page.goto(f"/systems/{system.slug}/#item-{item.pk}")

    # Passing now; the owner signs off.
    card = _item(page, item)
    card.locator("summary", has_text="Set the status").click()
    card.get_by_label("Passing").check()
    card.get_by_label("Reason").fill("")
    _htmx_submit(page, card, "Save the status")
    assert ChecklistItem.objects.get(pk=item.pk).status == "passing"
    page.reload()
    page.get_by_role("button", name="Sign off as owner").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Waiting for the senior signature").is_visible()
    assert page.get_by_role("button", name="Give the senior sign-off").count() == 0
    screenshot(page, "owner-signed")

    # The owner tries the senior signature anyway: refused by the server.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    refused = page.request.post(
        f"/systems/{system.slug}/sign-off/senior/", headers={"X-CSRFToken": token}
    )
    assert refused.status == 403
    assert SignOff.objects.get().senior_signed_by is None
    _sign_out(page)

    # The senior reviewer gives the second signature.
    _sign_in(page, "senior@example.test")
    page.goto("/my-work/")
    assert page.get_by_role("heading", name="Waiting for my review").is_visible()
    screenshot(page, "senior-my-work")
    review = page.get_by_role("region", name="Waiting for my review")
    review.get_by_role("link", name="Give the senior sign-off").click()
    page.wait_for_load_state("networkidle")
    # The attested items are not verified yet: the panel lists them and offers no button.
    attested = list(ChecklistItem.objects.filter(source="person").order_by("pk"))
    assert len(attested) == 4  # three passing with evidence, one not applicable with its reason
    panel = page.locator("#signoff")
    assert panel.get_by_text("4 items keep the senior sign-off back").is_visible()
    assert panel.get_by_text("Not verified yet").count() == 4
    assert page.get_by_role("button", name="Give the senior sign-off").count() == 0
    screenshot(page, "senior-system-blocked")
    for one in attested:
        _htmx_submit(page, _item(page, one), "Verify the evidence")
        assert _item(page, one).get_by_text("Verified by Sam Senior").is_visible()
    page.reload()
    assert page.locator("#signoff").get_by_text("keep the senior sign-off back").count() == 0
    screenshot(page, "senior-system")
    page.get_by_role("button", name="Give the senior sign-off").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("The audit is complete.").is_visible()
    signoff = SignOff.objects.get()
    assert signoff.senior_signed_by == checkout["senior"]
    assert signoff.owner_signed_by == checkout["owner"]
    screenshot(page, "senior-signed")

    # One item's history loads when opened (htmx), without leaving the page.
    card = _item(page, item)
    card.locator("summary", has_text="History").click()
    item_history = card.locator(".item-history")
    item_history.get_by_text("Marked failing").wait_for()
    assert item_history.get_by_text("Marked passing").is_visible()

    # The history shows who did what.
    history = page.locator("#history")
    assert history.get_by_text("Senior reviewer signed off").is_visible()
    assert history.get_by_text("Owner signed off").is_visible()


def test_keyboard_reaches_every_control_of_the_system_page(page, checkout):
    _sign_in(page, "owner@example.test")
    page.goto(f"/systems/{checkout['system'].slug}/")
    seen = []
    for _ in range(80):
        page.keyboard.press("Tab")
        seen.append(
            page.evaluate(
                "(() => { const e = document.activeElement;"
                " return [e.tagName, (e.textContent || '').trim().slice(0, 40),"
                " getComputedStyle(e).outlineStyle]; })()"
            )
        )
    texts = [text for _, text, _ in seen]
    for control in ("Set the status", "Add evidence", "Guidance", "History", "Sign-off"):
        if control == "Sign-off":
            continue  # not signable yet: the panel lists the blocker instead of a button
        assert any(text.startswith(control) for text in texts), control
    # Every focused element shows a focus ring.
    unringed = [(tag, text) for tag, text, style in seen if tag != "BODY" and style == "none"]
    assert not unringed
