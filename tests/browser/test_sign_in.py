"""Sign-in, role-fitting navigation and sign-out in a real browser, driven by the keyboard."""

import pytest

from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    PersonFactory,
    ProgramFactory,
    SystemFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _program_with_systems(owner, count=3):
    program = ProgramFactory(name="Code Safety Reset")
    for n in range(count):
        audit = AuditFactory(
            program=program, system=SystemFactory(owner=owner, name=f"Checkout {n}")
        )
        for status in ("passing", "not_assessed"):
            ChecklistItemFactory(audit=audit, status=status)
    return program


def _sign_in_with_keyboard(page, email):
    page.goto("/accounts/login/")
    # The email field is autofocused; wait until the browser has really focused it.
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.id === 'id_username'"
    )
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type("demo")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")


def test_owner_signs_in_sees_their_systems_and_signs_out(page, screenshot):
    owner = PersonFactory(email="owner@example.test", first_name="Olive", last_name="Owner")
    _program_with_systems(owner)

    page.goto("/accounts/login/")
    screenshot(page, "login")
    _sign_in_with_keyboard(page, "owner@example.test")

    assert page.url.endswith("/my-work/")
    assert page.get_by_role("heading", name="My systems").is_visible()
    assert page.get_by_role("link", name="Checkout 0").is_visible()
    assert page.get_by_text("Assess 1 item").first.is_visible()
    nav = page.get_by_role("navigation", name="Main")
    assert nav.get_by_role("link", name="My work").is_visible()
    assert nav.get_by_role("link", name="Admin").count() == 0  # not staff
    assert nav.get_by_role("link", name="Systems").count() == 0  # not program-wide
    screenshot(page, "home-owner")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("networkidle")
    assert "/accounts/login/" in page.url


def test_program_manager_sees_program_figures_and_all_systems(page, screenshot):
    PersonFactory(email="pm@example.test", role="program_manager", is_staff=True)
    _program_with_systems(PersonFactory(), count=4)

    _sign_in_with_keyboard(page, "pm@example.test")
    assert page.get_by_text("systems signed off").first.is_visible()  # now the program overview
    screenshot(page, "home-program-manager")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Systems").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("4 systems you can see.").is_visible()
    screenshot(page, "systems")


def test_wrong_password_says_so_and_keeps_the_email(page):
    PersonFactory(email="owner@example.test")
    page.goto("/accounts/login/")
    page.fill("#id_username", "owner@example.test")
    page.fill("#id_password", "wrong")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("alert").is_visible()
    assert page.input_value("#id_username") == "owner@example.test"
