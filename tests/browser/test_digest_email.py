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
