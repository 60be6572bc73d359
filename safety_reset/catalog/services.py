"""Writes of the catalog app: the default catalog, draft versions and publishing them.

A catalog is edited as a *draft version* (`catalog_draft_create` copies the latest published
version's controls), controls are added, changed and retired in the draft, and
`catalog_publish` makes it a published version, never edited again. Nothing here touches a
program: a program moves to a new version through `programs.services.program_change_catalog`,
which sees the difference (by control key) and applies it to its audits. Every change runs
under `pghistory.context`, and controls are tracked, so the catalog's history says who added,
changed or retired what.

Layering: this module imports only the catalog's own models and the inventory's people and
permissions; the apps above (programs, audits) read the catalog, never the other way round.
"""

from __future__ import annotations

from typing import Any

import pghistory
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from safety_reset.core.models import Severity
from safety_reset.inventory.models import Person
from safety_reset.inventory.permissions import can_manage_program, require

from .defaults import install_default_catalog
from .models import Catalog, Category, Control, Evaluation, EvidenceRequirement
from .rules import rule_implemented

# The fields a draft copies from the version it starts from.
COPIED_FIELDS = (
    "key",
    "title",
    "guidance",
    "category",
    "severity",
    "evaluation",
    "evidence_required",
    "position",
    "retired_at",
)


@transaction.atomic
def catalog_install_default() -> Catalog:
    """Install (or bring up to date) the default “Code Safety Reset v1” catalog, published.
    Idempotent."""
    catalog: Catalog = install_default_catalog(Catalog, Control)
    return catalog


def _context(actor: Person, action: str, **metadata: Any) -> Any:
    return pghistory.context(actor=actor.pk, action=action, **metadata)


