"""Writes of the register: identities, their policies, gates and attestations; and the controls.

Owners (and their delegates) manage their systems' identities; program managers manage all.
Each service takes the acting person, checks every rule (collecting them, keyed by field name),
writes in one transaction under `pghistory.context`, then re-evaluates the two controls that
read the register (`agent-least-privilege`, `human-in-the-loop`) on the systems it touched,
through `audits.services.item_record_check`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import pghistory
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import DateTimeField, Exists, ExpressionWrapper, F, OuterRef, Q
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem
from safety_reset.audits.services import item_record_check
from safety_reset.catalog.models import Evaluation
from safety_reset.inventory.models import Person, System
from safety_reset.inventory.permissions import can_manage_program, can_work_system

from . import controls, discovery
from .analysis import PolicyError, analyze_policy
from .models import Environment, Identity, IdentityKind, IdentityPolicy

Errors = dict[str, list[str]]
FIELDS = (
    "name",
    "kind",
    "environment",
    "accountable",
    "login",
    "github_app_id",
    "cloud_role",
    "repository_permissions",
    "attestation_days",
)


# `actor=None` is the command line (manage.py import_identities / attach_iam_policy): the
# operator of the machine, trusted like inventory's import_systems; history records no actor.
Actor = Person | None


def _context(actor: Person | None, action: str) -> Any:
    return pghistory.context(actor=actor.pk if actor else None, action=action)


def can_manage_systems(actor: Person | None, systems: Iterable[System]) -> bool:
    """Program managers, or the owner (or a delegate) of every one of the systems."""
    if can_manage_program(actor):
        return True
    systems = list(systems)
    return bool(systems) and all(can_work_system(actor, s) for s in systems)


def _require_manage(actor: Actor, systems: Iterable[System]) -> None:
    if actor is not None and not can_manage_systems(actor, systems):
        raise PermissionDenied(
            "Only the owners of all its systems (or a program manager) manage an identity."
        )


def _taken(name: str, identity: Identity | None) -> bool:
    same = Identity.objects.filter(name__iexact=name)
    if identity is not None:
        same = same.exclude(pk=identity.pk)
    return same.exists()


def _errors(values: dict[str, Any], systems: Sequence[System], identity: Identity | None) -> Errors:
    errors: Errors = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    name = (values.get("name") or "").strip()
    if not name:
        add("name", "Give the identity a name.")
    elif _taken(name, identity):
        add("name", f"An identity named “{name}” is already registered.")
    if values.get("kind") not in IdentityKind.values:
        add("kind", f"Choose one of {', '.join(IdentityKind.values)}.")
    if values.get("environment") not in Environment.values:
        add("environment", f"Choose one of {', '.join(Environment.values)}.")
    if not systems:
        add("systems", "Name at least one system it acts on.")
    accountable = values.get("accountable")
    if not isinstance(accountable, Person):
        add("accountable", "Name the accountable human (a person, never another identity).")
    elif not accountable.is_active:
        add("accountable", f"{accountable} is not an active person.")
    days = values.get("attestation_days")
    if not isinstance(days, int) or not 1 <= days <= 365:
        add("attestation_days", "Re-attestation is due every 1 to 365 days.")
    perms = values.get("repository_permissions")
    if not isinstance(perms, dict):
        add("repository_permissions", "Repository permissions are an object, e.g. {}.")
    return errors


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    for key in ("name", "login", "cloud_role"):
        values[key] = (values.get(key) or "").strip()
    values.setdefault("repository_permissions", {})
    if values["repository_permissions"] is None:
        values["repository_permissions"] = {}
    values.setdefault("attestation_days", 30)
    values.setdefault("environment", Environment.PRODUCTION)
    return values


def identity_create(
    *,
    actor: Actor,
    name: str,
    kind: str,
    systems: Sequence[System],
    accountable: Person,
    environment: str = Environment.PRODUCTION,
    login: str = "",
    github_app_id: int | None = None,
    cloud_role: str = "",
    repository_permissions: dict[str, Any] | None = None,
    attestation_days: int = 30,
) -> Identity:
    values = _clean(
        {
            "name": name,
            "kind": kind,
            "environment": environment,
            "accountable": accountable,
            "login": login,
            "github_app_id": github_app_id,
            "cloud_role": cloud_role,
            "repository_permissions": repository_permissions,
            "attestation_days": attestation_days,
        }
    )
    systems = list(systems)
    _require_manage(actor, systems)
    if errors := _errors(values, systems, None):
        raise ValidationError(errors)
    with transaction.atomic():
        with _context(actor, "identity.create"):
            # Registering it is its first attestation.
            identity = Identity.objects.create(
                **values, last_attested_at=timezone.now(), last_attested_by=actor
            )
            identity.systems.set(systems)
        evaluate_systems(systems=systems)
    return identity


def identity_update(
    *, actor: Actor, identity: Identity, systems: Sequence[System] | None = None, **changes: Any
) -> Identity:
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValidationError({f: "This field cannot be changed here." for f in sorted(unknown)})
    with transaction.atomic():
        with _context(actor, "identity.update"):
            identity = Identity.objects.select_for_update().get(pk=identity.pk)
            before = list(identity.systems.all())
            _require_manage(actor, before)
            after = before if systems is None else list(systems)
            _require_manage(actor, after)
            values = _clean({**{f: getattr(identity, f) for f in FIELDS}, **changes})
            if errors := _errors(values, after, identity):
                raise ValidationError(errors)
            for field, value in values.items():
                setattr(identity, field, value)
            identity.save()
            if systems is not None:
                identity.systems.set(after)
        evaluate_systems(systems={*before, *after})
    return identity


def identity_delete(*, actor: Person, identity: Identity) -> None:
    with transaction.atomic():
        with _context(actor, "identity.delete"):
            identity = Identity.objects.select_for_update().get(pk=identity.pk)
            systems = list(identity.systems.all())
            _require_manage(actor, systems)
            identity.delete()
        evaluate_systems(systems=systems)


def identity_attest(
    *, actor: Person, identity: Identity, now: dt.datetime | None = None
) -> Identity:
    """The accountable human (or an owner of its systems) confirms the entry is current."""
    with transaction.atomic():
        with _context(actor, "identity.attest"):
            identity = Identity.objects.select_for_update().get(pk=identity.pk)
            systems = list(identity.systems.all())
            if actor.pk != identity.accountable_id:
                _require_manage(actor, systems)
            identity.last_attested_at = now or timezone.now()
            identity.last_attested_by = actor
            identity.save(update_fields=["last_attested_at", "last_attested_by", "updated_at"])
        evaluate_systems(systems=systems)
    return identity


def identity_gate_record(
    *, actor: Person, identity: Identity, approver: Person | None, evidence: str
) -> Identity:
    """Record that its destructive actions wait for a named human's approval, and the proof."""
    evidence = (evidence or "").strip()
    errors: Errors = {}
    if not isinstance(approver, Person) or not approver.is_active:
        errors["approver"] = ["Name the active person who approves its destructive actions."]
    if not evidence:
        errors["evidence"] = ["Show where the approval step lives (a link, a pipeline gate)."]
    with transaction.atomic():
        with _context(actor, "identity.gate"):
            identity = Identity.objects.select_for_update().get(pk=identity.pk)
            systems = list(identity.systems.all())
            _require_manage(actor, systems)
            if errors:
                raise ValidationError(errors)
            identity.gate_required = True
            identity.gate_approver = approver
            identity.gate_evidence = evidence
            identity.gate_recorded_at = timezone.now()
            identity.save()
        evaluate_systems(systems=systems)
    return identity


