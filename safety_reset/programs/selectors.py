"""Reads of programs: which are open, and which systems a program's scope covers."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from safety_reset.inventory.models import System

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
    q = Q(is_active=True)
    if program.scope_tiers:
        q &= Q(tier__in=program.scope_tiers)
    org_ids = [o.pk for o in program.scope_orgs.all()]
    team_ids = [t.pk for t in program.scope_teams.all()]
    if org_ids or team_ids:
        q &= Q(team__in=team_ids) | Q(team__org__in=org_ids)
    system_ids = [s.pk for s in program.scope_systems.all()]
    if system_ids:
        q &= Q(pk__in=system_ids)
    return q


def systems_in_scope(program: Program) -> QuerySet[System]:
    return System.objects.filter(scope_q(program))
