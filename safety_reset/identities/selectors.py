"""Reads of the register: the list (one door: `Identity.objects.visible_to`), an identity's page,
the figures for the overview, the digests and "my work". Fixed query counts at any size."""

from __future__ import annotations

import datetime as dt
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
from django.utils import timezone

from safety_reset.inventory.models import Person, System

from . import discovery
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


def identities_due(*, person: Person, within_days: int = DUE_SOON_DAYS) -> list[Identity]:
    """The identities of the person's systems (owned or delegated), or that they answer for,
    whose re-attestation is lapsed or due within `within_days`: for "my work" and the digest."""
    mine = System.objects.filter(Q(owner=person) | Q(delegates=person)).values("id")
    soon = timezone.now() + dt.timedelta(days=within_days)
    return list(
        with_flags(Identity.objects.all())
        .filter(
            Q(accountable=person)
            | Q(
                id__in=Identity.systems.through.objects.filter(system_id__in=mine).values(
                    "identity_id"
                )
            )
        )
        .filter(Q(last_attested_at__isnull=True) | Q(due_at__lte=soon))
        .order_by(F("due_at").asc(nulls_first=True), "name")[:50]
    )


def seen_for_system(*, system: System) -> list[Seen]:
    return discovery.unregistered(system_ids=[system.pk])[system.pk]


def system_identities(*, system: System) -> QuerySet[Identity]:
    return with_flags(system.identities.all()).select_related("accountable")