def identity_policy_attach(
    *, actor: Actor, identity: Identity, name: str, document: Any
) -> IdentityPolicy:
    """Attach (or replace, by name) an IAM policy document; keep its analysis with it."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Name the policy (e.g. the role's policy name)."})
    try:
        analysis = analyze_policy(document)
    except PolicyError as exc:
        raise ValidationError({"document": str(exc)}) from exc
    if isinstance(document, str | bytes):
        document = json.loads(document)
    with transaction.atomic():
        with _context(actor, "identity.policy"):
            identity = Identity.objects.select_for_update().get(pk=identity.pk)
            systems = list(identity.systems.all())
            _require_manage(actor, systems)
            policy, _ = IdentityPolicy.objects.update_or_create(
                identity=identity,
                name=name,
                defaults={
                    "document": document,
                    "analysis": analysis,
                    "destructive_actions": analysis["destructive_actions"],
                    "can_destroy": analysis["can_delete_production"],
                    "attached_by": actor,
                },
            )
        evaluate_systems(systems=systems)
    return policy


# --- The two controls -------------------------------------------------------------------------


def evaluate_systems(*, systems: Iterable[System], checked_at: dt.datetime | None = None) -> int:
    """Record the register's verdict on the two controls of every audit of these systems.

    A fixed number of queries to read, then one `item_record_check` per item. Returns the
    number of items checked.
    """
    checked_at = checked_at or timezone.now()
    by_id = {s.pk: s for s in systems}
    if not by_id:
        return 0
    identities: dict[int, list[Identity]] = {i: [] for i in by_id}
    rows = (
        Identity.objects.filter(systems__in=list(by_id))
        .select_related("accountable", "gate_approver")
        .prefetch_related("policies", "systems")
        .distinct()
    )
    for identity in rows:
        for system in identity.systems.all():
            if system.pk in identities:
                identities[system.pk].append(identity)
    unseen = discovery.unregistered(system_ids=list(by_id))
    items = ChecklistItem.objects.filter(
        audit__system_id__in=list(by_id),
        audit__program__closed_at__isnull=True,  # a closed program is read-only
        control__key__in=controls.CONTROL_KEYS,
        control__evaluation=Evaluation.AUTOMATED,
        control__retired_at__isnull=True,
    ).select_related("control", "audit")
    verdicts = {
        pk: controls.verdict(
            system_slug=system.slug,
            identities=identities[pk],
            unseen=unseen[pk],
            now=checked_at,
        )
        for pk, system in by_id.items()
    }
    checked = 0
    for item in items:
        found = verdicts.get(item.audit.system_id)
        if found is None:
            continue
        passing, summary, snapshot = found
        item_record_check(
            item=item,
            passing=passing,
            summary=summary,
            snapshot={**snapshot, "control": item.control.key},
            checked_at=checked_at,
        )
        checked += 1
    return checked


REEVALUATE_BATCH = 500


def _register_items() -> Any:
    """The two register controls' items that a check may still change (open programs)."""
    return ChecklistItem.objects.filter(
        audit__program__closed_at__isnull=True,
        control__key__in=controls.CONTROL_KEYS,
        control__evaluation=Evaluation.AUTOMATED,
        control__retired_at__isnull=True,
    )