def _text_errors(title: str, severity: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = ["Give the control a title: what must be true."]
    elif len(title) > 300:
        errors["title"] = ["Keep the title under 300 characters."]
    if severity not in Severity.values:
        errors["severity"] = ["Choose a severity."]
    return errors


def _draft_locked(catalog_id: int, field: str = "catalog") -> Catalog:
    """The catalog row, locked; refused unless it is a draft (published versions never change)."""
    catalog = Catalog.objects.select_for_update().get(pk=catalog_id)
    if catalog.published_at is not None:
        raise ValidationError(
            {
                field: f"{catalog} was published on {catalog.published_at:%d %b %Y} and cannot "
                "change; start a draft of the next version and edit that."
            }
        )
    return catalog


def unimplemented_automated(catalog: Catalog) -> list[str]:
    """Keys of the catalog's active automated controls that no rule checks (1 query)."""
    keys = Control.objects.active().filter(catalog=catalog, evaluation=Evaluation.AUTOMATED)
    return [key for key in keys.values_list("key", flat=True) if not rule_implemented(key)]


def catalog_draft_create(*, actor: Person, from_catalog: Catalog) -> Catalog:
    """Start the next version of `from_catalog`'s family as a draft, with a copy of the latest
    published version's controls (active and retired, so retired keys stay taken).

    Refused when the family already has a draft (one at a time: the partial unique constraint
    holds it too) or when `from_catalog` is not the latest published version."""
    require(can_manage_program(actor), "Only a program manager can draft a catalog version.")
    with transaction.atomic():
        # Lock the family's rows: two drafts started at once are serialised here.
        family = list(
            Catalog.objects.select_for_update().filter(slug=from_catalog.slug).order_by("version")
        )
        draft = next((c for c in family if c.published_at is None), None)
        if draft is not None:
            raise ValidationError(
                {"from_catalog": f"{draft} is already being drafted; edit or publish it first."}
            )
        latest = family[-1]
        if latest.pk != from_catalog.pk:
            raise ValidationError(
                {"from_catalog": f"Start the draft from the latest version, {latest}."}
            )
        with _context(actor, "catalog.draft", catalog=latest.slug):
            new = Catalog.objects.create(
                slug=latest.slug,
                name=latest.name,
                version=latest.version + 1,
                description=latest.description,
                published_at=None,
            )
            Control.objects.bulk_create(
                Control(catalog=new, **{f: getattr(c, f) for f in COPIED_FIELDS})
                for c in Control.objects.filter(catalog=latest).order_by("position", "key")
            )
    return new


def catalog_publish(*, actor: Person, draft: Catalog) -> Catalog:
    """Publish a draft version: from now on it never changes and programs may move to it.

    Refused when an active automated control has no rule implementing it (named), or when the
    draft has no active control."""
    require(can_manage_program(actor), "Only a program manager can publish a catalog version.")
    with transaction.atomic():
        draft = _draft_locked(draft.pk, field="draft")
        missing = unimplemented_automated(draft)
        if missing:
            raise ValidationError(
                {
                    "draft": "No automated check implements "
                    + ", ".join(f"“{key}”" for key in missing)
                    + ": make them attestations, retire them, or add their rule first."
                }
            )
        if not Control.objects.active().filter(catalog=draft).exists():
            raise ValidationError({"draft": "A version needs at least one active control."})
        with _context(actor, "catalog.publish", catalog=draft.slug, version=draft.version):
            draft.published_at, draft.published_by = timezone.now(), actor
            draft.save(update_fields=["published_at", "published_by", "updated_at"])
    return draft


def control_add(
    *,
    actor: Person,
    catalog: Catalog,
    key: str,
    title: str,
    guidance: str = "",
    category: str,
    severity: str,
    evaluation: str,
    evidence_required: str = EvidenceRequirement.ANY,
) -> Control:
    """Add a control to a draft version. No program changes until it moves to the version."""
    require(can_manage_program(actor), "Only a program manager can add controls.")
    key, title, guidance = key.strip().lower(), title.strip(), guidance.strip()
    with transaction.atomic():
        catalog = _draft_locked(catalog.pk)
        errors = _text_errors(title, severity)
        if not key:
            errors["key"] = ["Give the control a key (lower-case letters, digits, hyphens)."]
        else:
            try:
                validate_slug(key)
            except ValidationError:
                errors["key"] = ["Use only lower-case letters, digits, hyphens and underscores."]
            existing = Control.objects.filter(catalog=catalog, key=key).first()
            if existing is not None:
                errors["key"] = [
                    f"The catalog already has a control “{key}”"
                    + (" (retired)." if existing.retired_at else ".")
                ]
        if category not in Category.values:
            errors["category"] = ["Choose a category."]
        if evaluation not in Evaluation.values:
            errors["evaluation"] = ["Choose how the control is evaluated."]
        elif evaluation == Evaluation.AUTOMATED and key and not rule_implemented(key):
            errors["evaluation"] = [
                f"No automated check implements “{key}”: make it an attestation."
            ]
        if evidence_required not in EvidenceRequirement.values:
            errors["evidence_required"] = ["Choose the evidence a passing item needs."]
        if errors:
            raise ValidationError(errors)
        with _context(actor, "control.add", catalog=catalog.slug, version=catalog.version):
            position = (
                Control.objects.filter(catalog=catalog).aggregate(last=Max("position"))["last"] or 0
            ) + 10  # the default catalog counts in tens, leaving room to slot controls between
            control = Control(
                catalog=catalog,
                key=key,
                title=title,
                guidance=guidance,
                category=category,
                severity=severity,
                evaluation=evaluation,
                evidence_required=evidence_required,
                position=position,
            )
            try:
                with transaction.atomic():
                    control.save()
            except IntegrityError as exc:
                raise ValidationError(
                    {"key": f"The catalog already has a control “{key}”."}
                ) from exc
    return control


@transaction.atomic
def control_update(
    *, actor: Person, control: Control, title: str, guidance: str, severity: str
) -> Control:
    """Reword a control or change its severity. Key, category and evaluation stay: items,
    automated checks and reports refer to them."""
    require(can_manage_program(actor), "Only a program manager can edit controls.")
    _draft_locked(control.catalog_id, field="title")
    control = Control.objects.select_for_update().get(pk=control.pk)
    title, guidance = title.strip(), guidance.strip()
    errors = _text_errors(title, severity)
    if control.retired_at is not None:
        errors["title"] = ["A retired control is kept as it was; it cannot be edited."]
    if errors:
        raise ValidationError(errors)
    with _context(actor, "control.update"):
        control.title, control.guidance, control.severity = title, guidance, severity
        control.save()
    return control


@transaction.atomic
def control_retire(*, actor: Person, control: Control) -> Control:
    """Retire a control in a draft version. A program moving to the version sees its items
    become not applicable (`program_change_catalog`); its items and history stay."""
    require(can_manage_program(actor), "Only a program manager can retire controls.")
    _draft_locked(control.catalog_id, field="retired_at")
    control = Control.objects.select_for_update().get(pk=control.pk)
    if control.retired_at is not None:
        raise ValidationError(
            {"retired_at": f"This control was already retired on {control.retired_at:%d %b %Y}."}
        )
    with _context(actor, "control.retire"):
        control.retired_at = timezone.now()
        control.save(update_fields=["retired_at", "updated_at"])
    return control
