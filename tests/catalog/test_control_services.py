"""Catalog versions through the services: drafts, their controls, publishing, immutability.

Adding a control to a draft touches no program (that is `program_change_catalog`'s job, tested
in tests/programs/test_catalog_change.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem, SignOff
from safety_reset.catalog import services
from safety_reset.catalog.models import Catalog, Control
from safety_reset.catalog.selectors import control_changes
from tests.factories import (
    AuditFactory,
    ChecklistItemFactory,
    ControlFactory,
    PersonFactory,
    ProgramFactory,
    SignOffFactory,
)

pytestmark = pytest.mark.django_db

NEW_CONTROL = {
    "key": "secret-scanning",
    "title": "Secret scanning blocks pushes with credentials",
    "guidance": "Turn on push protection.",
    "category": "repository",
    "severity": "high",
    "evaluation": "attestation",
}


@pytest.fixture
def pm():
    return PersonFactory(role="program_manager", email="pm@catalog.test")


@pytest.fixture
def v1():
    catalog = Catalog.objects.create(slug="reset", name="Reset controls")
    ControlFactory(catalog=catalog, key="two-person-review", position=10)
    ControlFactory(catalog=catalog, key="old-rule", position=20, retired_at=timezone.now())
    return catalog


def _add(pm, catalog, **overrides):
    return services.control_add(actor=pm, catalog=catalog, **(NEW_CONTROL | overrides))


class TestDraft:
    def test_a_row_created_directly_is_published_v1(self, v1):
        assert v1.published_at is not None
        assert v1.version == 1
        assert not v1.is_draft

    def test_the_draft_copies_every_control_of_the_latest_version(self, pm, v1):
        draft = services.catalog_draft_create(actor=pm, from_catalog=v1)
        assert (draft.slug, draft.version, draft.is_draft) == ("reset", 2, True)
        copied = {c.key: c.retired_at is not None for c in draft.controls.all()}
        assert copied == {"two-person-review": False, "old-rule": True}
        # v1 keeps its own rows.
        assert v1.controls.count() == 2

    def test_one_draft_at_a_time_and_only_from_the_latest(self, pm, v1):
        draft = services.catalog_draft_create(actor=pm, from_catalog=v1)
        with pytest.raises(ValidationError) as excinfo:
            services.catalog_draft_create(actor=pm, from_catalog=v1)
        assert "already being drafted" in excinfo.value.message_dict["from_catalog"][0]
        services.catalog_publish(actor=pm, draft=draft)
        with pytest.raises(ValidationError) as excinfo:
            services.catalog_draft_create(actor=pm, from_catalog=v1)
        assert "latest version" in excinfo.value.message_dict["from_catalog"][0]
        assert services.catalog_draft_create(actor=pm, from_catalog=draft).version == 3

    def test_the_database_holds_one_draft_per_family(self, v1):
        Catalog.objects.create(slug="reset", name="Reset controls", version=2, published_at=None)
        with pytest.raises(IntegrityError), transaction.atomic():
            Catalog.objects.create(
                slug="reset", name="Reset controls", version=3, published_at=None
            )

    def test_adding_to_a_draft_touches_no_program(self, pm, v1):
        program = ProgramFactory(catalog=v1)
        audit = AuditFactory(program=program)
        ChecklistItemFactory(audit=audit, control=v1.controls.get(key="two-person-review"))
        signoff = SignOffFactory(audit=audit, owner_signed_by=audit.system.owner)
        draft = services.catalog_draft_create(actor=pm, from_catalog=v1)
        control = _add(pm, draft)
        assert control.catalog == draft
        assert control.position == 30
        assert ChecklistItem.objects.count() == 1
        signoff.refresh_from_db()
        assert signoff.revoked_at is None
        assert SignOff.objects.filter(revoked_at__isnull=False).count() == 0
        (change,) = control_changes(control=control)
        assert (change.summary, change.person) == ("added", pm)

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"key": "Has Spaces"}, "key"),
            ({"key": ""}, "key"),
            ({"key": "old-rule"}, "key"),  # retired keys stay taken
            ({"title": "  "}, "title"),
            ({"category": "astrology"}, "category"),
            ({"severity": "apocalyptic"}, "severity"),
            ({"evaluation": "vibes"}, "evaluation"),
            ({"evaluation": "automated", "key": "vibes-check"}, "evaluation"),
        ],
    )
    def test_bad_input_is_a_field_error_and_nothing_is_saved(self, pm, v1, overrides, field):
        draft = services.catalog_draft_create(actor=pm, from_catalog=v1)
        with pytest.raises(ValidationError) as excinfo:
            _add(pm, draft, **overrides)
        assert field in excinfo.value.message_dict
        assert not Control.objects.filter(title=NEW_CONTROL["title"]).exists()

    def test_update_and_retire_act_on_the_draft_only(self, pm, v1):
        draft = services.catalog_draft_create(actor=pm, from_catalog=v1)
        control = draft.controls.get(key="two-person-review")
        services.control_update(
            actor=pm, control=control, title="New title", guidance="", severity="critical"
        )
        services.control_retire(actor=pm, control=control)
        control.refresh_from_db()
        assert (control.title, control.retired_at is not None) == ("New title", True)
        original = v1.controls.get(key="two-person-review")
        assert original.retired_at is None
        assert original.title != "New title"
        with pytest.raises(ValidationError):
            services.control_retire(actor=pm, control=control)


class TestPublished:
    def test_a_published_version_refuses_every_edit(self, pm, v1):
        control = v1.controls.get(key="two-person-review")
        with pytest.raises(ValidationError) as excinfo:
            _add(pm, v1)
        assert "was published" in excinfo.value.message_dict["catalog"][0]
        with pytest.raises(ValidationError) as excinfo:
            services.control_update(
                actor=pm, control=control, title="New", guidance="", severity="high"
            )
        assert "title" in excinfo.value.message_dict
        with pytest.raises(ValidationError) as excinfo:
            services.control_retire(actor=pm, control=control)
        assert "retired_at" in excinfo.value.message_dict
        with pytest.raises(ValidationError):
            services.catalog_publish(actor=pm, draft=v1)
        control.refresh_from_db()
        assert control.retired_at is None
        assert not v1.controls.filter(key="secret-scanning").exists()

    def test_publish_refuses_an_automated_control_no_rule_implements_naming_it(self, pm, v1):
        draft = services.catalog_draft_create(actor=pm, from_catalog=v1)
        # Written around the service (an import, the admin of old): the publish still refuses.
        ControlFactory(catalog=draft, key="quantum-proof", evaluation="automated")
        ControlFactory(catalog=draft, key="required-checks", evaluation="automated")
        with pytest.raises(ValidationError) as excinfo:
            services.catalog_publish(actor=pm, draft=draft)
        message = excinfo.value.message_dict["draft"][0]
        assert "quantum-proof" in message
        assert "required-checks" not in message  # repo_status implements it
        draft.refresh_from_db()
        assert draft.is_draft

    def test_publish_is_recorded(self, pm, v1):
        draft = services.catalog_draft_create(actor=pm, from_catalog=v1)
        published = services.catalog_publish(actor=pm, draft=draft)
        assert published.published_by == pm
        assert published.published_at is not None


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_only_a_program_manager_drafts_edits_and_publishes(role, v1, pm):
    someone = PersonFactory(role=role, is_senior=True)
    with pytest.raises(PermissionDenied):
        services.catalog_draft_create(actor=someone, from_catalog=v1)
    draft = services.catalog_draft_create(actor=pm, from_catalog=v1)
    with pytest.raises(PermissionDenied):
        _add(someone, draft)
    with pytest.raises(PermissionDenied):
        services.control_retire(actor=someone, control=draft.controls.first())
    with pytest.raises(PermissionDenied):
        services.catalog_publish(actor=someone, draft=draft)
    draft.refresh_from_db()
    assert draft.is_draft
    assert draft.controls.count() == 2


def test_the_default_catalog_install_is_a_published_v1():
    catalog = services.catalog_install_default()
    again = services.catalog_install_default()
    assert catalog.pk == again.pk
    assert (catalog.version, catalog.is_draft) == (1, False)
    assert catalog.controls.active().count() == 13
    assert services.unimplemented_automated(catalog) == []


def test_catalog_services_do_not_import_programs_or_audits():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(services))
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not {
        m for m in imported if m.startswith(("safety_reset.audits", "safety_reset.programs"))
    }
