"""The header's program switcher in a real Chromium: with two programs a menu that opens and is
followed with the keyboard alone (no script: a <details> of links), with one just the name; and
My work with a section per program."""

from __future__ import annotations

import pytest

from tests.audits.test_two_programs import _enrol, two  # noqa: F401 - the fixture, used by name
from tests.factories import PersonFactory, ProgramFactory, SystemFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, email):
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", "demo")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")


def test_two_programs_switch_by_keyboard(page, two, screenshot):  # noqa: F811
    _sign_in(page, two.owner.email)
    page.goto(f"/programs/company/systems/{two.shared.slug}/")
    switcher = page.locator("details.program-switcher")
    assert "Company reset" in switcher.locator("summary").inner_text()
    switcher.locator("summary").focus()
    page.keyboard.press("Enter")  # opens the menu
    assert switcher.get_attribute("open") is not None
    screenshot(page, "switcher-two-programs")
    page.keyboard.press("Tab")  # the first entry: the newest program, the other one here
    page.keyboard.press("Enter")  # the same system in that program
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/programs/payments/systems/{two.shared.slug}/")
    assert "Payments org reset" in page.locator("details.program-switcher summary").inner_text()
    page.goto("/my-work/")
    headings = page.locator(".program-section h2").all_inner_texts()
    assert headings == ["Payments org reset", "Company reset"]  # the one chosen first
    screenshot(page, "my-work-two-programs")


def test_one_program_shows_its_name(page, screenshot):
    program = ProgramFactory(name="Code Safety Reset")
    owner = PersonFactory(email="solo@example.test")
    _enrol(program, SystemFactory(owner=owner, name="Checkout API"), [])
    _sign_in(page, owner.email)
    page.goto("/my-work/")
    assert page.locator("details.program-switcher").count() == 0
    assert "Code Safety Reset" in page.locator(".program-single").inner_text()
    screenshot(page, "switcher-one-program")
