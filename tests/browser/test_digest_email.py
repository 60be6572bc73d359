"""The owner's digest email rendered by a real headless Chromium (tests/artifacts/digest-owner.png).

It lives here, beside the browser fixtures: one session-wide Playwright for the whole suite
(a second one, started while the first runs, is refused by Playwright's sync API).
"""

from __future__ import annotations

import pytest

from safety_reset.notifications import digests, selectors
from tests.notifications.test_digests import TOKYO_MONDAY, _owner_world

pytestmark = [pytest.mark.django_db, pytest.mark.browser]


def test_owner_digest_renders(browser, screenshot, settings):
    settings.SITE_URL = "https://reset.example.test"
    owner = _owner_world(time_zone="Asia/Tokyo")[0]
    [digest] = digests.digests_build(people=selectors.people_by_id([owner.pk]), now=TOKYO_MONDAY)
    _, html = digests.digest_render(digest)
    context = browser.new_context(viewport={"width": 760, "height": 900})
    page = context.new_page()
    page.set_content(html)
    assert page.locator("h1").inner_text().startswith("Your Code Safety Reset week 2026-W49")
    assert page.get_by_role("link", name="Checkout API", exact=True).count() == 1
    screenshot(page, "digest-owner")
    context.close()


def _render(browser, html: str):
    context = browser.new_context(viewport={"width": 760, "height": 900})
    page = context.new_page()
    page.set_content(html)
    return context, page


def test_senior_and_program_manager_digests_render(browser, screenshot, settings):
    """tests/artifacts/digest-senior.png and digest-pm.png."""
    from safety_reset.inventory.models import Person
    from tests.factories import (
        AuditFactory,
        ChecklistItemFactory,
        ControlFactory,
        PersonFactory,
        ProgramFactory,
        SeniorFactory,
        SystemFactory,
        WaiverFactory,
    )

    settings.SITE_URL = "https://reset.example.test"
    senior = SeniorFactory(email="senior@example.test", first_name="Sena")
    owner = PersonFactory(email="owner@example.test", first_name="Owen")
    pm = PersonFactory(email="pm@example.test", role="program_manager", first_name="Pam")
    program = ProgramFactory(name="Reset 2026")
    audit = AuditFactory(
        program=program, system=SystemFactory(senior_reviewer=senior, name="Payments")
    )
    for i in range(3):
        ChecklistItemFactory(
            audit=audit,
            control=ControlFactory(catalog=program.catalog, key=f"review-{i}"),
            status="passing",
            source="person",
            attested_by=owner,
        )
    failing = ChecklistItemFactory(audit=audit, status="failing", reason="No 2FA on deploys.")
    WaiverFactory(item=failing, requested_by=owner)
    people = [Person.objects.get(pk=senior.pk), Person.objects.get(pk=pm.pk)]
    senior_digest, pm_digest = digests.digests_build(people=people, now=TOKYO_MONDAY)

    context, page = _render(browser, digests.digest_render(senior_digest)[1])
    assert page.get_by_text("Waiting for you as senior reviewer: 4").count() == 1
    assert page.get_by_text("Evidence to verify (3)").count() == 1
    assert page.get_by_role("link", name="Payments · review-0").count() == 1
    screenshot(page, "digest-senior")
    context.close()

    context, page = _render(browser, digests.digest_render(pm_digest)[1])
    assert page.get_by_role("link", name="Reset 2026 — day ").count() == 1
    assert page.get_by_text("Systems signed off", exact=True).count() == 1
    screenshot(page, "digest-pm")
    context.close()
