"""The program overview in a real browser, with the demo data at day 41 (335 systems).

Screenshots land in tests/artifacts/: dashboard-overview.png (the whole page) and
dashboard-team.png (a team drill-down).
"""

from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", "demo")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")


def test_program_manager_lands_on_the_overview_of_the_demo(page, screenshot):
    call_command("seed_demo", "--systems", "335", "--day", "41", "--seed", "7", stdout=StringIO())
    _sign_in(page, "pm@demo.test")

    assert "/programs/" in page.url  # program managers land on the overview
    assert page.get_by_role("heading", name="Day 41 of 90 · Remediate").is_visible()
    # Day 41 of the demo: 4 of 335 systems signed off against 7 % planned decides the verdict.
    assert page.locator(".verdict-badge").inner_text() == "Off track"
    assert page.locator(".verdict-line strong").inner_text().startswith("Sign-off: 1% against 7%")
    assert page.get_by_text("systems signed off").first.is_visible()
    chart = page.get_by_role("img", name="Burn-up of")
    assert chart.is_visible()
    assert chart.locator("path.bu-actual").count() == 2
    assert page.locator("table.heatmap td.heat").count() > 13
    assert page.get_by_role("heading", name="Incidents").is_visible()
    assert page.get_by_role("heading", name="AI-assisted change review").is_visible()
    # No horizontal scroll on a laptop screen.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "dashboard-overview")

    # The table alternative of the chart opens.
    page.get_by_text("The burn-up as a table").click()
    assert page.locator(".chart-table table tbody tr").count() >= 40

    # Sorting the team table swaps only the table (htmx), and the URL follows.
    page.locator("#team-table th").filter(has_text="Failing").get_by_role("link").click()
    page.wait_for_url("**ordering=-failing**")
    assert page.locator("#team-table").count() == 1

    # A team drill-down from the table.
    page.locator("#team-table tbody a").first.click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Systems").is_visible()
    screenshot(page, "dashboard-team")
