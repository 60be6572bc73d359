"""The one history engine: pghistory's event tables put into words for every history panel.

django-pghistory's triggers write an event row for each insert and update of a tracked model,
and the `pghistory.context` of the request or job beside it (`actor`, `action`, `notes`). A
panel asks `history(sources=[...])` for the latest events of one or more event tables and gets
`Entry`s, newest first: who (a person, or the job whose action it was), when, which record, a
one-line summary, and each shown field's value before → after. Every panel renders them with
the same template, `components/_history.html`.

    source = HistorySource.of(System, fields=("name", "owner"), subject=..., url=...)
    entries = history(sources=[source], limit=12)

Each source costs one query: the events with their context, and the same record's previous
event beside each as JSON (a correlated subquery PostgreSQL evaluates only for the rows kept
by the limit). Then one query per kind of row the values and actors name (people, teams …),
so a panel's query count is fixed whatever the length of the history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.utils import timezone

TEXT, CHOICE, RELATED, DATE, DATETIME, BOOL = (
    "text",
    "choice",
    "related",
    "date",
    "datetime",
    "bool",
)

# Actions done by a job rather than a person, and how the history names them.
ROBOT_ACTORS = {
    "item.check": "Automated check",
    "waiver.expire": "Daily exception expiry",
}
NOBODY = "The system"  # no actor and no known job: the admin shell, a migration, a bulk load


@dataclass(frozen=True)
class TrackedField:
    """A column of an event table shown in the history, and how to show its values.

    `name` is the column (`owner_id` for a foreign key); `model` is what a related value names.
    """

    name: str
    label: str
    kind: str = TEXT
    choices: tuple[tuple[str, str], ...] = ()
    model: type[models.Model] | None = None


def person_field(name: str, label: str) -> TrackedField:
    return TrackedField(name, label, RELATED, model=apps.get_model(settings.AUTH_USER_MODEL))


def choices_of(choices: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(value), str(label)) for value, label in choices.choices)


def fields_of(model: type[models.Model], names: Iterable[str]) -> tuple[TrackedField, ...]:
    """TrackedFields for a model's fields by name: label, kind and choices from the model."""
    tracked = []
    for name in names:
        model_field = model._meta.get_field(name)
        assert isinstance(model_field, models.Field)
        label = str(model_field.verbose_name).capitalize()
        if model_field.is_relation and model_field.related_model is not None:
            related = cast("type[models.Model]", model_field.related_model)
            tracked.append(TrackedField(model_field.attname, label, RELATED, model=related))
        elif model_field.choices:
            pairs = tuple((str(v), str(lbl)) for v, lbl in model_field.flatchoices)
            tracked.append(TrackedField(name, label, CHOICE, pairs))
        elif isinstance(model_field, models.BooleanField):
            tracked.append(TrackedField(name, label, BOOL))
        elif isinstance(model_field, models.DateTimeField):
            tracked.append(TrackedField(name, label, DATETIME))
        elif isinstance(model_field, models.DateField):
            tracked.append(TrackedField(name, label, DATE))
        else:
            tracked.append(TrackedField(name, label))
    return tuple(tracked)


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class Entry:
    """One event in words. `person` is who acted when a person did; `actor` names them (or the
    job) for the page."""

    at: dt.datetime
    actor: str
    subject: str
    summary: str
    changes: tuple[Change, ...] = ()
    url: str = ""
    notes: tuple[str, ...] = ()
    person: Any = None
    action: str = ""


@dataclass(frozen=True)
class EventView:
    """What a summarizer gets: the event row, whether it created the record, what changed
    (field name -> before, after) and the action of its context (`system.update` …)."""

    event: Any
    created: bool
    changed: dict[str, tuple[Any, Any]]
    action: str = ""
    notes: tuple[str, ...] = ()


def verbs(mapping: Mapping[str, str] | None = None) -> Callable[[EventView], str | None]:
    """A summarizer that says what happened in a word: "added", "changed", or the verb given
    for the context's action (`{"retire": "retired"}` for `control.retire`). An update that
    changed nothing shown and left no note is not worth a line."""
    by_action = dict(mapping or {})

    def summarize(view: EventView) -> str | None:
        verb = by_action.get(view.action.rpartition(".")[2])
        if view.created:
            return verb or "added"
        if not view.changed and not view.notes:
            return None
        return verb or "changed"

    return summarize


@dataclass(frozen=True)
class HistorySource:
    """One event table, filtered to the rows a panel shows, and how to put its events in words.

    `summarize` returns None for an event not worth a line (nothing shown changed).
    """

    events: QuerySet[Any]
    fields: tuple[TrackedField, ...]
    subject: Callable[[Any], str]
    url: Callable[[Any], str]
    summarize: Callable[[EventView], str | None] = field(default_factory=verbs)

    @classmethod
    def of(
        cls,
        model: type[models.Model],
        *,
        fields: Iterable[str],
        subject: Callable[[Any], str],
        url: Callable[[Any], str],
        events: QuerySet[Any] | None = None,
        summarize: Callable[[EventView], str | None] | None = None,
    ) -> HistorySource:
        """A source for a tracked model, its fields described from the model itself."""
        if events is None:
            events = event_model(model)._default_manager.all()
        return cls(events, fields_of(model, fields), subject, url, summarize or verbs())


