"""The catalog pages: permission matrix, fixed query counts, adding and retiring through them."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem
from safety_reset.catalog import services
from safety_reset.catalog.models import Catalog, Control
from safety_reset.programs.services import program_change_catalog
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
    "evaluation": "attestation",
}


def _draft(world):
    """A draft of the next version of the world's catalog, with one control (made once)."""
    published = world.program.catalog
    draft, _ = Catalog.objects.get_or_create(
        slug=published.slug,
        version=published.version + 1,
        defaults={"name": published.name, "published_at": None},
    )
    if not draft.controls.exists():
        ControlFactory(catalog=draft, key="draft-control")
    return draft


def _control(world):
    return _draft(world).controls.get(key="draft-control")


CASES = [
    Case("catalog page", lambda w: reverse("catalog:control_list"), READ),
    Case(
        "program catalog page",
        lambda w: reverse("catalog:program_controls", args=[w.program.slug]),
        READ,
    ),
    Case("versions page", lambda w: reverse("catalog:versions"), READ),
    Case("version page", lambda w: reverse("catalog:version", args=[_draft(w).pk]), READ),
    Case(
        "add control form",
        lambda w: reverse("catalog:control_add", args=[_draft(w).pk]),
        WRITE_PAGE,
    ),
    Case(
        "change version preview",
        lambda w: reverse("catalog:program_change_version", args=[w.program.slug]),
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
        lambda w: reverse("catalog:control_add", args=[_draft(w).pk]),
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
        data=lambda w: {},
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
    # History with actors and diffs, and a retired control: edited in a draft of v2, published,
    # and the program moved to it.
    draft = services.catalog_draft_create(actor=pm, from_catalog=program.catalog)
    first = draft.controls.get(key=catalog_controls[0].key)
    services.control_update(actor=pm, control=first, title="Reworded", guidance="", severity="low")
    services.control_retire(actor=pm, control=draft.controls.get(key=catalog_controls[-1].key))
    services.control_add(actor=pm, catalog=draft, **NEW_CONTROL)
    services.catalog_publish(actor=pm, draft=draft)
    program_change_catalog(actor=pm, program=program, catalog=draft)
    return program


# Session, person, program, controls with counts, programs (switcher), audits count, then the
# history: events with their previous state, and the people they name.
CATALOG_PAGE_QUERIES = 9  # + the header's program switcher


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


@pytest.mark.parametrize("families", [2, 12])
def test_versions_page_query_count_is_fixed(client, families):
    pm = PersonFactory(role="program_manager")
    for _ in range(families):
        program = ProgramFactory()
        ControlFactory(catalog=program.catalog)
        services.catalog_draft_create(actor=pm, from_catalog=program.catalog)
    client.force_login(pm)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("catalog:versions"))
    assert response.status_code == 200
    # Session, person, the header's program switcher, the versions with their counts, the
    # programs on them.
    assert len(queries) == 5, [q["sql"][:120] for q in queries]
    # Each family, and the default catalog when the migrations' copy is there.
    assert len(response.context["families"]) == Catalog.objects.values("slug").distinct().count()


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
    assert "Change catalog version" in html
    assert 'aria-label="Edit' not in html  # a published version's controls are not edited


def test_viewer_reads_the_catalog_without_actions(client):
    program = ProgramFactory()
    ChecklistItemFactory(audit=AuditFactory(program=program))
    client.force_login(PersonFactory(role="viewer"))
    html = client.get(reverse("catalog:control_list")).content.decode()
    assert "Change catalog version" not in html
    assert "/retire/" not in html
    assert "/edit/" not in html


def test_no_program_yet(client, pm):
    client.force_login(pm)
    response = client.get(reverse("catalog:control_list"))
    assert response.status_code == 200
    assert "There is no program yet" in response.content.decode()
    assert client.get(reverse("catalog:program_controls", args=["nope"])).status_code == 404


def test_a_draft_is_started_edited_and_published_through_the_pages(client, pm):
    program = ProgramFactory(slug="reset")
    v1 = program.catalog
    ControlFactory(catalog=v1, key="two-person-review")
    audit = AuditFactory(program=program)
    signoff = SignOffFactory(audit=audit, owner_signed_by=audit.system.owner)
    client.force_login(pm)
    versions = client.get(reverse("catalog:versions")).content.decode()
    assert "Start v2 draft" in versions
    response = client.post(reverse("catalog:draft_create", args=[v1.pk]))
    draft = Catalog.objects.get(slug=v1.slug, version=2)
    assert response["Location"] == reverse("catalog:version", args=[draft.pk])
    assert draft.controls.get().key == "two-person-review"
    form = client.get(reverse("catalog:control_add", args=[draft.pk])).content.decode()
    assert "This changes the draft only" in form
    response = client.post(reverse("catalog:control_add", args=[draft.pk]), NEW_CONTROL)
    assert response["Location"] == reverse("catalog:version", args=[draft.pk])
    # The running program is untouched: no item, no revoked sign-off.
    assert not ChecklistItem.objects.filter(control__key="secret-scanning").exists()
    signoff.refresh_from_db()
    assert signoff.revoked_at is None
    page = client.get(reverse("catalog:version", args=[draft.pk])).content.decode()
    assert "Publish v2" in page
    client.post(reverse("catalog:publish", args=[draft.pk]))
    draft.refresh_from_db()
    assert draft.published_at is not None
    page = client.get(reverse("catalog:version", args=[draft.pk])).content.decode()
    assert "Publish v2" not in page


def test_the_change_version_page_previews_then_applies(client, pm):
    program = ProgramFactory(slug="reset")
    ControlFactory(catalog=program.catalog, key="two-person-review")
    audits = [AuditFactory(program=program) for _ in range(3)]
    v2 = services.catalog_draft_create(actor=pm, from_catalog=program.catalog)
    services.control_add(actor=pm, catalog=v2, **NEW_CONTROL)
    services.catalog_publish(actor=pm, draft=v2)
    client.force_login(pm)
    url = reverse("catalog:program_change_version", args=["reset"])
    preview = client.get(url, {"catalog": v2.pk, "grace_days": 10})
    assert preview.status_code == 200
    assert preview.context["preview"].items_added == 3
    html = preview.content.decode()
    assert "secret-scanning" in html
    assert "items added, due" in html
    assert not ChecklistItem.objects.filter(
        control__catalog=v2
    ).exists()  # a preview writes nothing
    response = client.post(url, {"catalog": v2.pk, "grace_days": 10})
    assert response.status_code == 302
    program.refresh_from_db()
    assert program.catalog == v2
    assert ChecklistItem.objects.filter(control__key="secret-scanning").count() == len(audits)
    bad = client.post(url, {"catalog": v2.pk, "grace_days": 0})
    assert "grace_days" in bad.context["form"].errors


def test_a_duplicate_key_is_a_field_error_and_nothing_is_saved(client, pm):
    draft = Catalog.objects.create(slug="reset", name="Reset", version=2, published_at=None)
    ControlFactory(catalog=draft, key="secret-scanning")
    client.force_login(pm)
    response = client.post(
        reverse("catalog:control_add", args=[draft.pk]), NEW_CONTROL | {"title": "Kept title"}
    )
    assert response.status_code == 400
    assert "already has a control" in response.context["form"].errors["key"][0]
    html = response.content.decode()
    assert re.search(r'aria-describedby="[^"]*\bid_key_error\b', html)
    assert 'value="Kept title"' in html
    assert Control.objects.filter(key="secret-scanning").count() == 1


def test_adding_to_a_published_version_says_so_on_the_form(client, pm):
    program = ProgramFactory(slug="old")
    client.force_login(pm)
    response = client.post(reverse("catalog:control_add", args=[program.catalog.pk]), NEW_CONTROL)
    assert response.status_code == 400
    assert "was published" in " ".join(response.context["form"].non_field_errors())
    assert not Control.objects.filter(catalog=program.catalog, key="secret-scanning").exists()


def test_retire_asks_first_then_keeps_the_items(client, pm):
    ProgramFactory(slug="reset")
    draft = Catalog.objects.create(slug="reset-v", name="Reset", version=2, published_at=None)
    control = ControlFactory(catalog=draft, title="Old rule")
    for _ in range(2):
        ChecklistItemFactory(control=control)
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
    draft = Catalog.objects.create(slug="reset-v", name="Reset", version=2, published_at=None)
    control = ControlFactory(catalog=draft, title="Original")
    services.control_update(actor=pm, control=control, title="Second", guidance="", severity="low")
    client.force_login(pm)
    url = reverse("catalog:control_edit", args=[control.pk])
    response = client.post(url, {"title": "", "guidance": "Kept guidance", "severity": "low"})
    assert response.status_code == 400
    assert "title" in response.context["form"].errors
    html = response.content.decode()
    assert "Kept guidance" in html
    assert "History of this control" in html
    assert "Original" in html
    control.refresh_from_db()
    assert control.title == "Second"


@pytest.mark.parametrize("audits", [3, 30])
def test_the_change_preview_page_takes_a_fixed_number_of_queries(client, audits):
    pm = PersonFactory(role="program_manager")
    program = ProgramFactory(slug="reset")
    ControlFactory(catalog=program.catalog, key="two-person-review")
    for _ in range(audits):
        AuditFactory(program=program)
    v2 = services.catalog_draft_create(actor=pm, from_catalog=program.catalog)
    services.control_add(actor=pm, catalog=v2, **NEW_CONTROL)
    services.catalog_publish(actor=pm, draft=v2)
    client.force_login(pm)
    url = reverse("catalog:program_change_version", args=["reset"])
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"catalog": v2.pk, "grace_days": 14})
    assert response.context["preview"].items_added == audits
    # Session, person, program, the chosen version, its unimplemented automated controls, the
    # old and new controls, the audits with counts, then the form's choices, and the header's
    # program switcher.
    assert len(queries) == 10, [q["sql"][:100] for q in queries]
