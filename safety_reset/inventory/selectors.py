"""Reads of the inventory: the systems, teams and people lists, and what changed recently.

Every list is a fixed number of queries whatever its size: counts are subqueries, related rows
are joined, and the history feed resolves the people and teams it names in one query each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from safety_reset.core.history import Entry, HistorySource, event_model, history

from .models import BLAST_RADIUS_WEIGHT, Org, Person, Repository, System, Team


def _count_of(model: type[models.Model], fk: str, **filters: Any) -> Coalesce:
    """A correlated COUNT subquery: no join fan-out, one query for the whole page."""
    rows = (
        model._default_manager.filter(**{fk: OuterRef("pk")}, **filters)
        .order_by()
        .values(fk)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


# --- Systems ----------------------------------------------------------------------------------


def inventory_systems(*, user: Person | AnonymousUser) -> QuerySet[System]:
    """The systems the person may read, with what the inventory list shows, in one query."""
    return (
        System.objects.visible_to(user)
        .select_related("team__org", "owner", "senior_reviewer")
        .annotate(
            repositories_count=_count_of(Repository, "system"),
            dependencies_count=_count_of(System.depends_on.through, "from_system"),
            blast_rank=Case(
                *(
                    When(blast_radius=radius, then=Value(w))
                    for radius, w in BLAST_RADIUS_WEIGHT.items()
                ),
                default=Value(0),
                output_field=IntegerField(),
            ),
        )
    )


def system_for_edit(*, pk: int) -> System:
    return (
        System.objects.select_related("team__org", "owner", "senior_reviewer")
        .prefetch_related("delegates", "depends_on", "repositories")
        .get(pk=pk)
    )


# --- Teams and people ------------------------------------------------------------------------


def team_list() -> QuerySet[Team]:
    return Team.objects.select_related("org").annotate(
        members_count=_count_of(Person, "team"),
        systems_count=_count_of(System, "team"),
    )


def org_list() -> QuerySet[Org]:
    return Org.objects.annotate(teams_count=_count_of(Team, "org"))


def person_list() -> QuerySet[Person]:
    return Person.objects.select_related("team", "manager").annotate(
        systems_owned_count=_count_of(System, "owner"),
        systems_reviewed_count=_count_of(System, "senior_reviewer"),
    )


def people_search(*, q: str, senior: bool = False, limit: int = 10) -> list[Person]:
    """Active people whose email or name starts with `q`: the owner and reviewer choosers."""
    q = q.strip()
    if len(q) < 2:
        return []
    people = Person.objects.filter(is_active=True).filter(
        Q(email__istartswith=q) | Q(first_name__istartswith=q) | Q(last_name__istartswith=q)
    )
    if senior:
        people = people.filter(is_senior=True)
    return list(people.order_by("email")[:limit])


def people_recently_added(*, limit: int = 10) -> list[Person]:
    """People have no change history of their own (only systems, teams and controls do)."""
    return list(Person.objects.select_related("team").order_by("-date_joined", "-pk")[:limit])


# --- History ----------------------------------------------------------------------------------


def _edit_url(name: str) -> Callable[[Any], str]:
    from django.urls import reverse

    return lambda event: reverse(name, args=[event.pgh_obj_id])


SYSTEM_FIELDS = (
    "slug",
    "name",
    "description",
    "tier",
    "team",
    "owner",
    "senior_reviewer",
    "blast_radius",
    "is_active",
)


def system_changes(*, system: System | None = None, limit: int = 12) -> list[Entry]:
    """The latest changes to systems (or one system), through the one history engine."""
    events = event_model(System)._default_manager.all()
    if system is not None:
        events = events.filter(pgh_obj_id=system.pk)
    source = HistorySource.of(
        System,
        fields=SYSTEM_FIELDS,
        subject=lambda event: event.name,
        url=_edit_url("inventory:system_edit"),
        events=events,
    )
    return history(sources=[source], limit=limit)


def team_changes(*, team: Team | None = None, limit: int = 12) -> list[Entry]:
    events = event_model(Team)._default_manager.all()
    if team is not None:
        events = events.filter(pgh_obj_id=team.pk)
    source = HistorySource.of(
        Team,
        fields=("slug", "name", "org"),
        subject=lambda event: event.name,
        url=_edit_url("inventory:team_edit"),
        events=events,
    )
    return history(sources=[source], limit=limit)
