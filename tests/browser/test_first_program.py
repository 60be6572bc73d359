"""From an empty install to a kicked-off program, in a real browser (headless Chromium).

The first program manager signs in, imports a 20-system CSV, creates a program over it (seeing
the preview), kicks it off (the mails reach a real SMTP server) and lands on its overview at
day 1 with 0 % covered. Screenshots in tests/artifacts/: first-run-home, program-new,
program-preview, program-kick-off.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from safety_reset.catalog.models import Catalog
from safety_reset.programs.models import Program
from tests.factories import (
    CatalogFactory,
    ControlFactory,
    PersonFactory,
    SeniorFactory,
    TeamFactory,
)
from tests.notifications.conftest import Mailbox, smtp  # noqa: F401 - the SMTP fixture
from tests.programs.conftest import eager  # noqa: F401 - Celery tasks run in place

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _csv(tmp_path, owners, seniors):
    lines = ["slug,name,tier,team,owner_email,senior_reviewer_email,repositories,blast_radius"]
    for i in range(20):
        lines.append(
            f"svc-{i:02},Service {i:02},1,checkout,{owners[i % 5].email},{seniors[i % 2].email},"
            f"https://github.com/acme/svc-{i:02},high"
        )
    path = tmp_path / "inventory.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.usefixtures("eager")
def test_first_program_manager_goes_from_empty_to_kicked_off(page, screenshot, tmp_path, request):
    mailbox: Mailbox = request.getfixturevalue("smtp")
    if not Catalog.objects.exists():  # a transactional test may have flushed the shipped one
        catalog = CatalogFactory(slug="code-safety-reset-v1", name="Code Safety Reset")
        for n in range(13):
            ControlFactory(catalog=catalog, key=f"control-{n}", title=f"Control {n}")
    PersonFactory(email="pm@example.test", role="program_manager", first_name="Pat")
    TeamFactory(slug="checkout", name="Checkout")
    owners = [PersonFactory(email=f"owner{n}@example.test") for n in range(5)]
    seniors = [SeniorFactory(email=f"senior{n}@example.test") for n in range(2)]
    csv_path = _csv(tmp_path, owners, seniors)

    page.goto("/accounts/login/")
    page.fill("#id_username", "pm@example.test")
    page.fill("#id_password", "demo")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Start your code safety reset"
    screenshot(page, "first-run-home")

    page.get_by_role("link", name="Import the inventory").click()
    page.set_input_files("#id_file", str(csv_path))
    page.get_by_role("button", name="Check file").click()
    page.get_by_role("button", name="Apply import").click()
    page.goto("/")
    assert "20 active systems" in page.content()

    page.get_by_role("link", name="Create a program").click()
    page.fill("#id_name", "Code Safety Reset 2027")
    page.fill("#id_start_date", timezone.now().date().isoformat())
    screenshot(page, "program-new")
    page.get_by_role("button", name="Preview").click()
    stats = page.locator(".stats").inner_text()
    assert "20" in stats
    assert "260" in stats  # 20 systems × 13 controls
    screenshot(page, "program-preview")
    assert not Program.objects.exists()

    page.get_by_role("button", name="Create program").click()
    page.wait_for_load_state("networkidle")
    screenshot(page, "program-kick-off")
    page.get_by_role("button", name="Send kick-off mails (7)").click()
    page.wait_for_load_state("networkidle")

    program = Program.objects.get()
    assert page.url.endswith(f"/programs/{program.slug}/")
    assert "Day 1 of 90" in page.locator("h1").first.inner_text()
    assert "0%items covered" in page.locator(".stats").first.inner_text().replace("\n", "")
    assert sorted({m["To"] for m in mailbox.messages}) == sorted(
        p.email for p in [*owners, *seniors]
    )
    assert len(mailbox.messages) == 7
