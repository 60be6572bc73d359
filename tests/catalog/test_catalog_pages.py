"""The catalog pages: permission matrix, fixed query counts, adding and retiring through them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem, SignOff
from safety_reset.catalog import services
from safety_reset.catalog.models import Control
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    ControlFactory,
    PersonFactory,
    ProgramFactory,
    SignOffFactory,
)
from tests.inventory.matrix import READ, WRITE, WRITE_PAGE, Case, check_matrix

pytestmark = pytest.mark.django_db

NEW_CONTROL = {
    "key": "secret-scanning",
    "title": "Secret scanning blocks pushes with credentials",
    "guidance": "Turn on push protection.",
    "category": "repository",
    "severity": "high",
    "evaluation": "automated",
}


def _control(world):
    return world.items[0].control


CASES = [
    Case("catalog page", lambda w: reverse("catalog:control_list"), READ),
    Case(
        "program catalog page",
        lambda w: reverse("catalog:program_controls", args=[w.program.slug]),
        READ,
    ),
    Case(
        "add control form",
        lambda w: reverse("catalog:control_add", args=[w.program.slug]),
        WRITE_PAGE,
    ),
    Case(
        "edit control form",
        lambda w: reverse("catalog:control_edit", args=[_control(w).pk]),
        WRITE_PAGE,
    ),
    Case(
        "retire confirmation",
        lambda w: reverse("catalog:control_retire", args=[_control(w).pk]),
        WRITE_PAGE,
    ),
    Case(
        "add control",
        lambda w: reverse("catalog:control_add", args=[w.program.slug]),
        WRITE,
        data=lambda w: NEW_CONTROL,
    ),
    Case(
        "edit control",
        lambda w: reverse("catalog:control_edit", args=[_control(w).pk]),
        WRITE,
        data=lambda w: {"title": "Reworded", "guidance": "", "severity": "low"},
    ),
    Case(
        "retire control",
        lambda w: reverse("catalog:control_retire", args=[_control(w).pk]),
        WRITE,
        data=lambda w: {"program": w.program.slug},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_permission_matrix(client, role_world, case):
    check_matrix(client, role_world, case)


# --- Query count -----------------------------------------------------------------------------

STATUSES = ["passing", "failing", "not_assessed", "excepted", "not_applicable"]
CATEGORIES = ["review", "repository", "access", "deployment", "resilience", "operations"]


def _program(pm, controls: int, audits: int):
    program = ProgramFactory(slug="reset")
    catalog_controls = [
        ControlFactory(catalog=program.catalog, category=CATEGORIES[n % len(CATEGORIES)])
        for n in range(controls)
    ]
    audit_rows = [AuditFactory(program=program) for _ in range(audits)]
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            audit=audit,
            control=control,
            status=STATUSES[(a + c) % len(STATUSES)],
            reason="Because."
            if STATUSES[(a + c) % len(STATUSES)] in ("failing", "not_applicable")
            else "",
        )
        for a, audit in enumerate(audit_rows)
        for c, control in enumerate(catalog_controls)
    )
    # History with actors and diffs, and a retired control.
    services.control_update(
        actor=pm, control=catalog_controls[0], title="Reworded", guidance="New.", severity="low"
    )
    services.control_retire(actor=pm, control=catalog_controls[-1])
    services.control_add(actor=pm, program=program, **NEW_CONTROL)
    return program


# Session, person, program, controls with counts, programs (switcher), audits count, then the
# history: events, their previous events, and the people they name.
CATALOG_PAGE_QUERIES = 10  # + the header's program switcher


@pytest.mark.parametrize(("controls", "audits"), [(13, 5), (40, 50)])
def test_catalog_page_query_count_is_fixed(client, controls, audits):
    pm = PersonFactory(role="program_manager")
    _program(pm, controls, audits)
    client.force_login(pm)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("catalog:control_list"))
    assert response.status_code == 200
    assert len(queries) == CATALOG_PAGE_QUERIES, [q["sql"][:120] for q in queries]
    assert response.context["items_total"] == controls * audits  # 1 retired, 1 added


# --- What the page shows -----------------------------------------------------------------------


@pytest.fixture
def pm():
    return PersonFactory(role="program_manager", first_name="Pat", last_name="Lee")


def test_controls_by_category_with_counts_per_status(client, pm):
    program = ProgramFactory(slug="reset", name="Code Safety Reset")
    review = ControlFactory(catalog=program.catalog, category="review", title="Two reviewers")
    deploy = ControlFactory(catalog=program.catalog, category="deployment", title="Canary first")
    retired = ControlFactory(
        catalog=program.catalog, category="review", title="Old rule", retired_at=timezone.now()
    )
    for status in ("passing", "passing", "failing"):
        ChecklistItemFactory(
            audit=AuditFactory(program=program), control=review, status=status, reason="x"
        )
    ChecklistItemFactory(audit=AuditFactory(program=program), control=deploy)
    ChecklistItemFactory(
        audit=AuditFactory(program=program), control=retired, status="failing", reason="x"
    )
    other = ProgramFactory(catalog=program.catalog)  # items of another program are not counted
    ChecklistItemFactory(
        audit=AuditFactory(program=other), control=review, status="failing", reason="x"
    )
    client.force_login(pm)
    response = client.get(reverse("catalog:program_controls", args=["reset"]))
    groups = {g.label: [c.title for c in g.controls] for g in response.context["groups"]}
    assert groups == {"Code review": ["Two reviewers"], "Deployment safety": ["Canary first"]}
    counts = {
        sc.status.value: sc.count for sc in response.context["groups"][0].controls[0].status_counts
    }
    assert counts == {
        "passing": 2,
        "failing": 1,
        "not_assessed": 0,
        "excepted": 0,
        "not_applicable": 0,
    }
    assert (
        dict(response.context["totals"])["failing"] == 1
    )  # the retired control's item is left out
    assert [c.title for c in response.context["retired"]] == ["Old rule"]
    html = response.content.decode()
    assert "Retired" in html
    assert "Add control" in html


def test_viewer_reads_the_catalog_without_actions(client):
    program = ProgramFactory()
    ChecklistItemFactory(audit=AuditFactory(program=program))
    client.force_login(PersonFactory(role="viewer"))
    html = client.get(reverse("catalog:control_list")).content.decode()
    assert "Add control" not in html
    assert "/retire/" not in html
    assert "/edit/" not in html


def test_no_program_yet(client, pm):
    client.force_login(pm)
    response = client.get(reverse("catalog:control_list"))
    assert response.status_code == 200
    assert "There is no program yet" in response.content.decode()
    assert client.get(reverse("catalog:program_controls", args=["nope"])).status_code == 404


def test_adding_through_the_page_reaches_every_audit_and_reopens_signoffs(client, pm):
    program = ProgramFactory(slug="reset")
    audits = [AuditFactory(program=program) for _ in range(3)]
    system = audits[0].system
    signoff = SignOffFactory(audit=audits[0], owner_signed_by=system.owner)
    client.force_login(pm)
    form = client.get(reverse("catalog:control_add", args=["reset"])).content.decode()
    assert "3 audits" in form
    assert "1 sign-off will be reopened" in form
    response = client.post(reverse("catalog:control_add", args=["reset"]), NEW_CONTROL)
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:program_controls", args=["reset"])
    control = Control.objects.get(key="secret-scanning")
    assert ChecklistItem.objects.filter(control=control).count() == 3
    signoff.refresh_from_db()
    assert "Secret scanning" in signoff.revoked_reason
    page = client.get(response["Location"]).content.decode()
    assert "Recent changes to the catalog" in page
    assert "Pat Lee" in page


def test_a_duplicate_key_is_a_field_error_and_nothing_is_saved(client, pm):
    program = ProgramFactory(slug="reset")
    ControlFactory(catalog=program.catalog, key="secret-scanning")
    audit = AuditFactory(program=program)
    SignOffFactory(audit=audit, owner_signed_by=audit.system.owner)
    client.force_login(pm)
    response = client.post(
        reverse("catalog:control_add", args=["reset"]), NEW_CONTROL | {"title": "Kept title"}
    )
    assert response.status_code == 200
    assert "already has a control" in response.context["form"].errors["key"][0]
    html = response.content.decode()
    assert 'aria-describedby="id_key-error"' in html
    assert 'value="Kept title"' in html
    assert Control.objects.filter(key="secret-scanning").count() == 1
    assert not ChecklistItem.objects.exists()
    assert SignOff.objects.filter(revoked_at__isnull=True).count() == 1


def test_adding_to_an_ended_program_says_so_on_the_form(client, pm):
    program = ProgramFactory(slug="old", start_date=timezone.now().date().replace(year=2020))
    client.force_login(pm)
    response = client.post(reverse("catalog:control_add", args=["old"]), NEW_CONTROL)
    assert response.status_code == 200
    assert "ended" in " ".join(response.context["form"].non_field_errors())
    assert not Control.objects.filter(catalog=program.catalog, key="secret-scanning").exists()


def test_retire_asks_first_then_keeps_the_items(client, pm):
    program = ProgramFactory(slug="reset")
    control = ControlFactory(catalog=program.catalog, title="Old rule")
    for _ in range(2):
        ChecklistItemFactory(audit=AuditFactory(program=program), control=control)
    client.force_login(pm)
    url = reverse("catalog:control_retire", args=[control.pk]) + "?program=reset"
    confirm = client.get(url).content.decode()
    assert "Retire “Old rule”?" in confirm
    assert "2 checklist items stay" in confirm
    control.refresh_from_db()
    assert control.retired_at is None  # asking is not retiring
    response = client.post(url, {"program": "reset"})
    assert response["Location"] == reverse("catalog:program_controls", args=["reset"])
    control.refresh_from_db()
    assert control.retired_at is not None
    assert ChecklistItem.objects.filter(control=control).count() == 2
    again = client.post(url, {"program": "reset"}, follow=True).content.decode()
    assert "already retired" in again


def test_edit_form_keeps_input_on_error_and_shows_history(client, pm):
    control = ControlFactory(title="Original")
    services.control_update(actor=pm, control=control, title="Second", guidance="", severity="low")
    client.force_login(pm)
    url = reverse("catalog:control_edit", args=[control.pk])
    response = client.post(url, {"title": "", "guidance": "Kept guidance", "severity": "low"})
    assert response.status_code == 200
    assert "title" in response.context["form"].errors
    html = response.content.decode()
    assert "Kept guidance" in html
    assert "History of this control" in html
    assert "Original" in html
    control.refresh_from_db()
    assert control.title == "Second"
