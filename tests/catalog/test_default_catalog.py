"""The default “Code Safety Reset v1” catalog: its data, its installer and its migration."""

from __future__ import annotations

import importlib
import re

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from safety_reset.catalog.defaults import (
    DEFAULT_CATALOG_SLUG,
    DEFAULT_CONTROL_KEYS,
    DEFAULT_CONTROLS,
)
from safety_reset.catalog.models import Catalog, Category, Control, Evaluation
from safety_reset.catalog.services import catalog_install_default
from safety_reset.core.models import Severity

DESIGN_KEYS = [
    "two-person-review",
    "senior-signoff-ai",
    "codeowners",
    "stale-review-dismissal",
    "no-admin-bypass",
    "required-checks",
    "agent-least-privilege",
    "prod-deletion-protection",
    "staged-deploys",
    "blast-radius-containment",
    "human-in-the-loop",
    "runbooks-oncall",
    "incident-followup",
]


def test_the_thirteen_controls_of_the_design() -> None:
    assert list(DEFAULT_CONTROL_KEYS) == DESIGN_KEYS
    automated = [spec.key for spec in DEFAULT_CONTROLS if spec.evaluation == Evaluation.AUTOMATED]
    # The repository checks, and the two controls read from the register of identities.
    assert automated == [*DESIGN_KEYS[:6], "agent-least-privilege", "human-in-the-loop"]
    for spec in DEFAULT_CONTROLS:
        assert spec.category in Category.values
        assert spec.severity in Severity.values
        assert spec.title
        assert spec.title[0].isupper()
        sentences = re.findall(r"[.!?](?:\s|$)", spec.guidance)
        assert 2 <= len(sentences) <= 4, spec.key


@pytest.mark.django_db
def test_install_creates_the_catalog_once() -> None:
    first = catalog_install_default()
    stamp = (
        Control.objects.filter(catalog=first)
        .order_by("position")
        .values_list("updated_at", flat=True)
    )
    before = list(stamp)
    second = catalog_install_default()
    assert second.pk == first.pk
    assert Catalog.objects.filter(slug=DEFAULT_CATALOG_SLUG).count() == 1
    keys = list(
        Control.objects.filter(catalog=first).order_by("position").values_list("key", flat=True)
    )
    assert keys == DESIGN_KEYS
    assert list(stamp.all()) == before, "a second run with nothing to change writes nothing"


@pytest.mark.django_db
def test_install_brings_changed_controls_back() -> None:
    catalog = catalog_install_default()
    Control.objects.filter(catalog=catalog, key="codeowners").update(
        title="Edited by hand", guidance="", severity=Severity.LOW, position=999
    )
    Control.objects.filter(catalog=catalog, key="runbooks-oncall").delete()
    catalog_install_default()
    codeowners = Control.objects.get(catalog=catalog, key="codeowners")
    spec = next(s for s in DEFAULT_CONTROLS if s.key == "codeowners")
    assert (codeowners.title, codeowners.guidance, codeowners.severity) == (
        spec.title,
        spec.guidance,
        spec.severity,
    )
    assert Control.objects.filter(catalog=catalog).count() == 13


@pytest.mark.django_db
def test_the_data_migration_installs_it_with_historical_models() -> None:
    migration = importlib.import_module("safety_reset.catalog.migrations.0002_default_catalog")
    state = MigrationExecutor(connection).loader.project_state(("catalog", "0002_default_catalog"))
    Control.objects.filter(catalog__slug=DEFAULT_CATALOG_SLUG).delete()
    Catalog.objects.filter(slug=DEFAULT_CATALOG_SLUG).delete()
    migration.install(state.apps, None)
    migration.install(state.apps, None)  # idempotent as well
    catalog = Catalog.objects.get(slug=DEFAULT_CATALOG_SLUG)
    assert catalog.controls.count() == 13
    assert set(catalog.controls.values_list("evaluation", flat=True)) == set(Evaluation.values)
