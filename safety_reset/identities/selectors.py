"""Reads of the register: the list (one door: `Identity.objects.visible_to`), an identity's page,
the figures for the overview, the digests and "my work". Fixed query counts at any size."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db.models import (
    BooleanField,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import Now
from django.db.models.lookups import LessThanOrEqual
from django.urls import reverse
from django.utils import timezone

from safety_reset.audits.models import ChecklistItem
from safety_reset.inventory.models import Person, System

from . import discovery
from .controls import CONTROL_KEYS
from .discovery import Seen
from .models import Environment, Identity, IdentityPolicy

REPOSITORY_DESTROYS = Q(repository_permissions__administration__in=["write", "admin"]) | Q(
    repository_permissions__ruleset_bypass=True
)
DUE_SOON_DAYS = 7


def with_flags(queryset: QuerySet[Identity]) -> QuerySet[Identity]:
    """Annotate `can_delete_production` (production, and a policy or repository permission
    that destroys) and `due_at` (when re-attestation is due; null: never attested)."""
    destroys = Exists(IdentityPolicy.objects.filter(identity=OuterRef("pk"), can_destroy=True))
    return queryset.annotate(
        can_delete_production=ExpressionWrapper(
            Q(environment=Environment.PRODUCTION) & (Q(destroys) | REPOSITORY_DESTROYS),
            output_field=BooleanField(),
        ),
        due_at=ExpressionWrapper(
            F("last_attested_at") + F("attestation_days") * dt.timedelta(days=1),
            output_field=DateTimeField(),
        ),
    )


def identity_list(*, user: Person | AnonymousUser) -> QuerySet[Identity]:
    return (
        with_flags(Identity.objects.visible_to(user))
        .select_related("accountable", "gate_approver")
        .prefetch_related("systems")
    )


def identity_detail(*, user: Person | AnonymousUser, pk: int) -> Identity:
    return (
        identity_list(user=user)
        .select_related("last_attested_by")
        .prefetch_related("policies")
        .get(pk=pk)
    )


def lapsed_q() -> Q:
    return Q(last_attested_at__isnull=True) | Q(due_at__lte=Now())


@dataclass(frozen=True)
class RegisterFigures:
    can_delete_production: int
    without_gate: int
    seen_not_registered: int
    lapsed: int
    seen: list[Seen] = field(default_factory=list)


def register_figures(*, user: Person | AnonymousUser, seen_limit: int = 10) -> RegisterFigures:
    """The overview's and the PM digest's figures, over what the person may see."""
    identities = with_flags(Identity.objects.visible_to(user))
    counts = identities.aggregate(
        destroy=_count(Q(can_delete_production=True)),
        ungated=_count(Q(can_delete_production=True, gate_required=False)),
        lapsed=_count(lapsed_q()),
    )
    system_ids = list(
        System.objects.visible_to(user).filter(is_active=True).values_list("id", flat=True)
    )
    unseen = [s for group in discovery.unregistered(system_ids=system_ids).values() for s in group]
    return RegisterFigures(
        can_delete_production=counts["destroy"] or 0,
        without_gate=counts["ungated"] or 0,
        seen_not_registered=len(unseen),
        lapsed=counts["lapsed"] or 0,
        seen=unseen[:seen_limit],
    )


def _count(condition: Q) -> Any:
    from django.db.models import Count

    return Count("pk", filter=condition)


@dataclass
class DueIdentity:
    """An identity of a person's systems whose re-attestation is due (or lapsed)."""

    pk: int
    name: str
    kind: str
    due_at: dt.datetime | None  # None: never attested
    lapsed: bool
    systems: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return reverse("identities:detail", args=[self.pk])


def identities_due_by_person(
    *,
    person_ids: Sequence[int],
    within_days: int = DUE_SOON_DAYS,
    now: dt.datetime | None = None,
    limit: int = 50,
) -> dict[int, list[DueIdentity]]:
    """person id → the identities of their systems (owned or delegated), or that they answer
    for, whose re-attestation is lapsed or due within `within_days`, soonest first: for "my
    work" and the owners' digests. Two queries for any number of people."""
    now = now or timezone.now()
    ids = list(person_ids)
    found: dict[int, dict[int, DueIdentity]] = {pk: {} for pk in ids}
    if not ids:
        return {}
    due = ExpressionWrapper(
        F("identity__last_attested_at") + F("identity__attestation_days") * dt.timedelta(days=1),
        output_field=DateTimeField(),
    )
    rows = list(
        Identity.systems.through.objects.filter(
            Q(identity__last_attested_at__isnull=True)
            | LessThanOrEqual(due, now + dt.timedelta(days=within_days))
        )
        .filter(
            Q(system__owner_id__in=ids)
            | Q(system__delegates__in=ids)
            | Q(identity__accountable_id__in=ids)
        )
        .values_list(
            "identity_id",
            "identity__name",
            "identity__kind",
            "identity__last_attested_at",
            "identity__attestation_days",
            "identity__accountable_id",
            "system_id",
            "system__name",
            "system__owner_id",
        )
        .distinct()
    )
    delegates: dict[int, set[int]] = {}
    for system_id, person_id in System.delegates.through.objects.filter(
        person_id__in=ids, system_id__in={row[6] for row in rows}
    ).values_list("system_id", "person_id"):
        delegates.setdefault(system_id, set()).add(person_id)
    for pk, name, kind, attested, days, accountable, system_id, system_name, owner in rows:
        due_at = attested + dt.timedelta(days=days) if attested else None
        for person in {owner, accountable, *delegates.get(system_id, ())} & found.keys():
            entry = found[person].get(pk)
            if entry is None:
                entry = found[person][pk] = DueIdentity(
                    pk, name, kind, due_at, due_at is None or due_at <= now
                )
            if system_name not in entry.systems:
                entry.systems.append(system_name)
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    return {
        person: sorted(
            entries.values(),
            key=lambda e: (e.due_at is not None, e.due_at or far, e.name.lower()),
        )[:limit]
        for person, entries in found.items()
    }


def identities_due(*, person: Person, within_days: int = DUE_SOON_DAYS) -> list[DueIdentity]:
    """The person's identities due for re-attestation (My work's block)."""
    return identities_due_by_person(person_ids=[person.pk], within_days=within_days)[person.pk]


def identity_controls(*, identity: Identity) -> QuerySet[ChecklistItem]:
    """The register controls' items on the identity's systems, in open programs: what the
    register decided, with the reason naming the identity, action and statement (one query)."""
    return (
        ChecklistItem.objects.filter(
            audit__system__in=identity.systems.all(),
            audit__program__closed_at__isnull=True,
            control__key__in=CONTROL_KEYS,
        )
        .select_related("audit__system", "audit__program", "control")
        .order_by("audit__system__name", "audit__program__start_date", "control__key")
    )


def seen_for_system(*, system: System) -> list[Seen]:
    return discovery.unregistered(system_ids=[system.pk])[system.pk]


def system_identities(*, system: System) -> QuerySet[Identity]:
    return with_flags(system.identities.all()).select_related("accountable")
