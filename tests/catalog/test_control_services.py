"""Adding, editing and retiring controls of a running program, through the catalog services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem, SignOff
from safety_reset.catalog import services
from safety_reset.catalog.models import Catalog, Control
from safety_reset.catalog.selectors import control_changes
from safety_reset.inventory import services as inventory_services
from safety_reset.inventory.selectors import event_model
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    ControlFactory,
    PersonFactory,
    ProgramFactory,
    SignOffFactory,
    TeamFactory,
)

pytestmark = pytest.mark.django_db

NEW_CONTROL = {
    "key": "secret-scanning",
    "title": "Secret scanning blocks pushes with credentials",
    "guidance": "Turn on push protection.",
    "category": "repository",
    "severity": "high",
    "evaluation": "automated",
}


@pytest.fixture
def pm():
    return PersonFactory(role="program_manager", email="pm@catalog.test")


def _program_with_audits(n: int, controls: int = 2):
    program = ProgramFactory()
    existing = [ControlFactory(catalog=program.catalog) for _ in range(controls)]
    audits = [AuditFactory(program=program) for _ in range(n)]
    for audit in audits:
        for control in existing:
            ChecklistItemFactory(audit=audit, control=control, status="passing")
    return program, audits


def _add(pm, program, **overrides):
    return services.control_add(actor=pm, program=program, **(NEW_CONTROL | overrides))


class TestControlAdd:
    def test_every_audit_gets_the_new_item_not_assessed(self, pm):
        program, audits = _program_with_audits(4)
        control = _add(pm, program)
        assert control.catalog == program.catalog
        items = ChecklistItem.objects.filter(control=control)
        assert sorted(items.values_list("audit_id", flat=True)) == sorted(a.pk for a in audits)
        assert set(items.values_list("status", flat=True)) == {"not_assessed"}
        assert control.position > max(
            Control.objects.filter(catalog=program.catalog)
            .exclude(pk=control.pk)
            .values_list("position", flat=True)
        )

    def test_items_are_added_in_a_constant_number_of_queries(self, pm):
        counts = []
        for n in (3, 30):
            program, _ = _program_with_audits(n, controls=1)
            SignOffFactory(audit=program.audits.first())
            with CaptureQueriesContext(connection) as queries:
                _add(pm, program, key=f"new-{n}")
            counts.append(len(queries))
            assert ChecklistItem.objects.filter(control__key=f"new-{n}").count() == n
        assert counts[0] == counts[1], counts

    def test_active_signoffs_are_revoked_with_the_reason(self, pm):
        program, audits = _program_with_audits(3)
        complete = SignOffFactory(
            audit=audits[0],
            owner_signed_by=audits[0].system.owner,
            senior_signed_by=audits[0].system.senior_reviewer,
            senior_signed_at=timezone.now(),
        )
        waiting = SignOffFactory(audit=audits[1], owner_signed_by=audits[1].system.owner)
        earlier = SignOffFactory(
            audit=audits[2],
            owner_signed_by=audits[2].system.owner,
            revoked_at=timezone.now() - dt.timedelta(days=3),
            revoked_reason="An item regressed.",
        )
        control = _add(pm, program)
        for signoff in (complete, waiting):
            signoff.refresh_from_db()
            assert signoff.revoked_at is not None
            assert control.title in signoff.revoked_reason
        earlier.refresh_from_db()
        assert earlier.revoked_reason == "An item regressed."
        # The revocation is in the sign-off history, with who added the control.
        event = (
            event_model(SignOff)
            .objects.filter(pgh_obj_id=complete.pk, pgh_label="update")
            .latest("pgh_id")
        )
        assert event.pgh_context.metadata == {
            "actor": pm.pk,
            "action": "control.add",
            "program": program.slug,
        }

    def test_other_open_programs_on_the_same_catalog_get_the_item_too(self, pm):
        program, _ = _program_with_audits(2)
        sibling = ProgramFactory(catalog=program.catalog)
        sibling_audit = AuditFactory(program=sibling)
        ended = ProgramFactory(
            catalog=program.catalog, start_date=timezone.now().date() - dt.timedelta(days=300)
        )
        ended_audit = AuditFactory(program=ended)
        control = _add(pm, program)
        assert ChecklistItem.objects.filter(control=control, audit=sibling_audit).exists()
        assert not ChecklistItem.objects.filter(control=control, audit=ended_audit).exists()

    def test_the_addition_is_recorded(self, pm):
        program, _ = _program_with_audits(1)
        control = _add(pm, program)
        (change,) = control_changes(control=control)
        assert (change.verb, change.actor, change.subject) == ("added", pm, control.title)

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"key": "Has Spaces"}, "key"),
            ({"key": ""}, "key"),
            ({"title": "  "}, "title"),
            ({"category": "astrology"}, "category"),
            ({"severity": "apocalyptic"}, "severity"),
            ({"evaluation": "vibes"}, "evaluation"),
        ],
    )
    def test_bad_input_is_a_field_error_and_nothing_is_saved(self, pm, overrides, field):
        program, _ = _program_with_audits(2)
        before = ChecklistItem.objects.count()
        with pytest.raises(ValidationError) as excinfo:
            _add(pm, program, **overrides)
        assert field in excinfo.value.message_dict
        assert ChecklistItem.objects.count() == before
        assert not Control.objects.filter(title=NEW_CONTROL["title"]).exists()

    def test_a_key_in_use_even_by_a_retired_control_is_refused(self, pm):
        program, _ = _program_with_audits(1)
        ControlFactory(catalog=program.catalog, key="secret-scanning", retired_at=timezone.now())
        with pytest.raises(ValidationError) as excinfo:
            _add(pm, program)
        assert "(retired)" in excinfo.value.message_dict["key"][0]

    def test_an_ended_program_is_closed(self, pm):
        program = ProgramFactory(start_date=timezone.now().date() - dt.timedelta(days=120))
        with pytest.raises(ValidationError) as excinfo:
            _add(pm, program)
        assert "ended" in excinfo.value.message_dict["program"][0]

    @pytest.mark.parametrize("role", ["member", "viewer"])
    def test_only_a_program_manager_adds(self, role):
        program, _ = _program_with_audits(1)
        with pytest.raises(PermissionDenied):
            _add(PersonFactory(role=role), program)
        assert not Control.objects.filter(key="secret-scanning").exists()


class TestControlUpdateAndRetire:
    def test_update_rewords_and_is_recorded(self, pm):
        control = ControlFactory(title="Old title", severity="low")
        services.control_update(
            actor=pm, control=control, title="New title", guidance="Do it.", severity="critical"
        )
        change = control_changes(control=control)[0]
        assert change.actor == pm
        assert {c.label: (c.before, c.after) for c in change.changes} == {
            "Title": ("Old title", "New title"),
            "Guidance": ("—", "Do it."),
            "Severity": ("Low", "Critical"),
        }

    def test_update_needs_a_title(self, pm):
        control = ControlFactory(title="Keep me")
        with pytest.raises(ValidationError) as excinfo:
            services.control_update(actor=pm, control=control, title="", guidance="", severity="x")
        assert set(excinfo.value.message_dict) == {"title", "severity"}
        control.refresh_from_db()
        assert control.title == "Keep me"

    def test_retiring_keeps_items_and_history_and_stops_new_items(self, pm):
        program, audits = _program_with_audits(2, controls=1)
        control = program.catalog.controls.get()
        item = ChecklistItem.objects.get(audit=audits[0], control=control)
        services.control_retire(actor=pm, control=control)
        control.refresh_from_db()
        assert control.retired_at is not None
        assert ChecklistItem.objects.filter(control=control).count() == 2
        item.refresh_from_db()
        assert item.status == "passing"
        assert event_model(ChecklistItem).objects.filter(pgh_obj_id=item.pk).exists()
        change = control_changes(control=control)[0]
        assert change.verb == "retired"
        assert change.actor == pm
        # A system enrolled after the retirement does not get the retired control.
        system = inventory_services.system_create(
            actor=pm,
            slug="late",
            name="Late",
            team=TeamFactory(),
            owner=PersonFactory(),
        )
        assert not ChecklistItem.objects.filter(audit__system=system, control=control).exists()

    def test_retiring_twice_or_editing_a_retired_control_is_refused(self, pm):
        control = ControlFactory()
        services.control_retire(actor=pm, control=control)
        with pytest.raises(ValidationError):
            services.control_retire(actor=pm, control=control)
        with pytest.raises(ValidationError) as excinfo:
            services.control_update(
                actor=pm, control=control, title="New", guidance="", severity="high"
            )
        assert "retired" in excinfo.value.message_dict["title"][0]

    def test_only_a_program_manager_retires(self):
        control = ControlFactory()
        with pytest.raises(PermissionDenied):
            services.control_retire(actor=PersonFactory(role="viewer"), control=control)
        control.refresh_from_db()
        assert control.retired_at is None


def test_the_default_catalog_install_still_works():
    catalog = services.catalog_install_default()
    again = services.catalog_install_default()
    assert catalog.pk == again.pk
    assert Catalog.objects.filter(pk=catalog.pk).exists()
    assert catalog.controls.active().count() == 13


def test_retiring_a_control_stops_it_counting_and_blocking_sign_off():
    from safety_reset.audits.services import audit_blocking_items
    from safety_reset.catalog.services import control_retire
    from tests.factories import AuditFactory, ChecklistItemFactory, ControlFactory, PersonFactory

    audit = AuditFactory()
    control = ControlFactory(catalog=audit.program.catalog)
    item = ChecklistItemFactory(audit=audit, control=control, status="failing", reason="off")
    assert audit_blocking_items(audit) == [item]
    pm = PersonFactory(role="program_manager")
    control_retire(actor=pm, control=control)
    item.refresh_from_db()
    assert item.status == "not_applicable"
    assert "retired" in item.reason
    assert item.status_changed_by == pm
    assert audit_blocking_items(audit) == []
    # The change is in the item's history.
    assert item.pgh_event_model.objects.filter(pgh_obj=item, status="not_applicable").exists()
