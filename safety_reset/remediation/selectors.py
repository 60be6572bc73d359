"""Reads of remediation tasks, and the work queues that depend on them.

Remediation sits above audits, so the "what needs me" reads that ask whether an item has an
open task live here. Every read that depends on who asks goes through
`System.objects.visible_to(user)`; each is a fixed number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from safety_reset.audits.models import OPEN_WAIVER_STATES, ChecklistItem, ItemStatus, Waiver
from safety_reset.audits.selectors import (
    needs_me_order,
    per_program,
)
from safety_reset.core.history import (
    CHOICE,
    DATE,
    EventView,
    HistorySource,
    TrackedField,
    choices_of,
    person_field,
)
from safety_reset.core.models import Severity
from safety_reset.inventory.models import Person, System
from safety_reset.programs.models import Program

from .models import OPEN_TASK_STATES, RemediationTask, TaskState

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser


def tasks_visible(*, user: Person | AnonymousUser) -> QuerySet[RemediationTask]:
    """Tasks of the systems the person may read."""
    return RemediationTask.objects.visible_to(user).select_related(
        "system", "item__control", "assignee"
    )


def task_detail(*, user: Person | AnonymousUser, pk: int) -> RemediationTask | None:
    """One task with everything its page shows, or None when the person may not see it."""
    return (
        tasks_visible(user=user)
        .select_related(
            "system__owner",
            "system__senior_reviewer",
            "item__audit__program",
            "created_by",
            "wont_do_requested_by",
            "wont_do_agreed_by",
            "incident",
        )
        .prefetch_related("system__delegates")
        .filter(pk=pk)
        .first()
    )


TASK_SCOPES = {
    "assigned": "Assigned to me",
    "systems": "On systems I own or help with",
}
TASK_STATE_FILTERS = {
    "open": "Open",
    "closed": "Closed",
    "all": "All",
}


def my_tasks(*, person: Person, scope: str = "assigned", state: str = "open") -> QuerySet[Any]:
    """The "My tasks" list: assigned to me, or on my systems; open, closed or all."""
    tasks = tasks_visible(user=person)
    if scope == "systems":
        mine = System.objects.filter(Q(owner=person) | Q(delegates=person)).values("id")
        tasks = tasks.filter(system__in=mine)
    else:
        tasks = tasks.filter(assignee=person)
    if state == "open":
        tasks = tasks.filter(state__in=OPEN_TASK_STATES)
    elif state == "closed":
        tasks = tasks.exclude(state__in=OPEN_TASK_STATES)
    return tasks.order_by("due_on", "pk")


def tasks_due(*, person: Person, until: dt.date, limit: int = 50) -> list[RemediationTask]:
    """Open tasks assigned to the person, due by a date (overdue ones included)."""
    return list(
        tasks_visible(user=person)
        .filter(assignee=person, state__in=OPEN_TASK_STATES, due_on__lte=until)
        .order_by("due_on", "pk")[:limit]
    )


def wont_do_awaiting(*, person: Person, limit: int = 50) -> list[RemediationTask]:
    """Open tasks someone asked to close as won't do, on systems this senior reviews."""
    return list(
        RemediationTask.objects.filter(
            state__in=OPEN_TASK_STATES,
            wont_do_requested_by__isnull=False,
            system__senior_reviewer=person,
        )
        .exclude(wont_do_requested_by=person)
        .select_related("system", "item__control", "wont_do_requested_by")
        .order_by("due_on", "pk")[:limit]
    )


def items_needing_owner(
    *, person: Person, programs: Sequence[Program], limit: int = 25
) -> tuple[dict[int, list[ChecklistItem]], dict[int, int]]:
    """Items on the systems someone owns or helps with that wait for them, per program.

    Not assessed; failing with neither an open task nor an open exception; or sent back by the
    senior reviewer for more evidence. Two queries whatever the number of programs: the rows
    (cut to `limit` in each program) and each program's total.
    """
    mine = System.objects.filter(Q(owner=person) | Q(delegates=person)).values("id")
    open_task = RemediationTask.objects.filter(item=OuterRef("pk"), state__in=OPEN_TASK_STATES)
    open_waiver = Waiver.objects.filter(item=OuterRef("pk"), state__in=OPEN_WAIVER_STATES)
    items = (
        ChecklistItem.objects.filter(audit__program__in=programs, audit__system__in=mine)
        .filter(
            Q(status=ItemStatus.NOT_ASSESSED)
            | Q(evidence_requested=True)
            | (Q(status=ItemStatus.FAILING) & ~Exists(open_task) & ~Exists(open_waiver))
        )
        .select_related("control", "audit__system")
        .annotate(urgency=needs_me_order())  # named: a window's filter cannot order by a Case
    )
    return per_program(
        items,
        program="audit__program_id",
        order=[F("urgency"), F("audit__system__name"), F("control__position"), F("pk")],
        limit=limit,
    )


def assignable_people(*, system: System, limit: int = 200) -> list[Person]:
    """Who a task on this system can be assigned to: its owner, delegates and team."""
    people = Person.objects.filter(is_active=True).filter(
        Q(pk=system.owner_id) | Q(team_id=system.team_id) | Q(systems_delegated=system)
    )
    return list(people.distinct().order_by("first_name", "last_name", "email")[:limit])


# --- History -------------------------------------------------------------------------------------

TASK_FIELDS = (
    TrackedField("state", "State", CHOICE, choices_of(TaskState)),
    TrackedField("due_on", "Due", DATE),
    person_field("assignee_id", "Assignee"),
    TrackedField("severity", "Severity", CHOICE, choices_of(Severity)),
    TrackedField("title", "Title"),
    TrackedField("wont_do_reason", "Won't do because"),
)


def _summarize_task(view: EventView) -> str | None:
    if view.created:
        return "Task filed"
    changed = view.changed
    if "state" in changed:
        return f"Task {TaskState(changed['state'][1]).label.lower()}"
    if changed.get("wont_do_reason", (None, None))[1]:
        return "Asked to close the task as won't do"
    return "Edited the task" if changed else None


def task_history_source(
    *,
    system: System,
    task_url: Any,
    item_ids: Sequence[int] | None = None,
    task_ids: Sequence[int] | None = None,
) -> HistorySource:
    """The system's task events, for the timeline (core.history.history)."""
    task_event = apps.get_model("remediation", "RemediationTaskEvent")
    events = task_event.objects.filter(system_id=system.pk)
    if item_ids is not None:
        events = events.filter(item_id__in=item_ids)
    if task_ids is not None:
        events = events.filter(pgh_obj_id__in=task_ids)
    return HistorySource(
        events,
        TASK_FIELDS,
        lambda e: e.title,
        lambda e: task_url(e.pgh_obj_id),
        _summarize_task,
    )
