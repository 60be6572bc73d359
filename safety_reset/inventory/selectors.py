"""Reads of the inventory: the systems, teams and people lists, and what changed recently.

Every list is a fixed number of queries whatever its size: counts are subqueries, related rows
are joined, and the history feed resolves the people and teams it names in one query each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Case, Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

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


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class Change:
    """One recorded change of one row: who, when, what, from what to what."""

    at: dt.datetime
    actor: Person | None
    verb: str
    subject: str
    url: str
    changes: tuple[FieldChange, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class HistorySpec:
    """How to show the events of one tracked model.

    fields: the tracked fields worth showing, in order (timestamps and ids are left out).
    subject: the row's name at the time of the event. url: where the row is edited today.
    """

    model: type[models.Model]
    fields: Sequence[str]
    subject: Callable[[Any], str]
    url: Callable[[Any], str]
    verbs: dict[str, str] = field(default_factory=dict)


VERBS = {"insert": "added", "update": "changed"}


def event_model(model: type[models.Model]) -> type[models.Model]:
    """The pghistory event model of a tracked model (SystemEvent for System …)."""
    return apps.get_model(model._meta.app_label, f"{model.__name__}Event")


def recent_changes(
    *, spec: HistorySpec, events: QuerySet[Any] | None = None, limit: int = 12
) -> list[Change]:
    """The latest events of a tracked model, each diffed against the row's previous event.

    Four queries whatever the history's size: the events (with their context), their previous
    events, and the people and teams the diffs and actors name.
    """
    events_model = event_model(spec.model)
    if events is None:
        events = events_model._default_manager.all()
    previous = (
        events_model._default_manager.filter(
            pgh_obj_id=OuterRef("pgh_obj_id"), pgh_id__lt=OuterRef("pgh_id")
        )
        .order_by("-pgh_id")
        .values("pgh_id")[:1]
    )
    rows = list(
        events.select_related("pgh_context")
        .annotate(previous_id=Subquery(previous))
        .order_by("-pgh_id")[:limit]
    )
    previous_rows = events_model._default_manager.in_bulk(
        [r.previous_id for r in rows if r.previous_id is not None]
    )
    model_fields: dict[str, models.Field] = {}
    for name in spec.fields:
        model_field = spec.model._meta.get_field(name)
        assert isinstance(model_field, models.Field)
        model_fields[name] = model_field
    labels = _related_labels(rows, previous_rows.values(), model_fields)
    changes = []
    for row in rows:
        metadata: dict[str, Any] = row.pgh_context.metadata if row.pgh_context else {}
        action = str(metadata.get("action", ""))
        before = previous_rows.get(row.previous_id)
        diffs: list[FieldChange] = []
        if before is not None:
            for model_field in model_fields.values():
                old, new = (getattr(r, model_field.attname) for r in (before, row))
                if old != new:
                    diffs.append(
                        FieldChange(
                            label=str(model_field.verbose_name).capitalize(),
                            before=_show(model_field, old, labels),
                            after=_show(model_field, new, labels),
                        )
                    )
        verb = spec.verbs.get(action.rpartition(".")[2]) or VERBS.get(row.pgh_label, row.pgh_label)
        changes.append(
            Change(
                at=row.pgh_created_at,
                actor=labels.get(("person", metadata.get("actor"))),
                verb=verb,
                subject=spec.subject(row),
                url=spec.url(row),
                changes=tuple(diffs),
                notes=tuple(str(n) for n in metadata.get("notes", ())),
            )
        )
    return changes


def _related_labels(
    rows: Iterable[Any], previous: Iterable[Any], model_fields: dict[str, models.Field]
) -> dict[tuple[str, Any], Any]:
    """The people (actors, owners …) and other rows the events point at, one query per model."""
    wanted: dict[type[models.Model], set[Any]] = {Person: set()}
    rows = list(rows)
    for row in rows:
        if row.pgh_context and row.pgh_context.metadata.get("actor") is not None:
            wanted[Person].add(row.pgh_context.metadata["actor"])
    for row in [*rows, *previous]:
        for model_field in model_fields.values():
            if model_field.is_relation and model_field.related_model is not None:
                value = getattr(row, model_field.attname)
                if value is not None:
                    wanted.setdefault(model_field.related_model, set()).add(value)  # type: ignore[arg-type]
    labels: dict[tuple[str, Any], Any] = {}
    for model, ids in wanted.items():
        if not ids:
            continue
        for pk, obj in model._default_manager.in_bulk(list(ids)).items():
            labels[(model._meta.model_name or "", pk)] = obj
    return labels


def _show(model_field: models.Field, value: Any, labels: dict[tuple[str, Any], Any]) -> str:
    if value is None or value == "":
        return "—"
    if model_field.is_relation and model_field.related_model is not None:
        related = labels.get((model_field.related_model._meta.model_name or "", value))  # type: ignore[union-attr]
        return str(related) if related is not None else f"#{value}"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, dt.datetime):
        return f"{timezone.localtime(value):%d %b %Y %H:%M}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _reverse(name: str) -> Callable[[Any], str]:
    from django.urls import reverse

    return lambda event: reverse(name, args=[event.pgh_obj_id])


SYSTEM_HISTORY = HistorySpec(
    model=System,
    fields=(
        "slug",
        "name",
        "description",
        "tier",
        "team",
        "owner",
        "senior_reviewer",
        "blast_radius",
        "is_active",
    ),
    subject=lambda event: event.name,
    url=_reverse("inventory:system_edit"),
)

TEAM_HISTORY = HistorySpec(
    model=Team,
    fields=("slug", "name", "org"),
    subject=lambda event: event.name,
    url=_reverse("inventory:team_edit"),
)


def system_changes(*, system: System | None = None, limit: int = 12) -> list[Change]:
    events = event_model(System)._default_manager.all()
    if system is not None:
        events = events.filter(pgh_obj_id=system.pk)
    return recent_changes(spec=SYSTEM_HISTORY, events=events, limit=limit)


def team_changes(*, team: Team | None = None, limit: int = 12) -> list[Change]:
    events = event_model(Team)._default_manager.all()
    if team is not None:
        events = events.filter(pgh_obj_id=team.pk)
    return recent_changes(spec=TEAM_HISTORY, events=events, limit=limit)
