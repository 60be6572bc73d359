"""The close-out report in a real browser, on screen and as printed (demo data, 30 systems).

Screenshots land in tests/artifacts/: close-out.png and close-out-print.png.
"""

from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_close_out_report_on_screen_and_in_print(page, screenshot):
    call_command("seed_demo", "--systems", "30", "--day", "41", "--seed", "7", stdout=StringIO())
    page.goto("/accounts/login/")
    page.fill("#id_username", "pm@demo.test")
    page.fill("#id_password", "demo")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    page.get_by_role("link", name="Close-out").first.click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Every system's final state").is_visible()
    assert page.get_by_role("button", name="Close program").is_visible()
    assert page.get_by_role("link", name="Download the signed pack (.zip)").is_visible()
    screenshot(page, "close-out")

    page.emulate_media(media="print")
    # In print: no navigation, no buttons, no close form.
    assert not page.locator(".topbar").is_visible()
    assert not page.get_by_role("button", name="Close program").is_visible()
    assert not page.locator(".subnav").is_visible()
    screenshot(page, "close-out-print")