def event_model(model: type[models.Model]) -> type[models.Model]:
    """The pghistory event model of a tracked model (SystemEvent for System …)."""
    return apps.get_model(model._meta.app_label, f"{model.__name__}Event")


def _metadata(event: Any) -> dict[str, Any]:
    context = event.pgh_context
    return (context.metadata or {}) if context is not None else {}


def _actor_id(metadata: dict[str, Any]) -> int | None:
    value = metadata.get("actor") or metadata.get("user")
    return int(value) if value else None


def _format(value: Any, spec: TrackedField, labels: dict[tuple[Any, Any], Any]) -> str:
    if value is None or value == "":
        return "—"
    if spec.kind == CHOICE:
        return dict(spec.choices).get(str(value), str(value))
    if spec.kind == RELATED:
        related = labels.get((spec.model, value))
        return str(related) if related is not None else "someone"
    if spec.kind == DATE:
        return dt.date.fromisoformat(str(value)[:10]).strftime("%d %b %Y")
    if spec.kind == DATETIME:
        moment = dt.datetime.fromisoformat(str(value))
        return f"{timezone.localtime(moment):%d %b %Y %H:%M}"
    if spec.kind == BOOL:
        return "yes" if value else "no"
    return short_text(value)


def short_text(value: Any) -> str:
    """A text value on one line, cut at 140 characters."""
    if value is None or value == "":
        return "—"
    text = " ".join(str(value).split())
    return text if len(text) <= 140 else text[:139] + "…"


def history(*, sources: Sequence[HistorySource], limit: int = 40) -> list[Entry]:
    """The latest events of every source, newest first, each with what it changed."""
    fetched: list[tuple[HistorySource, Any]] = []
    for source in sources:
        columns: dict[str, Any] = {spec.name: F(spec.name) for spec in source.fields}
        previous = (
            source.events.model._default_manager.filter(
                pgh_obj_id=OuterRef("pgh_obj_id"), pgh_id__lt=OuterRef("pgh_id")
            )
            .order_by("-pgh_id")
            .values(history_state=JSONObject(**columns))[:1]
        )
        events = (
            source.events.select_related("pgh_context")
            .annotate(
                history_now=JSONObject(**columns),
                history_before=Subquery(previous, output_field=models.JSONField()),
            )
            .order_by("-pgh_id")[:limit]
        )
        fetched.extend((source, event) for event in events)

    person_model = apps.get_model(settings.AUTH_USER_MODEL)
    wanted: dict[type[models.Model], set[Any]] = {person_model: set()}
    for source, event in fetched:
        if (actor_id := _actor_id(_metadata(event))) is not None:
            wanted[person_model].add(actor_id)
        for spec in source.fields:
            if spec.kind == RELATED and spec.model is not None:
                for state in (event.history_now, event.history_before or {}):
                    if state.get(spec.name) is not None:
                        wanted.setdefault(spec.model, set()).add(state[spec.name])
    labels: dict[tuple[Any, Any], Any] = {}
    for model, ids in wanted.items():
        if ids:
            for pk, obj in model._default_manager.in_bulk(list(ids)).items():
                labels[(model, pk)] = obj

    entries: list[Entry] = []
    for source, event in fetched:
        now, before = event.history_now, event.history_before
        metadata = _metadata(event)
        action = str(metadata.get("action") or "")
        notes = tuple(str(n) for n in metadata.get("notes", ()))
        created = before is None
        changed = (
            {}
            if created
            else {
                spec.name: (before.get(spec.name), now.get(spec.name))
                for spec in source.fields
                if before.get(spec.name) != now.get(spec.name)
            }
        )
        summary = source.summarize(EventView(event, created, changed, action, notes))
        if summary is None:
            continue
        actor_id = _actor_id(metadata)
        person = labels.get((person_model, actor_id)) if actor_id is not None else None
        if actor_id is not None:
            actor = str(person) if person is not None else "someone"
        else:
            actor = ROBOT_ACTORS.get(action, NOBODY)
        entries.append(
            Entry(
                at=event.pgh_created_at,
                actor=actor,
                subject=source.subject(event),
                summary=summary,
                changes=tuple(
                    Change(
                        spec.label,
                        _format(changed[spec.name][0], spec, labels),
                        _format(changed[spec.name][1], spec, labels),
                    )
                    for spec in source.fields
                    if spec.name in changed
                ),
                url=source.url(event),
                notes=notes,
                person=person,
                action=action,
            )
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]
