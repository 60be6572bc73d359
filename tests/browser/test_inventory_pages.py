"""A program manager works the inventory and the catalog in a real browser (headless Chromium).

Screenshots land in tests/artifacts/: inventory-systems, inventory-system-form-error,
inventory-system-form-edit, inventory-teams, inventory-people, catalog, catalog-add-control,
catalog-retire, catalog-versions, catalog-change-preview.
"""

from __future__ import annotations

import pytest

from safety_reset.audits.models import ChecklistItem
from safety_reset.catalog.models import Catalog
from safety_reset.inventory import services
from safety_reset.inventory.models import System
from safety_reset.programs.models import Program
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    ControlFactory,
    OrgFactory,
    PersonFactory,
    ProgramFactory,
    SeniorFactory,
    SignOffFactory,
    TeamFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STATUSES = ["passing", "passing", "failing", "not_assessed", "excepted", "not_applicable"]


def _world():
    pm = PersonFactory(
        email="pm@example.test", role="program_manager", first_name="Pat", last_name="Lee"
    )
    program = ProgramFactory(name="Code Safety Reset", slug="reset")
    controls = [
        ControlFactory(
            catalog=program.catalog, category=category, title=title, key=key, severity=severity
        )
        for category, key, title, severity in [
            ("review", "two-person-review", "Default branch requires two approvals", "critical"),
            ("review", "senior-signoff-ai", "AI-assisted changes approved by a senior", "critical"),
            ("repository", "codeowners", "CODEOWNERS covers the repository", "medium"),
            ("access", "agent-least-privilege", "Agents run with least privilege", "high"),
            ("deployment", "staged-deploys", "Deploys go canary first, then waves", "high"),
        ]
    ]
    org = OrgFactory(name="Retail", slug="retail")
    teams = [TeamFactory(name=name, slug=name.lower(), org=org) for name in ("Checkout", "Search")]
    seniors = [
        SeniorFactory(email=f"senior{n}@example.test", first_name=first, last_name="Senior")
        for n, first in enumerate(("Sam", "Sasha"))
    ]
    PersonFactory(email="olive@example.test", first_name="Olive", last_name="Owner")
    for n, (name, radius) in enumerate(
        [
            ("Checkout API", "critical"),
            ("Cart", "high"),
            ("Search", "medium"),
            ("Recommendations", "low"),
        ]
    ):
        system = services.system_create(
            actor=pm,
            slug=name.lower().replace(" ", "-"),
            name=name,
            team=teams[n % 2],
            owner=PersonFactory(first_name=name.split()[0], last_name="Owner"),
            senior_reviewer=seniors[n % 2],
            blast_radius=radius,
            repositories=[f"https://github.com/acme/{name.lower().replace(' ', '-')}"],
        )
        for i, item in enumerate(ChecklistItem.objects.filter(audit__system=system)):
            item.status = STATUSES[(n + i) % len(STATUSES)]
            item.reason = (
                "See the evidence." if item.status in ("failing", "not_applicable") else ""
            )
            item.save()
    cart = System.objects.get(slug="cart")
    services.system_update(
        actor=pm,
        system=cart,
        slug="cart",
        name="Cart service",
        team=cart.team,
        owner=cart.owner,
        senior_reviewer=seniors[0],
        blast_radius="critical",
        repositories=["https://github.com/acme/cart", "https://github.com/acme/cart-infra"],
    )
    # v1 is published; the next version is drafted from it below (or here, for the viewer).
    assert not program.catalog.is_draft
    audit = AuditFactory(program=program)
    ChecklistItemFactory(audit=audit, control=controls[0], status="passing")
    SignOffFactory(audit=audit, owner_signed_by=audit.system.owner)
    return pm


def _sign_in(page, email):
    page.goto("/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", "demo")
    page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")


