"""Writes of the catalog app: the default catalog, and program managers' control changes.

Adding a control to a running program is a change to every audit of it: each gets the new item
(not assessed), and each active sign-off is revoked with a reason, because the audit is no
longer complete. Retiring a control keeps its items and their history; it only stops new items
and (in the readers) stops counting. Every change runs under `pghistory.context`, and controls
are tracked, so the catalog's history says who added, changed or retired what.

Layering note: `control_add` writes checklist items and revokes sign-offs, which belong to the
audits app above this one. The program-manager pages live here by the brief, and a rule must
live in a service, not a view; so this service reaches up (module-level imports, no cycle:
audits imports only catalog.models). Moving these program-level writes to audits/services.py
would restore the one-way layering if the owners of that file prefer it.
"""

from __future__ import annotations

from typing import Any

import pghistory
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from safety_reset.audits.models import Audit, ChecklistItem, ItemStatus
from safety_reset.audits.services import signoffs_revoke_for_new_control
from safety_reset.core.models import Severity
from safety_reset.inventory.models import Person
from safety_reset.inventory.permissions import can_manage_program, require
from safety_reset.programs.models import Program
from safety_reset.programs.rules import require_open
from safety_reset.programs.selectors import programs_open

from .defaults import install_default_catalog
from .models import Catalog, Category, Control, Evaluation, EvidenceRequirement

# Items are inserted in batches of this many rows: a handful of statements even for a
# company-wide program of 10,000 audits.
ITEM_BATCH = 5000


@transaction.atomic
def catalog_install_default() -> Catalog:
    """Install (or bring up to date) the default “Code Safety Reset v1” catalog. Idempotent."""
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


def control_add(
    *,
    actor: Person,
    program: Program,
    key: str,
    title: str,
    guidance: str = "",
    category: str,
    severity: str,
    evaluation: str,
    evidence_required: str = EvidenceRequirement.ANY,
) -> Control:
    """Add a control to a running program's catalog, and its item to every audit at once.

    The items are inserted in bulk (a fixed handful of statements, not one per audit), every
    program still open on the same catalog gets them too, and each active sign-off of those
    programs is revoked in one UPDATE per program, saying which control reopened it.
    """
    require(can_manage_program(actor), "Only a program manager can add controls.")
    require_open(program)
    key, title, guidance = key.strip().lower(), title.strip(), guidance.strip()
    with transaction.atomic():
        # The catalog lock orders this against system enrolment (which takes it too), so a
        # system enrolled at the same moment gets the new item either way.
        catalog = Catalog.objects.select_for_update().get(pk=program.catalog_id)
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
        if evidence_required not in EvidenceRequirement.values:
            errors["evidence_required"] = ["Choose the evidence a passing item needs."]
        open_programs = [p for p in programs_open() if p.catalog_id == catalog.pk]
        if program.pk not in {p.pk for p in open_programs}:
            errors["program"] = [
                f"{program.name} ended on {program.end_date:%d %b %Y}; its checklist is closed."
            ]
        if errors:
            raise ValidationError(errors)
        with _context(actor, "control.add", program=program.slug):
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
            audit_ids = Audit.objects.filter(program__in=open_programs).values_list("pk", flat=True)
            ChecklistItem.objects.bulk_create(
                (ChecklistItem(audit_id=audit_id, control=control) for audit_id in audit_ids),
                batch_size=ITEM_BATCH,
            )
            for open_program in open_programs:
                signoffs_revoke_for_new_control(program=open_program, control=control)
    return control


@transaction.atomic
def control_update(
    *, actor: Person, control: Control, title: str, guidance: str, severity: str
) -> Control:
    """Reword a control or change its severity. Key, category and evaluation stay: items,
    automated checks and reports refer to them."""
    require(can_manage_program(actor), "Only a program manager can edit controls.")
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
    """Retire a control: no new items, no longer counted; its items and history stay."""
    require(can_manage_program(actor), "Only a program manager can retire controls.")
    control = Control.objects.select_for_update().get(pk=control.pk)
    if control.retired_at is not None:
        raise ValidationError(
            {"retired_at": f"This control was already retired on {control.retired_at:%d %b %Y}."}
        )
    with _context(actor, "control.retire"):
        control.retired_at = timezone.now()
        control.save(update_fields=["retired_at", "updated_at"])
        # Its open items stop counting against anyone: they become "not applicable" with the
        # reason, in one UPDATE (the history triggers record each row). Progress, sign-off and
        # every dashboard then agree without each having to know about retired controls.
        open_programs = [p.pk for p in programs_open()]
        ChecklistItem.objects.filter(control=control, audit__program__in=open_programs).exclude(
            status__in=[ItemStatus.NOT_APPLICABLE, ItemStatus.PASSING]
        ).update(
            status=ItemStatus.NOT_APPLICABLE,
            reason=f"The control was retired on {control.retired_at:%d %b %Y}.",
            status_changed_at=control.retired_at,
            status_changed_by=actor,
            updated_at=control.retired_at,
        )
    return control
