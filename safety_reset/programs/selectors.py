"""Reads of programs: which are open, and which systems a program's scope covers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db.models import Q, QuerySet
from django.utils import timezone

from safety_reset.inventory.models import Person, System

from .models import Program


def programs_open(*, now: dt.datetime | None = None) -> list[Program]:
    """Programs not closed and not ended, each judged in its own time zone (there are few).

    A new system in scope is enrolled in these, and only these take catalog changes.
    """
    now = now or timezone.now()
    programs = (
        Program.objects.filter(closed_at__isnull=True)
        .select_related("catalog")
        .order_by("start_date", "pk")
    )
    return [p for p in programs if p.end_date >= p.today(now)]


def scope_q(program: Program) -> Q:
    """The program's scope as a filter on System (see Program's fields for the rule)."""
    return scope_q_of(
        tiers=program.scope_tiers,
        org_ids=[o.pk for o in program.scope_orgs.all()],
        team_ids=[t.pk for t in program.scope_teams.all()],
        system_ids=[s.pk for s in program.scope_systems.all()],
    )


def scope_q_of(
    *,
    tiers: Sequence[int],
    org_ids: Sequence[int],
    team_ids: Sequence[int],
    system_ids: Sequence[int],
) -> Q:
    """A scope (saved or proposed) as a filter on System: the one place the rule is written."""
    q = Q(is_active=True)
    if tiers:
        q &= Q(tier__in=list(tiers))
    if org_ids or team_ids:
        q &= Q(team__in=list(team_ids)) | Q(team__org__in=list(org_ids))
    if system_ids:
        q &= Q(pk__in=list(system_ids))
    return q


def kick_off_recipients(program: Program) -> QuerySet[Person]:
    """Owners and senior reviewers of the program's enrolled, active systems (one query)."""
    enrolled = System.objects.filter(is_active=True, audits__program=program)
    return Person.objects.filter(
        Q(pk__in=enrolled.values("owner_id"))
        | Q(pk__in=enrolled.filter(senior_reviewer__isnull=False).values("senior_reviewer_id"))
    ).order_by("pk")


def systems_in_scope(program: Program) -> QuerySet[System]:
    return System.objects.filter(scope_q(program))