def test_program_manager_manages_inventory_and_catalog(page, screenshot):
    _world()
    _sign_in(page, "pm@example.test")

    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Inventory").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Systems", exact=True).is_visible()
    assert page.get_by_text("5 systems.").is_visible()
    assert page.get_by_text("Recent changes to systems").is_visible()
    screenshot(page, "inventory-systems")

    # Filtering swaps the table in place (htmx) and keeps the URL shareable.
    page.select_option("#id_blast_radius", "critical")
    # Predicates are functions, not strings: a string is eval()ed in the page, which the
    # Content Security Policy forbids.
    page.wait_for_function(
        "() => document.querySelector('.result-count').textContent.includes('2 systems')"
    )
    assert "blast_radius=critical" in page.url

    # Add a system with the owner as senior reviewer: refused on the field, input kept.
    page.goto("/inventory/systems/add/")
    page.fill("#id_name", "Payments Gateway")
    page.fill("#id_slug", "payments-gateway")
    page.select_option("#id_team", label="Checkout — Retail")
    page.select_option("#id_blast_radius", "critical")
    page.fill("#id_owner", "")
    page.type("#id_owner", "sam", delay=30)  # the datalist fills from the people search
    page.wait_for_function("() => document.querySelectorAll('#people-options option').length > 0")
    page.fill("#id_owner", "senior0@example.test")
    page.fill("#id_senior_reviewer", "senior0@example.test")
    page.fill("#id_repositories", "https://github.com/acme/payments-gateway")
    page.get_by_role("button", name="Add system").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Nothing was saved.").is_visible()
    error = page.locator("#id_senior_reviewer_error")
    assert "cannot be the system's owner" in error.inner_text()
    assert page.input_value("#id_name") == "Payments Gateway"
    assert page.get_attribute("#id_senior_reviewer", "aria-invalid") == "true"
    screenshot(page, "inventory-system-form-error")

    page.fill("#id_owner", "olive@example.test")
    page.get_by_role("button", name="Add system").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Payments Gateway was added").is_visible()
    assert System.objects.get(slug="payments-gateway").audits.get().items.count() == 5

    page.goto(f"/inventory/systems/{System.objects.get(slug='cart').pk}/edit/")
    assert page.get_by_text("History of this system").is_visible()
    screenshot(page, "inventory-system-form-edit")

    page.goto("/inventory/systems/")
    page.get_by_role("navigation", name="Inventory").get_by_role("link", name="Teams").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("row", name="Checkout").first.is_visible()
    screenshot(page, "inventory-teams")
    page.get_by_role("navigation", name="Inventory").get_by_role("link", name="People").click()
    page.wait_for_load_state("networkidle")
    screenshot(page, "inventory-people")

    # The catalog of the running program.
    nav.get_by_role("link", name="Catalog").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Controls of Code Safety Reset").is_visible()
    assert page.get_by_role("heading", name="Code review · 2").is_visible()
    screenshot(page, "catalog")

    # The next catalog version: drafted, a control added and one retired, published.
    page.get_by_role("link", name="Catalog versions").click()
    page.wait_for_load_state("networkidle")
    v1 = Program.objects.get(slug="reset").catalog
    page.locator(f"form[action='/catalog/versions/{v1.pk}/draft/'] button").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Edit it, then publish it.").is_visible()
    page.get_by_role("link", name="Add control").click()
    page.wait_for_load_state("networkidle")
    page.fill("#id_key", "incident-runbook")
    page.fill("#id_title", "An incident runbook is linked from the service page")
    page.select_option("#id_category", "operations")
    page.select_option("#id_severity", "medium")
    screenshot(page, "catalog-add-control")
    page.get_by_role("button", name="Add to the draft").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("was added to the draft").is_visible()
    assert not ChecklistItem.objects.filter(control__key="incident-runbook").exists()
    page.get_by_role("link", name="Retire codeowners").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role(
        "heading", name="Retire “CODEOWNERS covers the repository”?"
    ).is_visible()
    screenshot(page, "catalog-retire")
    page.get_by_role("button", name="Retire control").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("was retired").is_visible()
    assert page.get_by_role("heading", name="Retired · 1").is_visible()
    page.get_by_role("button", name="Publish v2").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("is published").is_visible()
    page.goto("/catalog/versions/")
    screenshot(page, "catalog-versions")

    # Moving the running program to v2: the preview, then the change.
    page.goto("/catalog/programs/reset/")
    page.get_by_role("link", name="Change catalog version").click()
    page.wait_for_load_state("networkidle")
    page.select_option("#id_catalog", str(Catalog.objects.get(slug=v1.slug, version=2).pk))
    page.get_by_role("button", name="Preview the change").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("items added, due").is_visible()
    screenshot(page, "catalog-change-preview")
    page.get_by_role("button", name="Move Code Safety Reset to").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("now uses").is_visible()
    assert ChecklistItem.objects.filter(control__key="incident-runbook").count() == 6


def test_viewer_reads_but_cannot_edit(page):
    _world()
    PersonFactory(email="viewer@example.test", role="viewer")
    _sign_in(page, "viewer@example.test")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inventory").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("row", name="Checkout API checkout-api").is_visible()
    assert page.get_by_role("link", name="Add system").count() == 0
    response = page.goto("/inventory/systems/add/")
    assert response.status == 403