def register_reevaluate_lapsed(*, now: dt.datetime | None = None) -> int:
    """Daily: re-check the two controls of every system one of whose identities' attestation
    lapsed (last attested + its attestation days, 30 by default) after the item was last
    checked. The verdict is `evaluate_systems`'s, so the item's own `checked_at` records the
    run: once re-checked, the same lapse selects nothing, and a second run changes nothing.
    Returns the number of systems re-evaluated."""
    now = now or timezone.now()
    due = ExpressionWrapper(
        F("identity__last_attested_at") + F("identity__attestation_days") * dt.timedelta(days=1),
        output_field=DateTimeField(),
    )
    lapsed = Identity.systems.through.objects.filter(
        LessThanOrEqual(due, now), system_id=OuterRef("audit__system_id")
    ).values("pk")
    stale = _register_items().filter(
        (Q(checked_at__isnull=True) & Exists(lapsed))
        | Exists(lapsed.filter(GreaterThan(due, OuterRef("checked_at"))))
    )
    system_ids = sorted(set(stale.values_list("audit__system_id", flat=True)))
    for start in range(0, len(system_ids), REEVALUATE_BATCH):
        batch = list(System.objects.filter(id__in=system_ids[start : start + REEVALUATE_BATCH]))
        with transaction.atomic():
            evaluate_systems(systems=batch, checked_at=now)
    return len(system_ids)
